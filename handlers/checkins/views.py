"""What sponsors see: the taste check-in and the pain-point prompt, as neutral views."""

from __future__ import annotations

from handlers.i18n import _
from handlers.tastes import TASTES, taste_label
from handlers.views import Choice, Form, FormField, View
from storage.models import KIND_TASTE, Checkin

IMPACTS: tuple[tuple[str, str], ...] = (
    ("1", _("1 · minor")),
    ("2", _("2 · annoying")),
    ("3", _("3 · slows us down")),
    ("4", _("4 · serious")),
    ("5", _("5 · keeps me up at night")),
)


def follow_up_question(rating: int) -> str:
    return _("What would make it taste better?") if rating <= 3 else _("What do you like most?")


def taste_question(
    checkin_id: int,
    project: str,
    *,
    rating: int | None = None,
    comment: str | None = None,
    closed: bool = False,
    reminder: bool = False,
) -> View:
    """The check-in message; once answered it shows the answer and invites a comment."""
    title = _("How does *%(project)s* taste?", project=project)
    if closed and rating is None:
        return View(
            title=title, text=_("This check-in has closed without an answer. The next one comes on schedule.")
        )
    choices = tuple(
        Choice(
            action=f"taste_{value}",
            label=taste_label(value),
            payload={"checkin": checkin_id, "rating": value},
            style="primary" if value == rating else None,
            selected=value == rating,
        )
        for value in sorted(TASTES, reverse=True)
    )
    if rating is None:
        text = (
            _("A gentle reminder: one click tells the PMO how it's going.")
            if reminder
            else _("One click is enough.")
        )
        return View(title=title, text=text, choices=choices)
    lines = (_("You said: “%(comment)s”", comment=comment),) if comment else ()
    form = Form(
        action="taste_comment",
        title=_("Tell us more"),
        submit_label=_("Send"),
        fields=(FormField("comment", follow_up_question(rating), kind="multiline"),),
        payload={"checkin": checkin_id},
    )
    return View(
        title=title,
        text=_("Your answer: %(taste)s. Thank you! You can change it any time.", taste=taste_label(rating)),
        choices=choices,
        lines=lines,
        form=form,
    )


def question(kind: str, checkin_id: int, project: str, standing: Checkin | None = None) -> View:
    """The message of a check-in of this kind: the taste check-in, or (any other kind) the
    pain-point prompt; as just sent, or as the check-in row `standing` has it now. Sending now,
    the clock and every answer show this one."""
    if kind == KIND_TASTE:
        if standing is None:
            return taste_question(checkin_id, project)
        closed = standing.status == "closed"
        return taste_question(
            checkin_id, project, rating=standing.rating, comment=standing.comment, closed=closed
        )
    return painpoint_question(
        checkin_id, project, answered=standing is not None and standing.answered_at is not None
    )


def painpoint_form(checkin_id: int) -> Form:
    return Form(
        action="painpoint",
        title=_("What keeps you up at night?"),
        submit_label=_("Send"),
        fields=(
            FormField("text", _("What keeps you up at night?"), kind="multiline"),
            FormField("impact", _("How much does it hurt?"), kind="choice", options=IMPACTS),
        ),
        payload={"checkin": checkin_id},
    )


def painpoint_question(checkin_id: int, project: str, *, answered: bool = False) -> View:
    """The pain-point prompt: a button that opens the form (the console shows it inline)."""
    text = (
        _("Thank you, the PMO has it. Anything else? Send another one the same way.")
        if answered
        else _(
            "Tell the PMO what worries you; it will be tracked until it is fixed. "
            "You can also simply reply to this message."
        )
    )
    return View(
        title=_("What keeps you up at night about *%(project)s*?", project=project),
        text=text,
        choices=(Choice(action="painpoint_open", label=_("Tell the PMO"), payload={"checkin": checkin_id}),),
        form=painpoint_form(checkin_id),
    )
