"""The one choice of a check-in's message by kind, and the one list of its messages to update."""

from __future__ import annotations

from handlers.checkins.lifecycle import question_for, refs_updates
from handlers.checkins.views import painpoint_question, question, taste_question
from storage.db import utcnow
from storage.models import KIND_PAINPOINT, KIND_TASTE, Checkin


def test_question_is_the_taste_check_in_or_the_pain_point_prompt() -> None:
    assert question(KIND_TASTE, 7, "Apollo") == taste_question(7, "Apollo")
    assert question(KIND_PAINPOINT, 7, "Apollo") == painpoint_question(7, "Apollo")
    answered = Checkin(
        id=7, kind=KIND_TASTE, status="answered", rating=2, comment="slow", answered_at=utcnow()
    )
    assert question(KIND_TASTE, 7, "Apollo", answered) == taste_question(
        7, "Apollo", rating=2, comment="slow"
    )
    prompt = Checkin(id=7, kind=KIND_PAINPOINT, status="answered", answered_at=utcnow())
    assert question(KIND_PAINPOINT, 7, "Apollo", prompt) == painpoint_question(7, "Apollo", answered=True)


def test_question_for_shows_the_check_in_as_it_stands() -> None:
    closed = Checkin(id=3, kind=KIND_TASTE, status="closed", rating=None, comment=None, answered_at=None)
    assert question_for(closed, "Apollo") == taste_question(3, "Apollo", closed=True)
    assert "closed without an answer" in (question_for(closed, "Apollo").text or "")


def test_refs_updates_rewrites_the_check_in_s_own_messages_not_its_alert() -> None:
    own = {"platform": "local", "message": 1}
    reminder = {"platform": "teams", "activity_id": "a"}
    checkin = Checkin(
        id=3,
        kind=KIND_TASTE,
        message_refs={
            "local": own,
            "teams:reminder": reminder,
            "alerts": {"slack:C1": {"platform": "slack", "channel": "C1", "ts": "1.2"}},
            "broken": "not a ref",
        },
    )
    view = taste_question(3, "Apollo", rating=4)
    updates = refs_updates(checkin, view)
    assert [item.update_ref for item in updates] == [own, reminder]
    assert all(item.view == view and item.checkin_id is None and not item.alert for item in updates)
    assert refs_updates(Checkin(id=4, kind=KIND_TASTE, message_refs=None), view) == []
