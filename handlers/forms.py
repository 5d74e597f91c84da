"""Opening a form from a button: the check-in's current view, with the form to show.

Platforms that open forms in a separate step (a Slack modal needs the click's trigger_id
within three seconds) ask here first, so that only the sponsor the check-in was sent to is
shown the form, and the form matches the check-in's state (the question for the rating given).
Nothing is changed; the submitted form goes to `interactions.act` like any other input.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.checkins import lifecycle
from handlers.i18n import _
from handlers.outbox import perform_as
from handlers.painpoints import loop
from handlers.painpoints.views import FIX_COMMENT
from handlers.ports import Caller, Reply, Services
from handlers.views import View, error
from storage.models import KIND_PAINPOINT, KIND_TASTE, Person, Project

FORMS = {"taste_comment": KIND_TASTE, "painpoint": KIND_PAINPOINT}


async def form_for(services: Services, caller: Caller, action: str, payload: Any) -> View:
    """The view whose `form` the platform should open; a refusal (not ok) when it may not."""
    kind = FORMS.get(action)
    if (kind is None and action != FIX_COMMENT) or not isinstance(payload, dict):
        return error(_("That button opens no form I know; nothing was changed."))

    async def work(session: AsyncSession, person: Person) -> Reply:
        if kind is None:  # ❌ Not yet's "what is still wrong?"
            return await loop.fix_form(session, person, payload)
        try:
            checkin = await lifecycle.load_for_answer(session, person, payload.get("checkin"), kind)
        except lifecycle.Refused as exc:
            return Reply(error(exc.args[0]))
        if kind == KIND_TASTE and checkin.rating is None:
            return Reply(error(_("Pick a taste first, then tell us more.")))
        project = await session.get(Project, checkin.project_id)
        view = lifecycle.question_for(checkin, project.name if project else "")
        if view.form is None:
            return Reply(error(_("This check-in has no form to fill in.")))
        return Reply(view)

    return await perform_as(services, caller, work)
