"""What the loop shows: the owner's brief, "You said, we did" with its two buttons, a reopening.

Neutral views only; Slack, Teams and the console render them like any other. The buttons follow
CONTRACT section 5: action `fix_yes` / `fix_no` (a Slack `action_id` starting with `fix_`, Teams
data `"action": "fix"`), payload `{"painpoint": id, "fixed": true|false}`.
"""

from __future__ import annotations

from handlers.views import Choice, Fact, Form, FormField, View, number
from storage.models import PainPoint, Person, Project

FIX_ACTION = "fix"  # what `fix_yes` and `fix_no` are, whatever the channel calls them
FIX_COMMENT = "fix_comment"  # the form of ❌ Not yet: what is still wrong
FIXED_LABEL = "✅ Fixed"
NOT_YET_LABEL = "❌ Not yet"
STILL_WRONG = "What is still wrong?"
FIX_REFS_KEY = "fix"  # where a pain point's message_refs keep its "You said, we did" messages
STORY_ACTION = "story"  # staff's button on a resolved pain point: payload {"painpoint": id}


def story_choice(point_id: int) -> Choice:
    """The "Story" button of a resolved pain point; it runs `story ID` with that command's role check."""
    return Choice(action=STORY_ACTION, label=f"📖 Story #{point_id}", payload={"painpoint": point_id})


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
    text = f"{point.metric}: {number(point.baseline)} → {number(point.after)}"
    pct = improvement_pct(point)
    return f"{text} ({pct:+.1f}%)" if pct is not None else text


def owner_brief(point: PainPoint, project: Project, reporter: Person) -> View:
    """The direct message an owner gets: the pain point and what to do next."""
    facts = [
        Fact("Project", project.name),
        Fact("Reported by", f"{reporter.name} on {point.reported_at:%Y-%m-%d}"),
        Fact("Impact", f"{point.impact}/5"),
    ]
    if point.due is not None:
        facts.append(Fact("Due", point.due.isoformat()))
    if point.metric:
        facts.append(Fact("Measure", f"{point.metric}: baseline {number(point.baseline)}"))
    return View(
        title=f"📌 Pain point #{point.id} on *{project.name}* is yours",
        text=f"“{point.text}”",
        facts=tuple(facts),
        lines=(
            f'Record each step with `painpoint {point.id} note:"…"`'
            + (
                ""
                if point.metric
                else f', attach a measure with `painpoint {point.id} metric:"…" baseline:N`'
            )
            + f', and when it is fixed: `painpoint resolve {point.id} after:N fix:"…"`.',
            "`painpoints mine` lists everything you own.",
        ),
    )


def you_said(point: PainPoint, project: Project) -> View:
    """ "You said, we did": the sponsor's words and date, the fix, the measure, and "Is it fixed?"."""
    facts = [Fact("You said", f"“{point.text}” ({point.reported_at:%Y-%m-%d})")]
    if point.fix:
        facts.append(Fact("We did", point.fix))
    measure = measure_text(point)
    if measure:
        facts.append(Fact("Measured", measure))
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
        text = "Is it fixed?"
    elif point.confirmed:
        text = "You said it is fixed. Thank you! You can change your answer any time."
    else:
        text = "You said it is not fixed yet; the PMO is back on it. You can change your answer any time."
    form = None
    if point.confirmed is False:
        form = Form(
            action=FIX_COMMENT,
            title=STILL_WRONG,
            submit_label="Send",
            fields=(FormField("comment", STILL_WRONG, kind="multiline"),),
            payload={"painpoint": point.id},
        )
    return View(
        title=f"You said, we did: *{project.name}*",
        text=text,
        facts=tuple(facts),
        choices=choices,
        form=form,
    )


def reopened_notice(point: PainPoint, project: Project, reporter: Person, comment: str | None) -> View:
    """What the owner and the alert channel hear when the reporter answers ❌ Not yet."""
    facts = [Fact("Project", project.name), Fact("Reported by", reporter.name)]
    if point.fix:
        facts.append(Fact("The fix was", point.fix))
    if comment:
        facts.append(Fact("Still wrong", comment))
    return View(
        title=f"❌ Pain point #{point.id} on *{project.name}* is not fixed yet",
        text=f"{reporter.name} says “{point.text}” is not fixed yet; it is open again.",
        facts=tuple(facts),
    )


def due_reminder(point: PainPoint, project: Project) -> View:
    """The one reminder an owner gets when their pain point is past its due date."""
    assert point.due is not None
    return View(
        title=f"⏰ Pain point #{point.id} on *{project.name}* was due {point.due.isoformat()}",
        text=f"“{point.text}”",
        lines=(
            f'Record where it stands with `painpoint {point.id} note:"…"`, or resolve it with '
            f'`painpoint resolve {point.id} fix:"…"`.',
        ),
    )
