"""Many workspaces through OAuth: install from /slack/install, each workspace its own organisation.

Two workspaces install the same app; each sees only its own projects, answers and reports;
uninstalling one removes its installation and stops sends to it, and leaves the other alone.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlparse

import pytest

from handlers.ports import DeliveryFailed
from handlers.views import View
from storage.models import Identity, Organisation, Person, SlackInstallation
from storage.models import SlackBot as SlackBotRow
from tests.bot.slack.harness import ADMIN, SPONSOR, STAFF, SlackBot, add_people, eventually, rows, running_bot
from tests.fakes.slack_api import FakeSlack

TEAM_A, TEAM_B = "TAAAAAAA1", "TBBBBBBB2"


def user(base: str, team: str) -> str:
    return base + team[1]  # UADMIN01A, UADMIN01B: ids differ per workspace


@pytest.fixture
async def multi(database_url: str, slack: FakeSlack) -> AsyncIterator[SlackBot]:
    for team in (TEAM_A, TEAM_B):
        add_people(slack, team=team, suffix=team[1])
    admins = frozenset({user(ADMIN, TEAM_A), user(ADMIN, TEAM_B)})
    async with running_bot(
        database_url,
        slack,
        slack_bot_token=None,
        slack_client_id="111.222",
        slack_client_secret="client-secret",
        pmo_admins=admins,
        pmo_alert_channel=None,
    ) as bot:
        yield bot


async def install(bot: SlackBot, team: str, token: str, code: str) -> int:
    """The browser's round trip: the install page, Slack's consent (faked), the redirect back."""
    bot.slack.add_oauth_code(
        code,
        team_id=team,
        bot_token=token,
        team_name=f"Team {team[1]}",
        client_id="111.222",
        client_secret="client-secret",
    )
    async with bot.http.get(bot.url + "/slack/install") as page:
        assert page.status == 200
        html = await page.text()
        cookie = page.headers["Set-Cookie"].split(";")[0]
    link = re.search(r'href="([^"]+oauth/v2/authorize[^"]+)"', html)
    assert link is not None, html
    authorize = urlparse(link.group(1).replace("&amp;", "&"))
    assert authorize.netloc == urlparse(bot.slack.url).netloc  # next to SLACK_API_URL
    query = parse_qs(authorize.query)
    assert query["client_id"] == ["111.222"] and "commands" in query["scope"][0]
    state = query["state"][0]
    async with bot.http.get(
        bot.url + "/slack/oauth_redirect", params={"code": code, "state": state}, headers={"Cookie": cookie}
    ) as done:
        return done.status


async def setup_workspace(bot: SlackBot, team: str) -> None:
    reply = await bot.command(f"staff add <@{user(STAFF, team)}>", user(ADMIN, team), team=team)
    assert "is now PMO staff" in reply["text"], reply["text"]
    reply = await bot.command(
        f"project add Project {team[1]} sponsor:<@{user(SPONSOR, team)}>", user(STAFF, team), team=team
    )
    assert "added" in reply["text"], reply["text"]


async def test_an_install_stores_the_token_and_opens_the_organisation(multi: SlackBot) -> None:
    assert await install(multi, TEAM_A, "xoxb-team-a", "code-a") == 200
    [bot_row] = await rows(multi, SlackBotRow)
    [installation] = await rows(multi, SlackInstallation)
    assert (bot_row.team_id, bot_row.bot_token, installation.client_id) == (TEAM_A, "xoxb-team-a", "111.222")
    orgs = {o.key: o for o in await rows(multi, Organisation)}
    assert orgs[f"slack:{TEAM_A}"].name == "Team A" and orgs[f"slack:{TEAM_A}"].suspended_at is None


async def test_a_callback_without_the_browsers_state_is_refused(multi: SlackBot) -> None:
    multi.slack.add_oauth_code("code-x", team_id=TEAM_A, bot_token="xoxb-team-a")
    async with multi.http.get(
        multi.url + "/slack/oauth_redirect", params={"code": "code-x", "state": "forged"}
    ) as done:
        assert done.status in (400, 401)
    assert await rows(multi, SlackBotRow) == []
    assert multi.slack.called("oauth.v2.access") == []


async def test_two_workspaces_see_only_their_own_data(multi: SlackBot) -> None:
    for team, token, code in ((TEAM_A, "xoxb-team-a", "code-a"), (TEAM_B, "xoxb-team-b", "code-b")):
        assert await install(multi, team, token, code) == 200
        await setup_workspace(multi, team)
    listing_a = await multi.command("project list", user(STAFF, TEAM_A), team=TEAM_A)
    listing_b = await multi.command("project list", user(STAFF, TEAM_B), team=TEAM_B)
    assert "Project A" in listing_a["text"] and "Project B" not in listing_a["text"]
    assert "Project B" in listing_b["text"] and "Project A" not in listing_b["text"]
    # A's check-in goes out with A's token to A's sponsor; the answer shows only in A's reports
    reply = await multi.command("checkin Project A", user(STAFF, TEAM_A), team=TEAM_A)
    assert "Sent the taste check-in" in reply["text"]
    [post] = multi.slack.called("chat.postMessage")
    assert (post.token, post.args["channel"]) == ("xoxb-team-a", user(SPONSOR, TEAM_A))
    [message] = multi.dm(user(SPONSOR, TEAM_A))
    await multi.click(
        "taste_2",
        '{"checkin":1,"rating":2}',
        user(SPONSOR, TEAM_A),
        channel=message.channel,
        ts=message.ts,
        team=TEAM_A,
    )
    await multi.slack.wait_for("chat.update")
    value_a = await multi.command("value", user(STAFF, TEAM_A), team=TEAM_A)
    value_b = await multi.command("value", user(STAFF, TEAM_B), team=TEAM_B)
    assert "*Responses*\n1" in multi.text_of(value_a["blocks"])
    assert "*Responses*\n0" in multi.text_of(value_b["blocks"])
    # B cannot see or answer A's project by name or by check-in id
    assert (
        "no project named 'Project A'"
        in (await multi.command("value Project A", user(STAFF, TEAM_B), team=TEAM_B))["text"]
    )
    key = await multi.click("taste_5", '{"checkin":1,"rating":5}', user(SPONSOR, TEAM_B), team=TEAM_B)
    assert "does not exist" in (await multi.slack.wait_for_response(key))["text"]
    # the people of each workspace belong to its own organisation
    orgs = {o.key: o.id for o in await rows(multi, Organisation)}
    for team in (TEAM_A, TEAM_B):
        [identity] = await rows(multi, Identity, Identity.external_id == user(SPONSOR, team))
        assert identity.org_id == orgs[f"slack:{team}"]
    assert all(p.org_id != multi.runtime.org_id for p in await rows(multi, Person))


async def test_uninstalling_one_workspace_leaves_the_other(multi: SlackBot) -> None:
    for team, token, code in ((TEAM_A, "xoxb-team-a", "code-a"), (TEAM_B, "xoxb-team-b", "code-b")):
        await install(multi, team, token, code)
        await setup_workspace(multi, team)
    assert await multi.event({"type": "app_uninstalled"}, team=TEAM_A) == 200

    async def a_is_gone() -> bool:
        return [b.team_id for b in await rows(multi, SlackBotRow)] == [TEAM_B]

    await eventually(a_is_gone)
    assert [i.team_id for i in await rows(multi, SlackInstallation)] == [TEAM_B]
    orgs = {o.key: o for o in await rows(multi, Organisation)}
    assert orgs[f"slack:{TEAM_A}"].suspended_at is not None and orgs[f"slack:{TEAM_B}"].suspended_at is None
    sponsors = {
        team: (await rows(multi, Identity, Identity.external_id == user(SPONSOR, team)))[0]
        for team in (TEAM_A, TEAM_B)
    }
    messenger = multi.runtime.services.messenger
    with pytest.raises(DeliveryFailed) as failed:
        await messenger.send_direct(orgs[f"slack:{TEAM_A}"].id, sponsors[TEAM_A].person_id, View(text="x"))
    assert failed.value.permanent
    ref = await messenger.send_direct(
        orgs[f"slack:{TEAM_B}"].id, sponsors[TEAM_B].person_id, View(text="still here")
    )
    assert ref["platform"] == "slack"
    assert multi.slack.called("chat.postMessage")[-1].token == "xoxb-team-b"
    # installing again reopens the workspace
    assert await install(multi, TEAM_A, "xoxb-team-a2", "code-a2") == 200
    [reopened] = await rows(multi, Organisation, Organisation.key == f"slack:{TEAM_A}")
    assert reopened.suspended_at is None
    await messenger.send_direct(reopened.id, sponsors[TEAM_A].person_id, View(text="back"))
    assert multi.slack.called("chat.postMessage")[-1].token == "xoxb-team-a2"


async def test_a_workspace_that_never_installed_is_not_served(multi: SlackBot) -> None:
    multi.slack.add_workspace(TEAM_A, "xoxb-team-a")
    reply = await multi.command("help", user(ADMIN, TEAM_A), team=TEAM_A, wait=False)
    assert isinstance(reply, str)
    assert await rows(multi, Person) == []
