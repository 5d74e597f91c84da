"""`export …` in Teams: a FileConsentCard, then the CSV uploaded to the requester's OneDrive."""

from __future__ import annotations

import io
from typing import Any

from handlers.csv.api import export_csv
from tests.bot.teams.conftest import ADMIN_AAD, CHANNEL, TEAM, TeamsWorld, card_text
from tests.fakes.bot_connector import User

CONSENT = "application/vnd.microsoft.teams.card.file.consent"
INFO = "application/vnd.microsoft.teams.card.file.info"


def attachments(world: TeamsWorld, conversation: str, kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (activity["id"], a)
        for activity in world.fake.sent(conversation)
        for a in activity.get("attachments") or ()
        if a["contentType"] == kind
    ]


def consent_answer(
    world: TeamsWorld, user: User, card_id: str, context: dict, action: str, upload: str
) -> dict:
    value: dict[str, Any] = {"type": "fileUpload", "action": action, "context": context}
    if action == "accept":
        value["uploadInfo"] = {
            "name": context["filename"],
            "uploadUrl": upload,
            "contentUrl": "https://contoso-my.sharepoint.example/personal/ada/Documents/Microsoft%20Teams%20Chat%20Files/x.csv",
            "uniqueId": "1A2B3C",
            "fileType": "csv",
        }
    return world.activity(
        "invoke",
        user,
        world.personal_conversation(user),
        name="fileConsent/invoke",
        value=value,
        replyToId=card_id,
    )


async def expected_csv(world: TeamsWorld, kind: str) -> bytes:
    buffer = io.StringIO()
    async with world.runtime.db.sessions() as session:
        await export_csv(session, world.runtime.org_id, kind, buffer)
    return buffer.getvalue().encode("utf-8")


async def test_export_asks_consent_then_uploads_the_csv(teams: TeamsWorld) -> None:
    ada = await teams.installed(teams.user(ADMIN_AAD, "Ada Admin"))
    await teams.installed(teams.user("71", "Sam Sponsor"))
    await teams.say(teams.message(ada, "project add Apollo sponsor:sam@contoso.example"))
    await teams.say(teams.message(ada, "export projects"))
    chat = teams.personal(ada)
    [(card_id, consent)] = attachments(teams, chat, CONSENT)
    assert consent["name"].startswith("projects-") and consent["name"].endswith(".csv")
    content = consent["content"]
    assert content["acceptContext"] == {"kind": "projects", "filename": consent["name"]}
    assert content["sizeInBytes"] == len(await expected_csv(teams, "projects"))

    upload = teams.fake.upload_url(consent["name"])
    response = await teams.post(
        consent_answer(teams, ada, card_id, content["acceptContext"], "accept", upload)
    )
    assert response.status == 200
    [stored] = teams.fake.uploads.values()
    assert stored.content == await expected_csv(teams, "projects")
    assert b"Apollo" in stored.content
    assert stored.content_range == f"bytes 0-{len(stored.content) - 1}/{len(stored.content)}"
    [(_, info)] = attachments(teams, chat, INFO)
    assert info["name"] == consent["name"] and info["content"] == {"uniqueId": "1A2B3C", "fileType": "csv"}
    consent_now = next(a for a in teams.fake.sent(chat) if a["id"] == card_id)["attachments"][0]
    assert "is in your OneDrive" in card_text(consent_now["content"])  # the consent card, updated in place


async def test_declining_uploads_nothing(teams: TeamsWorld) -> None:
    ada = await teams.installed(teams.user(ADMIN_AAD, "Ada Admin"))
    await teams.say(teams.message(ada, "export outcomes"))
    [(card_id, consent)] = attachments(teams, teams.personal(ada), CONSENT)
    response = await teams.post(
        consent_answer(teams, ada, card_id, consent["content"]["declineContext"], "decline", "")
    )
    assert response.status == 200
    assert teams.fake.uploads == {}
    assert any("you declined" in card_text(c) for c in teams.fake.cards(teams.personal(ada)))


async def test_a_staff_member_who_lost_the_role_gets_nothing_on_accept(teams: TeamsWorld) -> None:
    ada = await teams.installed(teams.user(ADMIN_AAD, "Ada Admin"))
    stan = await teams.installed(teams.user("72", "Stan Staff"))
    await teams.say(teams.message(ada, "staff add stan@contoso.example"))
    await teams.say(teams.message(stan, "export responses"))
    [(card_id, consent)] = attachments(teams, teams.personal(stan), CONSENT)
    await teams.say(teams.message(ada, "staff remove stan@contoso.example"))
    upload = teams.fake.upload_url(consent["name"])
    await teams.post(
        consent_answer(teams, stan, card_id, consent["content"]["acceptContext"], "accept", upload)
    )
    assert all(u.content == b"" for u in teams.fake.uploads.values())
    assert "for PMO staff only" in card_text(teams.last_card(teams.personal(stan)))


async def test_export_in_a_channel_comes_in_a_personal_chat(teams: TeamsWorld) -> None:
    ada = await teams.installed(teams.user(ADMIN_AAD, "Ada Admin", team=TEAM))
    await teams.say(teams.channel_message(ada, "@PMO export painpoints"))
    assert "personal chat" in card_text(teams.last_card(CHANNEL))
    assert attachments(teams, CHANNEL, CONSENT) == []
    assert len(attachments(teams, teams.personal(ada), CONSENT)) == 1
