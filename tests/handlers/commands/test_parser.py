"""The `/pmo` language (CONTRACT.md section 4): every command, its options, and every kind of mistake.

Pure unit tests: the parser knows nothing of roles or the database. Each mistake must name the
bad word and carry the usage line of the command, so the person can put it right.
"""

from __future__ import annotations

import datetime as dt

import pytest

from handlers.commands.parser import SPECS, ParseError, parse, parse_amount, parse_person, tokenize
from handlers.ports import PersonRef

PROJECT_ADD_USAGE = next(s.usage for s in SPECS if s.name == "project add")
OUTCOME_ADD_USAGE = next(s.usage for s in SPECS if s.name == "outcome add")


def fails(text: str) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parse(text)
    return caught.value


# ---- every command of section 4 -------------------------------------------------------------


def test_empty_text_and_bare_prefix_mean_help() -> None:
    for text in ("", "   ", "pmo", "/pmo", "PMO"):
        assert parse(text).name == "help"


@pytest.mark.parametrize("prefix", ["", "pmo ", "/pmo ", "PMO ", "/pmo\t", "pmo\n  "])
def test_a_leading_pmo_is_ignored(prefix: str) -> None:
    command = parse(f"{prefix}value Apollo days:30")
    assert (command.name, command.positional, command.options) == ("value", "Apollo", {"days": 30})


def test_pmo_inside_a_name_is_kept() -> None:
    assert parse("value pmo tooling").positional == "pmo tooling"
    assert parse("pmo value pmo").positional == "pmo"


def test_help() -> None:
    command = parse("help")
    assert (command.name, command.positional, command.options) == ("help", None, {})


def test_home_takes_nothing_more() -> None:
    assert (parse("pmo home").name, parse("home").positional) == ("home", None)
    with pytest.raises(ParseError) as caught:
        parse("home sweet")
    assert caught.value.usage == "home"


def test_value_alone_and_with_everything() -> None:
    assert parse("value").positional is None
    command = parse("value Order to Cash segment:Back office days:30")
    assert command.name == "value"
    assert command.positional == "Order to Cash"
    assert command.options == {"segment": "Back office", "days": 30}
    assert parse("value segment:Ops").options == {"segment": "Ops"}
    assert parse("value segment:Ops").positional is None


def test_project_add_with_every_option() -> None:
    command = parse(
        "project add Order to Cash sponsor:<@U123|sam> segment:Back office cadence:weekly "
        "day:fri time:9:30 ask:quarterly"
    )
    assert command.name == "project add"
    assert command.positional == "Order to Cash"
    assert command.options == {
        "sponsor": PersonRef(user_id="U123", written="<@U123|sam>"),
        "segment": "Back office",
        "cadence": "weekly",
        "day": "fri",
        "time": "09:30",
        "ask": "quarterly",
    }


def test_project_add_with_only_the_sponsor() -> None:
    command = parse("project add Apollo sponsor:sam@example.com")
    assert command.positional == "Apollo"
    assert command.options == {"sponsor": PersonRef(email="sam@example.com", written="sam@example.com")}


@pytest.mark.parametrize("cadence", ["weekly", "biweekly", "monthly", "quarterly", "off", "WEEKLY"])
def test_every_cadence(cadence: str) -> None:
    assert parse(f"project add A sponsor:<@U1> cadence:{cadence}").options["cadence"] == cadence.lower()


@pytest.mark.parametrize(
    ("written", "day"),
    [("mon", "mon"), ("Tue", "tue"), ("tues", "tue"), ("wednesday", "wed"), ("THU", "thu"),
     ("thurs", "thu"), ("fri", "fri"), ("saturday", "sat"), ("sun", "sun")],
)  # fmt: skip
def test_every_day(written: str, day: str) -> None:
    assert parse(f"project add A sponsor:<@U1> day:{written}").options["day"] == day


@pytest.mark.parametrize(("written", "time"), [("0:00", "00:00"), ("9:05", "09:05"), ("23:59", "23:59")])
def test_times(written: str, time: str) -> None:
    assert parse(f"project add A sponsor:<@U1> time:{written}").options["time"] == time


@pytest.mark.parametrize("ask", ["monthly", "quarterly", "off"])
def test_every_ask(ask: str) -> None:
    assert parse(f"project add A sponsor:<@U1> ask:{ask}").options["ask"] == ask


def test_project_list_and_archive() -> None:
    assert parse("project list").name == "project list"
    command = parse("project archive Order to Cash")
    assert (command.name, command.positional) == ("project archive", "Order to Cash")
    assert parse("PROJECT LIST").name == "project list"


def test_checkin_and_ask() -> None:
    assert (parse("checkin Apollo 11").name, parse("checkin Apollo 11").positional) == (
        "checkin",
        "Apollo 11",
    )
    assert (parse("ask Apollo").name, parse("ask Apollo").positional) == ("ask", "Apollo")


def test_painpoints_listing() -> None:
    assert parse("painpoints").positional is None
    for status in ("open", "resolved", "all"):
        assert parse(f"painpoints {status}").positional == status
    command = parse("painpoints all project:Order to Cash")
    assert (command.positional, command.options) == ("all", {"project": "Order to Cash"})
    assert parse("painpoints project:Apollo").options == {"project": "Apollo"}


def test_painpoint_measure() -> None:
    command = parse('painpoint 12 metric:"Order cycle time" baseline:14 better:higher')
    assert command.name == "painpoint"
    assert command.positional == 12
    assert command.options == {"metric": "Order cycle time", "baseline": 14.0, "better": "higher"}
    assert parse("painpoint #12 metric:x baseline:1.5").positional == 12
    assert "better" not in parse("painpoint 3 metric:x baseline:-2").options


def test_painpoint_resolve() -> None:
    command = parse("painpoint resolve 12 after:7.5")
    assert (command.name, command.positional, command.options) == ("painpoint resolve", 12, {"after": 7.5})
    assert parse("painpoint resolve #4").options == {}


def test_outcome_add_with_every_option() -> None:
    command = parse(
        'outcome add Order to Cash metric:"Order cycle time" baseline:14 target:7 unit:days '
        "benefit:$450,000 due:2026-12-31"
    )
    assert command.name == "outcome add"
    assert command.positional == "Order to Cash"
    assert command.options == {
        "metric": "Order cycle time",
        "baseline": 14.0,
        "target": 7.0,
        "unit": "days",
        "benefit": 450000.0,
        "due": dt.date(2026, 12, 31),
    }


def test_outcome_update_and_outcomes() -> None:
    command = parse("outcome update 3 current:10.5")
    assert (command.name, command.positional, command.options) == ("outcome update", 3, {"current": 10.5})
    assert parse("outcomes").positional is None
    assert parse("outcomes Order to Cash").positional == "Order to Cash"


def test_cost_alerts_staff_pause_resume_export() -> None:
    assert (parse("cost 450k").name, parse("cost 450k").positional) == ("cost", 450000.0)
    assert parse("alerts here").name == "alerts here"
    assert parse("staff add <@U9>").positional == PersonRef(user_id="U9", written="<@U9>")
    assert parse("staff remove ann@example.com").positional.email == "ann@example.com"
    assert parse("staff list").name == "staff list"
    assert parse("pause").options == {}
    assert parse("pause until:2026-12-01").options == {"until": dt.date(2026, 12, 1)}
    assert parse("resume").name == "resume"
    for what in ("projects", "responses", "outcomes", "painpoints"):
        assert parse(f"export {what}").positional == what


def test_story() -> None:
    command = parse("story 12")
    assert (command.name, command.positional, command.options) == ("story", 12, {})
    assert parse("pmo story #7").positional == 7
    for bad, reason in (("story", "Missing ID"), ("story 0", "'0'"), ("story 1 2", "'1 2' is not one id")):
        error = fails(bad)
        assert reason in error.message and error.usage == "story ID"
    assert "Unknown option 'days:'" in fails("story 1 days:3").message


def test_the_digest_commands() -> None:
    command = parse("digest here weekly day:friday time:7:30")
    assert (command.name, command.positional, command.options) == (
        "digest here",
        "weekly",
        {"day": "fri", "time": "07:30"},
    )
    assert parse("digest here").positional is None and parse("digest here").options == {}
    assert parse("digest here OFF").positional == "off"
    assert parse("digest to <@U9>").positional == PersonRef(user_id="U9", written="<@U9>")
    assert parse("digest remove ann@example.com").positional.email == "ann@example.com"
    assert parse("digest").name == "digest" and parse("digest now").name == "digest now"
    usage = "digest here [weekly|monthly|off] [day:mon..sun] [time:HH:MM]"
    for bad, reason in (
        ("digest here daily", "'daily' is not one of weekly|monthly|off"),
        ("digest here time:25:00", "time: '25:00' is not a time"),
        ("digest here day:someday", "day: 'someday' is not a day"),
        ("digest here weekly monthly", "Unexpected word 'monthly'"),
        ("digest here cadence:weekly", "Unknown option 'cadence:'"),
    ):
        error = fails(bad)
        assert error.message.startswith(reason) and error.usage == usage, (bad, error.message)
    assert fails("digest to").message == "Missing PERSON for digest to."
    assert fails("digest now please").message == "Unexpected word 'please'."
    assert fails("digest to sam").message.startswith("'sam' is not a person")


def test_every_spec_has_a_test_above() -> None:
    """A new command must come with its own parsing test (update this list when adding one)."""
    assert {spec.name for spec in SPECS} == {
        "help", "value", "project add", "project list", "project archive", "checkin", "ask",
        "painpoints", "painpoint", "painpoint resolve", "outcome add", "outcome update", "outcomes",
        "cost", "alerts here", "staff add", "staff remove", "staff list", "pause", "resume", "export",
        "painpoints mine", "followup", "home", "language", "story",
        "digest", "digest here", "digest to", "digest remove", "digest now",
    }  # fmt: skip


def test_language_takes_one_of_the_five_codes_or_none() -> None:
    assert parse("language fr").positional == "fr"
    assert parse("language DE").positional == "de"
    assert parse("language").positional is None
    with pytest.raises(ParseError) as raised:
        parse("language klingon")
    assert "'klingon' is not one of en|de|fr|es|pt" in raised.value.message
    assert raised.value.usage == "language en|de|fr|es|pt"


# ---- names, quotes, free text ---------------------------------------------------------------


def test_free_text_name_runs_up_to_the_first_option() -> None:
    command = parse("project add   Order   to Cash   sponsor:<@U1>")
    assert command.positional == "Order to Cash"


def test_quotes_allow_anything() -> None:
    command = parse('project add "Apollo sponsor:x" sponsor:<@U1> segment:"R&D: labs"')
    assert command.positional == "Apollo sponsor:x"
    assert command.options["segment"] == "R&D: labs"


def test_a_quoted_word_is_never_a_command_word() -> None:
    assert parse('value "project" days:5').positional == "project"
    with pytest.raises(ParseError):
        parse('"project" list')


def test_curly_quotes_from_phones_work_like_straight_ones() -> None:
    assert parse("painpoint 1 metric:\u201cOrder cycle time\u201d baseline:3").options["metric"] == (
        "Order cycle time"
    )


def test_free_text_option_continues_until_the_next_option() -> None:
    command = parse("outcome add Apollo metric:Order cycle time baseline:14 target:7 unit:working days")
    assert command.options["metric"] == "Order cycle time"
    assert command.options["unit"] == "working days"


def test_an_empty_option_takes_the_words_after_it() -> None:
    assert parse("painpoint 1 metric: Order cycle baseline:3").options["metric"] == "Order cycle"


def test_tokenize_keeps_quoted_runs_and_marks_them() -> None:
    tokens = tokenize('a metric:"b c" "d e"')
    assert [(t.text, t.quoted) for t in tokens] == [("a", False), ("metric:b c", False), ("d e", True)]


# ---- people and amounts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "ref"),
    [
        ("<@U123>", PersonRef(user_id="U123", written="<@U123>")),
        ("<@U123|sam>", PersonRef(user_id="U123", written="<@U123|sam>")),
        ("<@W0AB12|Sam Smith>", PersonRef(user_id="W0AB12", written="<@W0AB12|Sam Smith>")),
        ("<mailto:a@b.co|a@b.co>", PersonRef(email="a@b.co", written="a@b.co")),
        ("<mailto:A@B.co>", PersonRef(email="a@b.co", written="A@B.co")),
        ("Sam.Smith@Example.com", PersonRef(email="sam.smith@example.com", written="Sam.Smith@Example.com")),
    ],
)
def test_people(written: str, ref: PersonRef) -> None:
    assert parse_person(written) == ref
    assert parse(f"staff add {written}").positional == ref
    assert parse(f"project add A sponsor:{written}").options["sponsor"] == ref


@pytest.mark.parametrize(
    "written", ["sam", "@sam", "sam@", "<@>", "sam@example", "<#C123|general>", "a" * 250 + "@example.com"]
)
def test_not_people(written: str) -> None:
    error = fails(f"staff add {written}")
    assert "is not a person" in error.message
    assert error.usage == "staff add PERSON"


def test_two_people_are_not_one() -> None:
    error = fails("staff add <@U1> <@U2>")
    assert "<@U1> <@U2>" in error.message and error.usage == "staff add PERSON"


@pytest.mark.parametrize(
    ("written", "amount"),
    [("450000", 450000.0), ("450,000", 450000.0), ("450k", 450000.0), ("450K", 450000.0),
     ("1.2m", 1200000.0), ("1.2M", 1200000.0), ("$450,000", 450000.0), ("€12.5k", 12500.0),
     ("0", 0.0), ("99.99", 99.99)],
)  # fmt: skip
def test_amounts(written: str, amount: float) -> None:
    assert parse_amount(written) == amount
    assert parse(f"cost {written}").positional == amount
    assert parse(f"outcome add A metric:m baseline:1 target:2 benefit:{written}").options["benefit"] == amount


@pytest.mark.parametrize("written", ["lots", "450kk", "4 50", "1.2b", "$", "k", "1" * 400])
def test_not_amounts(written: str) -> None:
    error = fails(f"cost {written}")
    assert written in error.message
    assert error.usage == "cost AMOUNT"


# ---- mistakes: each names the bad word and carries the usage line ---------------------------


def test_unknown_command() -> None:
    error = fails("frobnicate Apollo")
    assert "'frobnicate'" in error.message and "help" in error.message


@pytest.mark.parametrize(
    ("text", "bad", "usage"),
    [
        ("project frob", "project frob", "project list"),
        ("staff promote <@U1>", "staff promote", "staff list"),
        ("outcome delete 3", "outcome delete", "outcome update ID current:N"),
        ("alerts there", "alerts there", "alerts here"),
    ],
)
def test_unknown_sub_command(text: str, bad: str, usage: str) -> None:
    error = fails(text)
    assert f"'{bad}'" in error.message
    assert error.usage is not None and usage in error.usage


def test_a_family_word_alone_needs_more_words() -> None:
    error = fails("project")
    assert "'project'" in error.message and "project add" in (error.usage or "")


def test_unknown_option() -> None:
    error = fails("project add Apollo sponsor:<@U1> colour:blue")
    assert "'colour:'" in error.message
    assert error.usage == PROJECT_ADD_USAGE


def test_an_option_of_a_command_without_options() -> None:
    error = fails("checkin Apollo days:3")
    assert "'days:'" in error.message and error.usage == "checkin PROJECT [again]"


def test_missing_option() -> None:
    error = fails("project add Apollo")
    assert "sponsor:" in error.message and error.usage == PROJECT_ADD_USAGE
    error = fails("outcome add Apollo metric:x")
    assert "baseline:" in error.message and "target:" in error.message
    assert error.usage == OUTCOME_ADD_USAGE
    assert "current:" in fails("outcome update 3").message


def test_an_option_without_a_value() -> None:
    error = fails("project add Apollo sponsor: segment:Ops")
    assert "'sponsor:'" in error.message and error.usage == PROJECT_ADD_USAGE


@pytest.mark.parametrize(
    ("text", "label", "usage"),
    [
        ("project add sponsor:<@U1>", "NAME", PROJECT_ADD_USAGE),
        ("project archive", "NAME", "project archive NAME"),
        ("checkin", "PROJECT", "checkin PROJECT [again]"),
        ("ask", "PROJECT", "ask PROJECT"),
        ("painpoint resolve", "ID", 'painpoint resolve ID [after:N] [fix:"TEXT"]'),
        ("painpoint metric:x baseline:1", "ID", None),
        ("outcome add metric:x baseline:1 target:2", "PROJECT", OUTCOME_ADD_USAGE),
        ("outcome update current:4", "ID", "outcome update ID current:N"),
        ("cost", "AMOUNT", "cost AMOUNT"),
        ("staff add", "PERSON", "staff add PERSON"),
        ("staff remove", "PERSON", "staff remove PERSON"),
        ("export", "projects|responses|outcomes|painpoints", None),
    ],
)
def test_missing_positional(text: str, label: str, usage: str | None) -> None:
    error = fails(text)
    assert f"Missing {label}" in error.message
    assert error.usage is not None
    if usage:
        assert error.usage == usage


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("painpoint 3 metric:x baseline:lots", "lots"),
        ("painpoint resolve 3 after:1.2.3", "1.2.3"),
        ("outcome add A metric:x baseline:1 target:nan", "nan"),
        ("outcome add A metric:x baseline:inf target:2", "inf"),
        ("outcome update 3 current:ten", "ten"),
        ("value days:0", "0"),
        ("value days:-5", "-5"),
        ("value days:3.5", "3.5"),
        ("value days:99999", "99999"),
        ("painpoint abc metric:x baseline:1", "abc"),
        ("painpoint 0 metric:x baseline:1", "0"),
        ("outcome update ² current:1", "²"),
        ("outcome update 99999999999 current:1", "99999999999"),
        ("painpoint resolve 1 2", "1 2"),
    ],
)
def test_bad_number(text: str, bad: str) -> None:
    error = fails(text)
    assert f"'{bad}'" in error.message
    assert error.usage is not None


@pytest.mark.parametrize("bad", ["2026-02-30", "tomorrow", "31/12/2026", "2026-13-01"])
def test_bad_date(bad: str) -> None:
    error = fails(f"pause until:{bad}")
    assert f"'{bad}'" in error.message and "YYYY-MM-DD" in error.message
    assert error.usage == "pause [until:YYYY-MM-DD]"
    assert f"'{bad}'" in fails(f"outcome add A metric:x baseline:1 target:2 due:{bad}").message


@pytest.mark.parametrize("bad", ["24:00", "9", "10:60", "10am", "10:00pm", "ten"])
def test_bad_time(bad: str) -> None:
    error = fails(f"project add Apollo sponsor:<@U1> time:{bad}")
    assert f"'{bad}'" in error.message and error.usage == PROJECT_ADD_USAGE


@pytest.mark.parametrize("bad", ["tuexyz", "tu", "t", "funday", "8"])
def test_bad_day(bad: str) -> None:
    error = fails(f"project add Apollo sponsor:<@U1> day:{bad}")
    assert f"'{bad}'" in error.message and error.usage == PROJECT_ADD_USAGE


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("project add A sponsor:<@U1> cadence:daily", "daily"),
        ("project add A sponsor:<@U1> ask:weekly", "weekly"),
        ("painpoint 3 metric:x baseline:1 better:faster", "faster"),
        ("painpoints closed", "closed"),
        ("export people", "people"),
    ],
)
def test_bad_choice(text: str, bad: str) -> None:
    error = fails(text)
    assert f"'{bad}'" in error.message
    assert error.usage is not None


def test_option_given_twice() -> None:
    error = fails("project add Apollo sponsor:<@U1> day:mon day:tue")
    assert "'day:'" in error.message and "twice" in error.message
    assert error.usage == PROJECT_ADD_USAGE


@pytest.mark.parametrize(
    ("text", "usage"),
    [
        ('outcome add Apollo metric:"Order cycle baseline:1 target:2', OUTCOME_ADD_USAGE),
        ('project add "Apollo sponsor:<@U1>', PROJECT_ADD_USAGE),
    ],
)
def test_unclosed_quote(text: str, usage: str) -> None:
    error = fails(text)
    assert "quote" in error.message and '"' in error.message
    assert error.usage == usage


def test_unexpected_words() -> None:
    error = fails("help me please")
    assert "'me'" in error.message and error.usage == "help"
    error = fails("project add Apollo sponsor:<@U1> Phase 2")
    assert "'Phase'" in error.message and error.usage == PROJECT_ADD_USAGE
    assert "'extra'" in fails("painpoints open extra").message


def test_too_long_or_empty_text() -> None:
    error = fails(f"project add {'x' * 201} sponsor:<@U1>")
    assert "NAME" in error.message and "200" in error.message and error.usage == PROJECT_ADD_USAGE
    assert "NAME is empty" in fails('project add "" sponsor:<@U1>').message
    error = fails(f"outcome add A metric:m baseline:1 target:2 unit:{'u' * 41}")
    assert "unit:" in error.message and "40" in error.message


def test_a_due_date_postgresql_can_compute_with() -> None:
    assert parse("outcome add A metric:m baseline:1 target:2 due:2999-12-31").options["due"] == dt.date(
        2999, 12, 31
    )
    error = fails("outcome add A metric:m baseline:1 target:2 due:9999-12-31")
    assert "'9999-12-31'" in error.message and error.usage == OUTCOME_ADD_USAGE


def test_nul_characters_are_dropped() -> None:
    assert parse("value Apol\x00lo").positional == "Apollo"


# ---- control characters in names ------------------------------------------------------------

NAME_CONTROLS = ["\x1b", "\x07", "\u202e", "\u2066", "\x7f", "\x9b"]


@pytest.mark.parametrize("char", NAME_CONTROLS)
def test_names_with_control_characters_are_refused(char: str) -> None:
    code = f"U+{ord(char):04X}"
    error = fails(f'project add "Red{char}Team" sponsor:<@U1>')
    assert (
        error.message == f"NAME contains a control character ({code})." and error.usage == PROJECT_ADD_USAGE
    )
    assert fails(f"project add Apollo sponsor:<@U1> segment:Dig{char}ital").message == (
        f"segment: contains a control character ({code})."
    )
    error = fails(f'outcome add Apollo metric:"Cycle{char} time" baseline:1 target:2')
    assert (
        error.message == f"metric: contains a control character ({code})."
        and error.usage == OUTCOME_ADD_USAGE
    )
    assert (
        "unit: contains a control character"
        in fails(f"outcome add A metric:m baseline:1 target:2 unit:d{char}").message
    )
    assert "project: contains a control character" in fails(f"painpoints project:Apo{char}llo").message
    assert "PROJECT contains a control character" in fails(f"value Apo{char}llo").message


@pytest.mark.parametrize("char", ["\x85", "\x1f", "\x0b"])
def test_control_characters_that_python_counts_as_whitespace(char: str) -> None:
    """Unquoted they separate words like a space (nothing of them is kept); quoted they refuse the name."""
    assert parse(f"value Apo{char}llo").positional == "Apo llo"
    assert (
        fails(f'value "Apo{char}llo"').message == f"PROJECT contains a control character (U+{ord(char):04X})."
    )


def test_a_person_with_a_control_character_is_refused_and_shown_escaped() -> None:
    error = fails("project add Apollo sponsor:ana\x1b[2J@example.com")
    assert error.message == "sponsor: 'ana\\x1b[2J@example.com' contains a control character (U+001B)."
    assert "\x1b" not in error.message


def test_ordinary_whitespace_in_a_quoted_name_is_still_one_space() -> None:
    assert parse('value "Apollo\tone\nlaunch"').positional == "Apollo one launch"
    assert parse("value Café 🚀 ‏שלום").positional == "Café 🚀 ‏שלום"  # a right-to-left mark is text
