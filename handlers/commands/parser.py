"""The `/pmo` language: one parser for Slack, Teams, the console and the shell.

A command is its words (`project add`), then a free-text positional (a name, an id, an
amount) that runs up to the first `key:value` option, then options. Double quotes allow
anything. A word after a free-text option continues that option (`metric:Order cycle time`).
Every mistake raises `ParseError` naming the bad word, with the command's usage line.

`SPECS` is the one table of commands: each `Spec` holds a command's words, usage, role,
positional and options. Its handler is bound to those words where the handler is written, by
`@handles("project add")` in `handlers.commands.run`, as bolt binds listeners with
`@app.command`; importing `run` fails when a spec has no handler or a handler no spec. The
table stays here, not beside the handlers, so that parsing needs no database: the shell, the
docs test and the parser's tests read it without importing a use case.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from handlers.csv.kinds import KINDS
from handlers.i18n import Cat, _
from handlers.ids import parse_id, positive_int
from handlers.ports import PersonRef
from handlers.text import codepoint, name_control, text_problem, visible
from storage.models import ASK_CADENCES, CADENCES, DAYS, LATEST_DUE

OPTION = re.compile(r"^([a-z_]+):(.*)$", re.DOTALL)
SLACK_USER = re.compile(r"^<@([A-Z0-9a-z:_.-]+)(?:\|[^>]*)?>$")
SLACK_MAILTO = re.compile(r"^<mailto:([^|>]+)(?:\|[^>]*)?>$")
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
AMOUNT = re.compile(r"^[$€£¥₹]?\s*(-?[0-9][0-9,_]*(?:\.[0-9]+)?)\s*([kKmM]?)$")


class ParseError(ValueError):
    """What was wrong with a command, and the usage line that shows how to say it."""

    def __init__(self, message: str, usage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


@dataclass(frozen=True)
class Token:
    text: str
    quoted: bool


def tokenize(text: str) -> list[Token]:
    """Split on whitespace, keeping "double-quoted" runs (also inside key:"value") whole."""
    text = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u00a0", " ").replace("\x00", "")
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        buf: list[str] = []
        quoted = text[i] == '"'  # a token that opens with a quote is never a command word or option
        while i < n and not text[i].isspace():
            if text[i] == '"':
                end = text.find('"', i + 1)
                if end < 0:
                    raise ParseError(_("A quote is not closed: %(text)s", text=text[i:]))
                buf.append(text[i + 1 : end])
                i = end + 1
            elif text.startswith(("<@", "<mailto:"), i) and text.find(">", i) > 0:
                end = text.find(">", i)  # a mention's label may hold spaces: <@U123|Sam Smith>
                buf.append(text[i : end + 1])
                i = end + 1
            else:
                buf.append(text[i])
                i += 1
        tokens.append(Token("".join(buf), quoted))
    return tokens


# ---- value converters: each takes the written text and returns the value or raises ValueError


def _number(text: str) -> float:
    try:
        value = float(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise ValueError(_("'%(text)s' is not a number", text=text)) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(_("'%(text)s' is not a number", text=text))
    return value


def parse_amount(text: str) -> float:
    """Money as people write it: 450000, 450,000, 450k, 1.2m, $450,000."""
    match = AMOUNT.match(text.strip())
    if not match:
        raise ValueError(_("'%(text)s' is not an amount (e.g. 450000, 450k or 1.2m)", text=text))
    value = float(match.group(1).replace(",", "").replace("_", ""))
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    if abs(value * scale) >= 1e15:
        raise ValueError(_("'%(text)s' is too large an amount", text=text))
    return round(value * scale, 2)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(_("'%(text)s' is not a date (YYYY-MM-DD)", text=text)) from None


def _due(text: str) -> dt.date:
    """A deadline; PostgreSQL stores 9999-12-31 as 'infinity', which no date arithmetic accepts."""
    value = _date(text)
    if value > LATEST_DUE:
        raise ValueError(_("'%(text)s' is too far away for a due date", text=text))
    return value


def _time(text: str) -> str:
    match = re.fullmatch(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", text)
    if not match:
        raise ValueError(_("'%(text)s' is not a time (HH:MM, 00:00 to 23:59)", text=text))
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _days(text: str) -> int:
    value = positive_int(text)
    if value > 3660:
        raise ValueError(_("'%(text)s' days is more than ten years", text=text))
    return value


def _choice(*allowed: str) -> Callable[[str], str]:
    def convert(text: str) -> str:
        value = text.lower()
        if value not in allowed:
            raise ValueError(_("'%(text)s' is not one of %(allowed)s", text=text, allowed="|".join(allowed)))
        return value

    return convert


DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _day(text: str) -> str:
    """`tue`, `tues` and `tuesday` are Tuesday; `tuexyz` is not."""
    value = text.lower()
    for day, full in zip(DAYS, DAY_NAMES, strict=True):
        if len(value) >= 3 and full.startswith(value):
            return day
    raise ValueError(_("'%(text)s' is not a day (mon, tue, wed, thu, fri, sat, sun)", text=text))


def _one_line(text: str, limit: int) -> str:
    """Runs of whitespace become one space; control characters (ESC, bidi overrides...) refuse it."""
    problem = text_problem(text)
    if problem:
        raise ValueError(problem)
    value = " ".join(text.split())
    if not value:
        raise ValueError(_("is empty"))
    if len(value) > limit:
        raise ValueError(_("is longer than %(limit)s characters", limit=f"{limit:,}"))
    return value


def _text(text: str) -> str:
    """A name: one line of up to 200 characters."""
    return _one_line(text, 200)


def _long_text(text: str) -> str:
    """A note, a fix, what was done: like a name, up to 3,000 characters."""
    return _one_line(text, 3000)


def _unit(text: str) -> str:
    value = _text(text)
    if len(value) > 40:
        raise ValueError(_("is longer than %(limit)s characters", limit="40"))
    return value


def parse_person(text: str) -> PersonRef:
    """A Slack mention `<@U123>`/`<@U123|sam>`, a Teams mention rewritten as such, or an e-mail."""
    text = text.strip()
    char = name_control(text)
    if char is not None:
        raise ValueError(
            _("'%(text)s' contains a control character (%(char)s)", text=visible(text), char=codepoint(char))
        )
    if match := SLACK_USER.match(text):
        return PersonRef(user_id=match.group(1), written=text)
    if match := SLACK_MAILTO.match(text):
        text = match.group(1)
    if EMAIL.match(text) and len(text) <= 254:  # the longest address SMTP allows
        return PersonRef(email=text.lower(), written=text)
    raise ValueError(_("'%(text)s' is not a person (mention them with @ or give their e-mail)", text=text))


@dataclass(frozen=True)
class Spec:
    """One command: its words, who may run it, its positional and its options."""

    words: tuple[str, ...]
    usage: str
    role: str  # "anyone" | "staff" | "admin" | "sponsor" | "staff|sponsor"
    positional: str | None = None  # "name" | "name?" | "id" | "amount" | "person" | a "a|b|c" choice
    options: dict[str, Callable[[str], Any]] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    summary: str = ""
    # alternative forms of one command, each (its required options, the optional ones that go with
    # them): `painpoint ID` takes a measure, an owner or a note, exactly one of them
    forms: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()

    @property
    def name(self) -> str:
        return " ".join(self.words)


_PROJECT_OPTIONS: dict[str, Callable[[str], Any]] = {
    "sponsor": parse_person,
    "segment": _text,
    "cadence": _choice(*CADENCES),
    "day": _day,
    "time": _time,
    "ask": _choice(*ASK_CADENCES),
}

_CSV_KINDS = "|".join(KINDS)  # projects|responses|outcomes|painpoints

SPECS: tuple[Spec, ...] = (
    Spec(("help",), "help", "anyone", summary=_("the commands you may run")),
    Spec(
        ("home",),
        "home",
        "anyone",
        summary=_("what matters to you now: your projects, your pain points, the figures"),
    ),
    Spec(
        ("value",),
        "value [PROJECT] [segment:NAME] [days:N]",
        "anyone",
        "name?",
        {"segment": _text, "days": _days},
        summary=_("the value report"),
    ),
    Spec(
        ("project", "add"),
        "project add NAME sponsor:PERSON [segment:NAME] [cadence:weekly|biweekly|monthly|quarterly|off]"
        " [day:mon..sun] [time:HH:MM] [ask:monthly|quarterly|off]",
        "staff",
        "name",
        _PROJECT_OPTIONS,
        ("sponsor",),
        summary=_("add a project and its sponsor"),
    ),
    Spec(("project", "list"), "project list", "staff", summary=_("list projects")),
    Spec(
        ("project", "archive"),
        "project archive NAME",
        "staff",
        "name",
        summary=_("stop a project's check-ins"),
    ),
    Spec(
        ("checkin",),
        "checkin PROJECT [again]",
        "staff",
        "name",
        summary=_("send the taste check-in now (again: even while the last one is open)"),
    ),
    Spec(("ask",), "ask PROJECT", "staff", "name", summary=_("send the pain-point prompt now")),
    Spec(
        ("painpoints",),
        "painpoints [open|resolved|all] [project:NAME]",
        "staff",
        "open|resolved|all?",
        {"project": _text},
        summary=_("list pain points"),
    ),
    Spec(
        ("painpoints", "mine"),
        "painpoints mine",
        "staff",
        summary=_("the open pain points you own"),
    ),
    Spec(
        ("painpoint", "resolve"),
        'painpoint resolve ID [after:N] [fix:"TEXT"]',
        "staff",
        "id",
        {"after": _number, "fix": _long_text},
        summary=_("mark a pain point fixed; its sponsor is told what was done"),
    ),
    Spec(
        ("painpoint",),
        'painpoint ID metric:"NAME" baseline:N [better:lower|higher]'
        ' / painpoint ID owner:PERSON [due:YYYY-MM-DD] / painpoint ID note:"TEXT"',
        "staff",
        "id",
        {
            "metric": _text,
            "baseline": _number,
            "better": _choice("lower", "higher"),
            "owner": parse_person,
            "due": _due,
            "note": _long_text,
        },
        summary=_("attach the measure that will show the fix, give it an owner, or note a step taken"),
        forms=((("metric", "baseline"), ("better",)), (("owner",), ("due",)), (("note",), ())),
    ),
    Spec(
        ("followup",),
        'followup CHECKIN_ID did:"TEXT"',
        "staff",
        "id",
        {"did": _long_text},
        ("did",),
        summary=_("record what the PMO changed after a sour taste"),
    ),
    Spec(
        ("outcome", "add"),
        'outcome add PROJECT metric:"NAME" baseline:N target:N [unit:U] [benefit:AMOUNT] [due:YYYY-MM-DD]',
        "staff",
        "name",
        {
            "metric": _text,
            "baseline": _number,
            "target": _number,
            "unit": _unit,
            "benefit": parse_amount,
            "due": _due,
        },
        ("metric", "baseline", "target"),
        summary=_("add a business-case outcome"),
    ),
    Spec(
        ("outcome", "update"),
        "outcome update ID current:N",
        "staff",
        "id",
        {"current": _number},
        ("current",),
        summary=_("record a new measurement"),
    ),
    Spec(
        ("outcomes",),
        "outcomes [PROJECT]",
        "staff|sponsor",
        "name?",
        summary=_("list outcomes with progress"),
    ),
    Spec(("cost",), "cost AMOUNT", "admin", "amount", summary=_("set the PMO's cost to date")),
    Spec(("alerts", "here"), "alerts here", "staff", summary=_("send alerts to this channel")),
    Spec(("staff", "add"), "staff add PERSON", "admin", "person", summary=_("make someone PMO staff")),
    Spec(
        ("staff", "remove"), "staff remove PERSON", "admin", "person", summary=_("remove someone from staff")
    ),
    Spec(("staff", "list"), "staff list", "admin", summary=_("list staff and admins")),
    Spec(
        ("pause",),
        "pause [until:YYYY-MM-DD]",
        "sponsor",
        None,
        {"until": _date},
        summary=_("no check-ins until then"),
    ),
    Spec(("resume",), "resume", "sponsor", summary=_("check-ins again")),
    Spec(("export",), f"export {_CSV_KINDS}", "staff", _CSV_KINDS, summary=_("the CSV file, sent to you")),
    Spec(
        ("language",),
        "language en|de|fr|es|pt",
        "anyone",
        "en|de|fr|es|pt?",
        summary=_("the language I speak with you (commands stay English)"),
    ),
    Spec(
        ("story",),
        "story ID",
        "staff|sponsor",
        "id",
        summary=_("the story of a pain point: the sponsor's words, the fix, the measure before and after"),
    ),
    # the value digest (handlers/digest/, docs/digest.md)
    Spec(("digest",), "digest", "staff", summary=_("the value digest's schedule and who receives it")),
    Spec(
        ("digest", "here"),
        "digest here [weekly|monthly|off] [day:mon..sun] [time:HH:MM]",
        "staff",
        "weekly|monthly|off?",
        {"day": _day, "time": _time},
        summary=_("send the value digest to this channel, and how often"),
    ),
    Spec(
        ("digest", "to"),
        "digest to PERSON",
        "staff",
        "person",
        summary=_("send the value digest to someone too"),
    ),
    Spec(
        ("digest", "remove"),
        "digest remove PERSON",
        "staff",
        "person",
        summary=_("stop sending them the digest"),
    ),
    Spec(("digest", "now"), "digest now", "staff", summary=_("send the value digest to its recipients now")),
)

_FREE_TEXT = {_text, _unit, _long_text}


@dataclass(frozen=True)
class Command:
    spec: Spec
    positional: Any = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name


PREFIX = re.compile(r"^/?pmo(?:\s+|$)", re.IGNORECASE)


def is_prefixed(text: str) -> bool:
    """True when the text says it is a command (`pmo value`, `/pmo value`)."""
    return PREFIX.match(text.strip()) is not None


def _strip_prefix(text: str) -> str:
    """Teams and the console may send `pmo value` or `/pmo value`; the parser wants `value`."""
    return PREFIX.sub("", text.strip(), count=1)


def find_spec(words: list[str]) -> Spec | None:
    """The longest command whose words begin the text (`painpoint resolve` before `painpoint`)."""
    lowered = tuple(w.lower() for w in words)
    for size in (2, 1):
        for spec in SPECS:
            if len(spec.words) == size and lowered[:size] == spec.words:
                return spec
    return None


def usages_for(word: str) -> list[str]:
    return [spec.usage for spec in SPECS if spec.words[0] == word]


def parse(text: str) -> Command:
    """Turn the words of a `/pmo` command into a `Command`, or raise `ParseError`."""
    text = _strip_prefix(text)
    try:
        tokens = tokenize(text)
    except ParseError as exc:
        spec = find_spec(text.split()[:2])
        raise ParseError(exc.message, spec.usage if spec else None) from None
    if not tokens:
        return Command(SPECS[0])
    words = ["" if t.quoted else t.text for t in tokens[:2]]
    spec = find_spec(words)
    if spec is None:
        first = tokens[0].text.lower()
        family = usages_for(first)
        if family:
            sub = tokens[1].text if len(tokens) > 1 else ""
            what = (
                _("'%(words)s' is not a command.", words=f"{first} {sub}")
                if sub
                else _("'%(word)s' needs more words.", word=first)
            )
            raise ParseError(what, " / ".join(family))
        raise ParseError(
            _("Unknown command '%(word)s'. Type 'help' for the commands you may run.", word=tokens[0].text)
        )
    rest = tokens[len(spec.words) :]
    return _parse_arguments(spec, rest)


def _parse_arguments(spec: Spec, rest: list[Token]) -> Command:
    positional_words: list[str] = []
    options: dict[str, Any] = {}
    raw_options: dict[str, str] = {}
    last_key: str | None = None
    for token in rest:
        match = None if token.quoted else OPTION.match(token.text)
        if not token.quoted and DASHED.match(token.text) and not _continues_text(spec, last_key):
            raise ParseError(_dashed(spec, token.text), spec.usage)
        if match and match.group(1) in spec.options:
            key, value = match.group(1), match.group(2)
            if key in raw_options:
                raise ParseError(_("'%(key)s:' is given twice.", key=key), spec.usage)
            raw_options[key] = value
            last_key = key
        elif match:
            raise ParseError(
                _("Unknown option '%(key)s:' for %(command)s.", key=match.group(1), command=spec.name),
                spec.usage,
            )
        elif last_key is not None:
            if spec.options[last_key] in _FREE_TEXT:
                raw_options[last_key] += " " + token.text
            else:
                raise ParseError(
                    _("Unexpected word '%(word)s' after %(key)s:.", word=token.text, key=last_key), spec.usage
                )
        else:
            positional_words.append(token.text)
    for key, value in raw_options.items():
        if not value.strip():
            raise ParseError(_("'%(key)s:' has no value.", key=key), spec.usage)
        try:
            options[key] = spec.options[key](value.strip())
        except ValueError as exc:
            raise ParseError(Cat(f"{key}: ", _reason(exc), "."), spec.usage) from None
    missing = [key for key in spec.required if key not in options]
    if missing:
        raise ParseError(_missing(", ".join(k + ":" for k in missing), spec), spec.usage)
    if spec.forms:
        _check_form(spec, set(options))
    return Command(spec, _positional(spec, positional_words), options)


def _check_form(spec: Spec, given: set[str]) -> None:
    """Exactly one of the command's forms, complete, and nothing of another."""
    chosen = [(needed, extra) for needed, extra in spec.forms if given & set(needed)]
    if not chosen:
        wanted = " or ".join(", ".join(k + ":" for k in needed) for needed, _extra in spec.forms)
        raise ParseError(_missing(wanted, spec), spec.usage)
    if len(chosen) > 1:
        raise ParseError(
            _(
                "Give %(keys)s in separate commands.",
                keys=" or ".join(needed[0] + ":" for needed, _n in chosen),
            ),
            spec.usage,
        )
    needed, extra = chosen[0]
    missing = [key for key in needed if key not in given]
    if missing:
        raise ParseError(_missing(", ".join(k + ":" for k in missing), spec), spec.usage)
    stray = sorted(given - set(needed) - set(extra))
    if stray:
        raise ParseError(
            _("'%(key)s:' does not go with %(other)s:.", key=stray[0], other=needed[0]), spec.usage
        )


DASHED = re.compile(r"^--([A-Za-z][A-Za-z_-]*)(?:=.*)?$", re.DOTALL)  # --days, --days=30


def _continues_text(spec: Spec, last_key: str | None) -> bool:
    """Inside a free-text option (`note:"…"` unquoted) any word, `--x` too, is part of the text."""
    return last_key is not None and spec.options[last_key] in _FREE_TEXT


def _dashed(spec: Spec, word: str) -> str:
    """What to say to `--days 30`, the shell's way of writing an option: how it is written here."""
    match = DASHED.match(word)
    key = match.group(1).lower().replace("-", "_") if match else ""
    if key in spec.options:
        return f"Options are written key:value, e.g. {_option_example(spec, key)}, not '{word}'."
    hint = f", e.g. {_option_example(spec, next(iter(spec.options)))}" if spec.options else ""
    return f"'{word}' is not an option of {spec.name}: options are written key:value{hint}."


def _option_example(spec: Spec, key: str) -> str:
    shown = re.search(rf"\b{key}:[^\]\s|]+", spec.usage)  # `days:N` from `[days:N]`
    return shown.group(0) if shown else f"{key}:…"


def _positional(spec: Spec, words: list[str]) -> Any:
    kind = spec.positional
    if kind is None:
        if words:
            raise ParseError(_("Unexpected word '%(word)s'.", word=words[0]), spec.usage)
        return None
    optional = kind.endswith("?")
    kind = kind.rstrip("?")
    if not words:
        if optional:
            return None
        raise ParseError(_missing(_positional_label(spec), spec), spec.usage)
    joined = " ".join(words)
    try:
        if kind == "name":
            return _text(joined)
        if kind == "id":
            if len(words) > 1:
                raise ValueError(_("'%(text)s' is not one id", text=joined))
            return parse_id(words[0].lstrip("#"))
        if kind == "amount":
            return parse_amount(joined)
        if kind == "person":
            if len(words) > 1:
                raise ValueError(_("'%(text)s' is more than one person", text=joined))
            return parse_person(words[0])
        if len(words) > 1:
            raise ValueError(_("Unexpected word '%(word)s'", word=words[1]))
        return _choice(*kind.split("|"))(words[0])
    except ValueError as exc:
        message = _reason(exc)
        if str(message).startswith(("is ", "contains ")):  # "is empty" says nothing without its subject
            message = Cat(_positional_label(spec), " ", message)
        raise ParseError(Cat(message, "."), spec.usage) from None


def _reason(exc: ValueError) -> str:
    """What a converter said: its lazy text when it gave one (said in the reader's language)."""
    return exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)


def _missing(what: str, spec: Spec) -> str:
    return _("Missing %(what)s for %(command)s.", what=what, command=spec.name)


def _positional_label(spec: Spec) -> str:
    return spec.usage.split()[len(spec.words)].strip("[]")
