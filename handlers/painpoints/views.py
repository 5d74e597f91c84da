"""What the loop shows: the owner's brief, "You said, we did" with its two buttons, a reopening.

Neutral views only; Slack, Teams and the console render them like any other. The buttons follow
CONTRACT section 5: action `fix_yes` / `fix_no` (a Slack `action_id` starting with `fix_`, Teams
data `"action": "fix"`), payload `{"painpoint": id, "fixed": true|false}`.
"""

from __future__ import annotations

from handlers.i18n import Cat, Day, Pct, _
from handlers.views import Choice, Fact, Form, FormField, View, number
from storage.models import PainPoint, Person, Project

FIX_ACTION = "fix"  # what `fix_yes` and `fix_no` are, whatever the channel calls them
FIX_COMMENT = "fix_comment"  # the form of ❌ Not yet: what is still wrong
FIXED_LABEL = _("✅ Fixed")
NOT_YET_LABEL = _("❌ Not yet")
STILL_WRONG = _("What is still wrong?")
FIX_REFS_KEY = "fix"  # where a pain point's message_refs keep its "You said, we did" messages
STORY_ACTION = "story"  # staff's button on a resolved pain point: payload {"painpoint": id}


def story_choice(point_id: int) -> Choice:
    """The "Story" button of a resolved pain point; it runs `story ID` with that command's role check."""
    return Choice(action=STORY_ACTION, label=f"📖 Story #{point_id}", payload={"painpoint": point_id})


# the English words are the statuses themselves, as `painpoints open|resolved` and the CSV write them
STATUS_WORDS = {"open": _("open"), "in_progress": _("in_progress"), "resolved": _("resolved")}


def status_word(status: str) -> str:
    """A pain point's status as the reader says it (`in_progress` stays the command's word)."""
    return STATUS_WORDS.get(status, status)


def improvement_pct(point: PainPoint) -> float | None:
    """METRICS.md's improvement of one measured fix; None when it is not measured."""
    if point.baseline in (None, 0) or point.after is None:
        return None
    assert point.baseline is not None
    change = point.baseline - point.after if point.better == "lower" else point.after - point.baseline
    return 100 * change / abs(point.baseline)


def measure_text(point: PainPoint) -> str | None:
    """`Order cycle time: 12 → 7 (+41.7%)`, or None without a measure after the fix."""
    if point.metric is None or point.baseline is None or point.after is None:
        return None
    text = Cat(point.metric, ": ", number(point.baseline), " → ", number(point.after))
    pct = improvement_pct(point)
    return Cat(text, " (", Pct(pct, signed=True), ")") if pct is not None else text


def owner_brief(point: PainPoint, project: Project, reporter: Person) -> View:
    """The direct message an owner gets: the pain point and what to do next."""
    facts = [
        Fact(_("Project"), project.name),
        Fact(
            _("Reported by"),
            _("%(name)s on %(date)s", name=reporter.name, date=Day(point.reported_at.date())),
        ),
        Fact(_("Impact"), f"{point.impact}/5"),
    ]
    if point.due is not None:
        facts.append(Fact(_("Due"), Day(point.due)))
    if point.metric:
        facts.append(
            Fact(
                _("Measure"),
                _("%(metric)s: baseline %(baseline)s", metric=point.metric, baseline=number(point.baseline)),
            )
        )
    id_ = point.id
    steps = (
        _(
            'Record each step with `painpoint %(id)s note:"…"`, and when it is fixed: '
            '`painpoint resolve %(id)s after:N fix:"…"`.',
            id=id_,
        )
        if point.metric
        else _(
            'Record each step with `painpoint %(id)s note:"…"`, attach a measure with '
            '`painpoint %(id)s metric:"…" baseline:N`, and when it is fixed: '
            '`painpoint resolve %(id)s after:N fix:"…"`.',
            id=id_,
        )
    )
    return View(
        title=_("📌 Pain point #%(id)s on *%(project)s* is yours", id=id_, project=project.name),
        text=f"“{point.text}”",
        facts=tuple(facts),
        lines=(steps, _("`painpoints mine` lists everything you own.")),
    )


def you_said(point: PainPoint, project: Project) -> View:
    """ "You said, we did": the sponsor's words and date, the fix, the measure, and "Is it fixed?"."""
    facts = [Fact(_("You said"), Cat("“", point.text, "” (", Day(point.reported_at.date()), ")"))]
    if point.fix:
        facts.append(Fact(_("We did"), point.fix))
    measure = measure_text(point)
    if measure:
        facts.append(Fact(_("Measured"), measure))
    choices = tuple(
        Choice(
            action=f"{FIX_ACTION}_{'yes' if fixed else 'no'}",
            label=FIXED_LABEL if fixed else NOT_YET_LABEL,
            payload={"painpoint": point.id, "fixed": fixed},
            style=("primary" if fixed else "danger") if point.confirmed is fixed else None,
            selected=point.confirmed is fixed,
        )
        for fixed in (True, False)
    )
    if point.confirmed is None:
        text = _("Is it fixed?")
    elif point.confirmed:
        text = _("You said it is fixed. Thank you! You can change your answer any time.")
    else:
        text = _("You said it is not fixed yet; the PMO is back on it. You can change your answer any time.")
    form = None
    if point.confirmed is False:
        form = Form(
            action=FIX_COMMENT,
            title=STILL_WRONG,
            submit_label=_("Send"),
            fields=(FormField("comment", STILL_WRONG, kind="multiline"),),
            payload={"painpoint": point.id},
        )
    return View(
        title=_("You said, we did: *%(project)s*", project=project.name),
        text=text,
        facts=tuple(facts),
        choices=choices,
        form=form,
    )


def reopened_notice(point: PainPoint, project: Project, reporter: Person, comment: str | None) -> View:
    """What the owner and the alert channel hear when the reporter answers ❌ Not yet."""
    facts = [Fact(_("Project"), project.name), Fact(_("Reported by"), reporter.name)]
    if point.fix:
        facts.append(Fact(_("The fix was"), point.fix))
    if comment:
        facts.append(Fact(_("Still wrong"), comment))
    return View(
        title=_("❌ Pain point #%(id)s on *%(project)s* is not fixed yet", id=point.id, project=project.name),
        text=_(
            "%(name)s says “%(text)s” is not fixed yet; it is open again.",
            name=reporter.name,
            text=point.text,
        ),
        facts=tuple(facts),
    )


def due_reminder(point: PainPoint, project: Project) -> View:
    """The one reminder an owner gets when their pain point is past its due date."""
    assert point.due is not None
    return View(
        title=_(
            "⏰ Pain point #%(id)s on *%(project)s* was due %(due)s",
            id=point.id,
            project=project.name,
            due=Day(point.due),
        ),
        text=f"“{point.text}”",
        lines=(
            _(
                'Record where it stands with `painpoint %(id)s note:"…"`, or resolve it with '
                '`painpoint resolve %(id)s fix:"…"`.',
                id=point.id,
            ),
        ),
    )
