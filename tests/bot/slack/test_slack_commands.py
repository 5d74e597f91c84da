"""Every `/pmo` command through Slack, end to end: signed slash commands in, respond() out.

The command is acknowledged at once with an empty body; the answer comes through the
response_url, ephemeral unless it is meant for the channel.
"""

from __future__ import annotations

import json
import time

from storage.models import Identity, Organisation, Outcome, PainPoint, Person, Project
from tests.bot.slack.harness import (
    ADMIN,
    MEMBER,
    SECRET,
    SPONSOR,
    STAFF,
    SlackBot,
    prepare,
    rows,
    send_checkin,
    snapshot,
)
from tests.fakes.slack_signing import command_body, signed_headers


async def test_help_lists_what_each_person_may_run(bot: SlackBot) -> None:
    member = await bot.command("help", MEMBER)
    admin = await bot.command("help", ADMIN)
    assert member["response_type"] == "ephemeral" and member["replace_original"] is False
    assert "/pmo value" in member["text"] and "/pmo cost" not in member["text"]
    assert "/pmo cost" in admin["text"] and "/pmo staff add" in admin["text"]


async def test_a_command_is_acknowledged_at_once_and_answered_later(bot: SlackBot) -> None:
    await prepare(bot)
    bot.slack.on("files.getUploadURLExternal", delay=1.0)  # the chart upload is slow
    key = "slow-value"
    body = command_body("value", user_id=STAFF, response_url=bot.slack.response_url(key))
    started = time.monotonic()
    async with bot.http.post(
        bot.url + "/slack/events", data=body, headers=signed_headers(SECRET, body)
    ) as response:
        assert response.status == 200 and (await response.read()) == b""
    acknowledged = time.monotonic() - started
    assert acknowledged < 0.9, acknowledged
    assert key not in bot.slack.responses  # the answer is not there yet
    reply = await bot.slack.wait_for_response(key)
    assert "PMO value" in reply["text"]


async def test_value_shows_the_chart_and_can_be_shared(bot: SlackBot) -> None:
    await prepare(bot)
    reply = await bot.command("value", STAFF)
    assert reply["response_type"] == "ephemeral"
    [image] = [b for b in reply["blocks"] if b["type"] == "image"]
    uploaded = bot.slack.files[image["slack_file"]["id"]]
    assert uploaded.content.startswith(b"\x89PNG") and uploaded.completed and uploaded.channels == []
    assert image["alt_text"].startswith("CSAT by month")
    [share] = bot.buttons(reply["blocks"])
    assert share["action_id"] == "share" and json.loads(share["value"]) == {"command": "value"}
    key = await bot.click("share", share["value"], STAFF, channel="C0GENERAL")
    shared = await bot.slack.wait_for_response(key)
    assert shared["response_type"] == "in_channel" and "PMO value" in shared["text"]
    assert any(b["type"] == "image" for b in shared["blocks"])
    assert bot.buttons(shared["blocks"]) == []


async def test_value_without_a_chart_upload_still_answers(bot: SlackBot) -> None:
    bot.slack.on("files.getUploadURLExternal", error="missing_scope")
    reply = await bot.command("value", MEMBER)
    assert not any(b["type"] == "image" for b in reply["blocks"])
    assert "CSAT by month" in bot.text_of(reply["blocks"])


async def test_project_detail_is_refused_to_a_plain_member(bot: SlackBot) -> None:
    await prepare(bot)
    reply = await bot.command("value Apollo", MEMBER)
    assert "Project detail is for PMO staff and the sponsor" in reply["text"]
    assert (await bot.command("value Apollo", SPONSOR))["text"].startswith(
        "PMO value — last 90 days — Apollo"
    )


async def test_a_sponsor_by_email_is_found_with_lookup_by_email(bot: SlackBot) -> None:
    bot.slack.add_user("UNEW00001", name="Nora New", email="nora@t0001.example", tz="America/New_York")
    await bot.command(f"staff add <@{STAFF}>", ADMIN)
    reply = await bot.command("project add Hermes sponsor:nora@t0001.example segment:Space", STAFF)
    assert "Project 'Hermes' added, sponsored by Nora New" in reply["text"]
    lookup = await bot.slack.wait_for("users.lookupByEmail")
    assert lookup.args["email"] == "nora@t0001.example"
    [identity] = await rows(bot, Identity, Identity.external_id == "UNEW00001")
    [nora] = await rows(bot, Person, Person.id == identity.person_id)
    assert (nora.name, nora.email, nora.tz, identity.platform) == (
        "Nora New",
        "nora@t0001.example",
        "America/New_York",
        "slack",
    )


async def test_an_unknown_email_or_mention_changes_nothing(bot: SlackBot) -> None:
    await bot.command(f"staff add <@{STAFF}>", ADMIN)
    await bot.command("help", STAFF)
    before = await snapshot(bot)
    for text in (
        "project add Hermes sponsor:nobody@t0001.example",
        "project add Hermes sponsor:<@UNOBODY01>",
    ):
        reply = await bot.command(text, STAFF)
        assert "I can't find" in reply["text"]
    assert await snapshot(bot) == before


async def test_a_mention_of_someone_new_is_asked_of_slack(bot: SlackBot) -> None:
    await bot.command(f"staff add <@{STAFF}>", ADMIN)
    reply = await bot.command(f"project add Hermes sponsor:<@{MEMBER}|mia>", STAFF)
    assert "sponsored by Mia Member" in reply["text"]
    assert any(c.args.get("user") == MEMBER for c in bot.slack.called("users.info"))


async def test_text_slack_escaped_is_stored_as_the_user_typed_it(bot: SlackBot) -> None:
    """Slack sends `&`, `<`, `>` as entities (should_escape); names keep the characters typed."""
    await bot.command(f"staff add <@{STAFF}>", ADMIN)
    reply = await bot.command(f'project add "R&amp;D &lt;core&gt;" sponsor:<@{MEMBER}|mia>', STAFF)
    assert "Project 'R&amp;D &lt;core&gt;' added" in reply["text"]  # escaped again for mrkdwn
    names = [p.name for p in await rows(bot, Project)]
    assert names == ["R&D <core>"]


async def test_the_staff_commands(bot: SlackBot) -> None:
    await prepare(bot)
    assert "Apollo · sponsor Sam Sponsor" in (await bot.command("project list", STAFF))["text"]
    assert (
        "added to Apollo"
        in (await bot.command('outcome add Apollo metric:"Cycle time" baseline:10 target:5 unit:d', STAFF))[
            "text"
        ]
    )
    assert (
        "Outcome #1 (Cycle time) is now 8" in (await bot.command("outcome update 1 current:8", STAFF))["text"]
    )
    assert "Cycle time" in (await bot.command("outcomes Apollo", SPONSOR))["text"]
    await send_checkin(bot, kind="ask")
    values = {
        "text": {"text": {"type": "plain_text_input", "value": "Slow approvals"}},
        "impact": {"impact": {"type": "static_select", "selected_option": {"value": "2"}}},
    }
    await bot.submit("painpoint", json.dumps({"payload": {"checkin": 1}}), values, SPONSOR)
    listed = await bot.command("painpoints open", STAFF)
    assert "#1 [open] Apollo · impact 2" in listed["text"] and "Slow approvals" in listed["text"]
    assert (
        "measured by Approval days"
        in (await bot.command('painpoint 1 metric:"Approval days" baseline:10', STAFF))["text"]
    )
    assert "is resolved" in (await bot.command("painpoint resolve 1 after:4", STAFF))["text"]
    [point] = await rows(bot, PainPoint)
    assert (point.status, point.after) == ("resolved", 4)
    assert "is archived" in (await bot.command("project archive Apollo", STAFF))["text"]
    [project] = await rows(bot, Project)
    assert project.archived


async def test_the_admin_commands(bot: SlackBot) -> None:
    await prepare(bot)
    assert "PMO's cost to date is now 450,000" in (await bot.command("cost 450k", ADMIN))["text"]
    [org] = await rows(bot, Organisation)
    assert org.pmo_cost == 450000
    staff = await bot.command("staff list", ADMIN)
    assert "Stan Staff" in staff["text"] and "Ada Admin" in staff["text"]
    assert "no longer PMO staff" in (await bot.command(f"staff remove <@{STAFF}>", ADMIN))["text"]
    assert "is for PMO staff only" in (await bot.command("project list", STAFF))["text"]


async def test_a_sponsor_pauses_and_resumes(bot: SlackBot) -> None:
    await prepare(bot)
    assert "paused until 2099-01-01" in (await bot.command("pause until:2099-01-01", SPONSOR))["text"]
    reply = await bot.command("checkin Apollo", STAFF)
    assert "has paused check-ins" in reply["text"]
    assert "Welcome back" in (await bot.command("resume", SPONSOR))["text"]


async def test_export_sends_the_csv_to_the_requesters_dm(bot: SlackBot) -> None:
    await prepare(bot)
    reply = await bot.command("export projects", STAFF)
    assert "Here is projects: 1 row." in reply["text"] and "is in your direct messages" in reply["text"]
    [uploaded] = bot.slack.files.values()
    assert uploaded.channels == ["DSTAFF01"] and uploaded.filename.startswith("projects-")
    assert uploaded.content.decode().splitlines()[0] == "name,sponsor,segment,cadence,day,time"
    assert "Apollo" in uploaded.content.decode()
    assert bot.slack.called("conversations.open") == []


async def test_bad_input_is_explained_and_changes_nothing(bot: SlackBot) -> None:
    await prepare(bot)
    before = await snapshot(bot)
    reply = await bot.command("outcome add Apollo metric:NPS baseline:ten target:5", STAFF)
    assert reply["blocks"][0]["text"]["text"] == "⚠️ baseline: 'ten' is not a number."
    assert "Usage: outcome add PROJECT" in reply["text"]
    reply = await bot.command("fly to the moon", STAFF)
    assert reply["response_type"] == "ephemeral" and "Unknown command 'fly'" in reply["text"]
    assert await snapshot(bot) == before


async def test_outcome_rows_belong_to_the_workspace(bot: SlackBot) -> None:
    await prepare(bot)
    await bot.command("outcome add Apollo metric:NPS baseline:10 target:50", STAFF)
    [outcome] = await rows(bot, Outcome)
    assert outcome.org_id == bot.runtime.org_id


async def test_a_lookup_slack_refuses_is_explained(bot: SlackBot) -> None:
    await bot.command(f"staff add <@{STAFF}>", ADMIN)
    bot.slack.on("users.lookupByEmail", error="missing_scope")
    reply = await bot.command("project add Hermes sponsor:nora@t0001.example", STAFF)
    assert "Slack could not look up nora@t0001.example" in reply["text"] and "missing_scope" in reply["text"]
    bot.slack.add_user("UGONE0001", name="Gone Person", email="gone@t0001.example", deleted=True)
    bot.slack.clear_rules()
    reply = await bot.command("project add Hermes sponsor:gone@t0001.example", STAFF)
    assert "deactivated Slack account" in reply["text"]
    assert await rows(bot, Project) == []
    assert (await bot.command("language de", STAFF))["text"]  # the same refusals, in German
    reply = await bot.command("project add Hermes sponsor:gone@t0001.example", STAFF)
    assert "gone@t0001.example hat ein deaktiviertes Slack-Konto." in reply["text"]
    bot.slack.on("users.lookupByEmail", error="missing_scope")
    reply = await bot.command("project add Hermes sponsor:nora@t0001.example", STAFF)
    assert (
        "Slack konnte nora@t0001.example nicht nachschlagen" in reply["text"]
        and "missing_scope" in reply["text"]
    )
    assert await rows(bot, Project) == []
