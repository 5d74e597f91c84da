"""The local console's JSON API, over HTTP, against a real migrated database.

Staff run commands, the sponsor finds the check-in in their inbox and answers it with the same
buttons and forms the page shows; bad requests get a 400 with a reason and change nothing.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.config import load_settings
from bot.local.console import MAX_BODY
from bot.runtime import Runtime, start
from bot.web import build_app
from storage.models import Answer, Checkin, LocalMessage, PainPoint, Person, Project
from storage.queries import add_person, get_or_create_org

API = "/console/api"
SAM = "sam@example.com"


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    rt = await start(load_settings(environ={"DATABASE_URL": database_url}, env_file=None))
    yield rt
    await rt.aclose()


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_app(runtime), host="127.0.0.1")) as c:
        yield c


# ---- helpers: what the page does ----------------------------------------------------------------


async def ok_json(response: Any, status: int = 200) -> Any:
    assert response.status == status, await response.text()
    return await response.json()


async def people(client: TestClient) -> dict[str, dict[str, Any]]:
    data = await ok_json(await client.get(f"{API}/people"))
    return {p["name"]: p for p in data["people"]}


async def admin_id(client: TestClient) -> int:
    return (await people(client))["Console admin"]["id"]


async def command(client: TestClient, person: int, text: str, channel: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"person": person, "text": text}
    if channel is not None:
        body["channel"] = channel
    return (await ok_json(await client.post(f"{API}/command", json=body)))["view"]


async def act(
    client: TestClient,
    person: int,
    action: str,
    payload: dict[str, Any],
    values: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"person": person, "action": action, "payload": payload}
    if values is not None:
        body["values"] = values
    return (await ok_json(await client.post(f"{API}/act", json=body)))["view"]


async def inbox(client: TestClient, person: int) -> list[dict[str, Any]]:
    return (await ok_json(await client.get(f"{API}/inbox", params={"person": str(person)})))["messages"]


async def apollo_with_checkin(client: TestClient) -> tuple[int, int, dict[str, Any]]:
    """Staff add Apollo with Sam as sponsor and send the check-in: (admin, sam, Sam's message)."""
    admin = await admin_id(client)
    added = await command(client, admin, f"project add Apollo sponsor:{SAM}")
    assert added["ok"], added
    sent = await command(client, admin, "checkin Apollo")
    assert sent["ok"] and "Sent the taste check-in for Apollo" in sent["text"], sent
    sam = (await people(client))["Sam"]["id"]
    messages = await inbox(client, sam)
    assert len(messages) == 1
    return admin, sam, messages[0]


async def counts(runtime: Runtime) -> dict[str, Any]:
    """Everything a console request could change, to show that a refused one changed nothing."""
    async with runtime.db.transaction() as session:
        result: dict[str, Any] = {}
        for model in (Person, Project, Checkin, Answer, PainPoint, LocalMessage):
            result[model.__tablename__] = await session.scalar(select(func.count()).select_from(model))
        result["ratings"] = list(await session.scalars(select(Checkin.rating).order_by(Checkin.id)))
        result["views"] = [
            json.dumps(v, sort_keys=True) for v in await session.scalars(select(LocalMessage.view))
        ]
    return result


# ---- the page ----------------------------------------------------------------------------------------


async def test_the_page_and_its_files_are_served(client: TestClient) -> None:
    page = await client.get("/")
    assert page.status == 200
    html = await page.text()
    assert "Who are you?" in html and "/console/static/console.js" in html
    assert "http://" not in html and "https://" not in html  # nothing from the internet
    for name, kind in (("console.js", "javascript"), ("console.css", "css")):
        response = await client.get(f"/console/static/{name}")
        assert response.status == 200
        assert kind in response.headers["Content-Type"]


async def test_not_served_when_a_platform_is_configured(runtime: Runtime) -> None:
    async with TestClient(TestServer(build_app(runtime, console=False))) as c:
        assert (await c.get("/")).status == 404
        assert (await c.get(f"{API}/people")).status == 404


# ---- people ----------------------------------------------------------------------------------------------


async def test_a_fresh_database_gets_the_console_admin_once(client: TestClient, runtime: Runtime) -> None:
    first = await people(client)
    assert list(first) == ["Console admin"]
    assert first["Console admin"]["role"] == "admin"
    assert first["Console admin"]["sponsor"] is False
    again = await people(client)
    assert again == first
    async with TestClient(TestServer(build_app(runtime))) as other:  # a restart finds the same admin
        assert await people(other) == first


async def test_people_show_who_sponsors(client: TestClient) -> None:
    await apollo_with_checkin(client)
    found = await people(client)
    assert found["Sam"] == {
        "id": found["Sam"]["id"],
        "name": "Sam",
        "email": SAM,
        "role": "member",
        "sponsor": True,
    }
    assert found["Console admin"]["sponsor"] is False


async def test_add_yourself(client: TestClient) -> None:
    response = await client.post(f"{API}/people", json={"name": "  Kim   Lee ", "email": "Kim@Example.com"})
    created = (await ok_json(response, 201))["person"]
    assert (
        created["name"] == "Kim Lee" and created["email"] == "kim@example.com" and created["role"] == "member"
    )
    assert (await people(client))["Kim Lee"]["id"] == created["id"]
    help_view = await command(client, created["id"], "help")
    assert help_view["ok"] and "project add" not in json.dumps(help_view)  # a member is not staff
    admin = await admin_id(client)
    assert (await command(client, admin, "staff add kim@example.com"))["ok"]
    assert (await people(client))["Kim Lee"]["role"] == "staff"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"name": "Kim", "email": "not-an-address"}, "is not an e-mail address"),
        ({"name": "   ", "email": "kim@example.com"}, "name is empty"),
        ({"email": "kim@example.com"}, "name is empty"),
        ({"name": "Kim", "email": 7}, "email must be text"),
        ({"name": "K" * 201, "email": "kim@example.com"}, "longer than 200"),
        ({"name": "Sam again", "email": "SAM@example.com"}, "already has the e-mail"),
    ],
)
async def test_add_yourself_refuses_bad_input(
    client: TestClient, runtime: Runtime, body: dict[str, Any], reason: str
) -> None:
    await apollo_with_checkin(client)
    before = await counts(runtime)
    response = await client.post(f"{API}/people", json=body)
    assert response.status == 400
    assert reason in (await response.json())["error"]
    assert await counts(runtime) == before


# ---- staff commands and the sponsor's inbox -----------------------------------------------------------------


async def test_staff_command_sends_the_checkin_to_the_sponsors_inbox(client: TestClient) -> None:
    admin, _, message = await apollo_with_checkin(client)
    view = message["view"]
    assert view["title"] == "How does *Apollo* taste?"
    assert [c["label"] for c in view["choices"]] == [
        "😋 Delicious",
        "🙂 Tasty",
        "😐 Bland",
        "😕 Off",
        "🤢 Sour",
    ]
    assert all(c["style"] is None for c in view["choices"])
    assert message["created_at"].endswith("Z") and message["updated_at"] == message["created_at"]
    assert await inbox(client, admin) == []  # the command's answer is not a DM


async def test_a_command_refused_to_a_sponsor_changes_nothing(client: TestClient, runtime: Runtime) -> None:
    _, sam, _ = await apollo_with_checkin(client)
    before = await counts(runtime)
    view = await command(client, sam, "project add Zeus sponsor:zed@example.com")
    assert view["ok"] is False and "for PMO staff only" in view["text"]
    assert await counts(runtime) == before


async def test_a_taste_click_updates_the_same_message_and_alerts_the_admins(client: TestClient) -> None:
    admin, sam, message = await apollo_with_checkin(client)
    sour = next(c for c in message["view"]["choices"] if c["label"] == "🤢 Sour")
    view = await act(client, sam, sour["action"], sour["payload"])
    assert view["ok"] and "Your answer: 🤢 Sour" in view["text"]
    [updated] = await inbox(client, sam)
    assert updated["id"] == message["id"] and updated["created_at"] == message["created_at"]
    assert updated["view"] == view
    chosen = [c["label"] for c in updated["view"]["choices"] if c["style"] == "primary"]
    assert chosen == ["🤢 Sour"]
    assert updated["view"]["form"]["fields"][0]["label"] == "What would make it taste better?"
    [alert] = await inbox(client, admin)  # no alert channel yet: admins hear it by DM
    assert alert["view"]["title"] == "🤢 Sour: *Apollo*"

    tasty = next(c for c in message["view"]["choices"] if c["label"] == "🙂 Tasty")
    await act(client, sam, tasty["action"], tasty["payload"])
    [changed] = await inbox(client, sam)
    assert changed["id"] == message["id"]
    assert [c["label"] for c in changed["view"]["choices"] if c["style"] == "primary"] == ["🙂 Tasty"]


async def test_a_comment_shows_on_the_checkin(client: TestClient) -> None:
    admin, sam, message = await apollo_with_checkin(client)
    payload = message["view"]["choices"][-1]["payload"]
    await act(client, sam, "taste_1", payload)
    form = (await inbox(client, sam))[0]["view"]["form"]
    view = await act(client, sam, form["action"], form["payload"], {"comment": "  The demo  keeps slipping "})
    assert view["ok"] and view["lines"] == ["You said: “The demo keeps slipping”"]
    [updated] = await inbox(client, sam)
    assert updated["id"] == message["id"] and updated["view"] == view
    alerts = await inbox(client, admin)
    assert alerts[-1]["view"]["title"] == "🤢 Sour: *Apollo* (comment added)"

    report = await command(client, admin, "value")
    facts = {f["label"]: f["value"] for section in report["sections"] for f in section["facts"]}
    assert facts["Responses"] == "1"
    assert facts["Satisfaction (CSAT)"].startswith("0.0%")
    assert report["chart"]  # the PNG, base64


async def test_the_pain_point_form(client: TestClient) -> None:
    admin, sam, _ = await apollo_with_checkin(client)
    assert (await command(client, admin, "ask Apollo"))["ok"]
    prompt = (await inbox(client, sam))[-1]
    form = prompt["view"]["form"]
    assert [f["name"] for f in form["fields"]] == ["text", "impact"]
    assert [o[0] for o in form["fields"][1]["options"]] == ["1", "2", "3", "4", "5"]
    opened = await act(client, sam, "painpoint_open", prompt["view"]["choices"][0]["payload"])
    assert opened["form"]["action"] == "painpoint"

    view = await act(
        client, sam, form["action"], form["payload"], {"text": "Vendor contract unsigned", "impact": "5"}
    )
    assert view["ok"] and "Pain point #" in view["text"]
    updated = (await inbox(client, sam))[-1]
    assert updated["id"] == prompt["id"] and "the PMO has it" in updated["view"]["text"]
    assert (await inbox(client, admin))[-1]["view"]["title"].startswith("🌙 Pain point #")
    listing = await command(client, admin, "painpoints")
    assert "Vendor contract unsigned" in json.dumps(listing, ensure_ascii=False)


async def test_a_plain_message_answers_the_open_prompt(client: TestClient, runtime: Runtime) -> None:
    admin, sam, _ = await apollo_with_checkin(client)
    await command(client, admin, "ask Apollo")
    response = await client.post(
        f"{API}/message", json={"person": sam, "text": "Nobody owns the data migration"}
    )
    view = (await ok_json(response))["view"]
    assert view["ok"] and "impact 3 of 5" in view["text"]
    async with runtime.db.transaction() as session:
        texts = list(await session.scalars(select(PainPoint.text)))
    assert texts == ["Nobody owns the data migration"]
    command_by_message = await ok_json(
        await client.post(f"{API}/message", json={"person": sam, "text": "help"})
    )
    assert command_by_message["view"]["title"] == "What you can ask the PMO bot"


async def test_alerts_here_from_a_console_channel(client: TestClient) -> None:
    admin, sam, message = await apollo_with_checkin(client)
    assert (await ok_json(await client.get(f"{API}/channels")))["channels"] == []
    view = await command(client, admin, "alerts here", channel="#pmo-alerts")
    assert view["ok"], view
    await act(client, sam, "taste_2", message["view"]["choices"][3]["payload"])
    channels = (await ok_json(await client.get(f"{API}/channels")))["channels"]
    assert [(c["name"], c["messages"]) for c in channels] == [("#pmo-alerts", 1)]
    posts = await ok_json(await client.get(f"{API}/channel", params={"name": "#pmo-alerts"}))
    assert posts["messages"][0]["view"]["title"] == "😕 Off: *Apollo*"
    assert await inbox(client, admin) == []  # the channel has it now, not the admins' DMs


async def test_the_digest_shows_in_the_console_channel_view(client: TestClient) -> None:
    admin, _, _ = await apollo_with_checkin(client)
    here = await command(client, admin, "digest here weekly", channel="#leaders")
    assert here["ok"] and "this channel" in here["text"], here
    sent = await command(client, admin, "digest now")
    assert sent["ok"] and sent["text"] == "Sent the value digest to 1 recipient.", sent
    channels = (await ok_json(await client.get(f"{API}/channels")))["channels"]
    assert [(c["name"], c["messages"]) for c in channels] == [("#leaders", 1)]
    [post] = (await ok_json(await client.get(f"{API}/channel", params={"name": "#leaders"})))["messages"]
    assert post["view"]["title"] == "PMO value digest — last 7 days"
    assert post["view"]["chart"] and "CSAT by month" in post["view"]["chart_alt"]
    assert "The full report: /pmo value (staff also see the comments)." in post["view"]["lines"]
    assert await inbox(client, admin) == []  # the channel has it, nobody's direct messages


async def test_someone_elses_checkin_cannot_be_answered(client: TestClient, runtime: Runtime) -> None:
    admin, _, message = await apollo_with_checkin(client)
    before = await counts(runtime)
    view = await act(client, admin, "taste_5", message["view"]["choices"][0]["payload"])
    assert view["ok"] is False and "sent to someone else" in view["text"]
    assert await counts(runtime) == before


# ---- bad requests ---------------------------------------------------------------------------------------------


BAD_REQUESTS: list[tuple[str, Any, str]] = [
    ("command", {"text": "help"}, "person must be the id"),
    ("command", {"person": "abc", "text": "help"}, "person must be the id"),
    ("command", {"person": True, "text": "help"}, "person must be the id"),
    ("command", {"person": 0, "text": "help"}, "person must be the id"),
    ("command", {"person": 2**40, "text": "help"}, "person must be the id"),
    ("command", {"person": 987654, "text": "help"}, "There is no person #987654"),
    ("command", {"person": "ADMIN", "text": ""}, "text is empty"),
    ("command", {"person": "ADMIN", "text": ["help"]}, "text must be text"),
    ("command", {"person": "ADMIN", "text": "x" * 4001}, "longer than 4,000"),
    ("command", {"person": "ADMIN", "text": "alerts here", "channel": "pmo alerts"}, "like #pmo-alerts"),
    ("command", {"person": "ADMIN", "text": "alerts here", "channel": 5}, "like #pmo-alerts"),
    ("act", {"person": "ADMIN", "action": "taste_1", "payload": [1]}, "payload must be a JSON object"),
    ("act", {"person": "ADMIN", "action": "", "payload": {}}, "action is empty"),
    ("act", {"person": "ADMIN", "action": "taste_comment", "payload": {}, "values": "hi"}, "values must be"),
    (
        "act",
        {"person": "ADMIN", "action": "painpoint", "payload": {}, "values": {"text": ["a"]}},
        "must be text",
    ),
    (
        "act",
        {"person": "ADMIN", "action": "painpoint", "payload": {}, "values": {"text": "a" * 5001}},
        "longer",
    ),
    ("message", {"person": "ADMIN", "text": "   "}, "text is empty"),
    ("message", [1, 2], "must be a JSON object"),
]


@pytest.mark.parametrize(("path", "body", "reason"), BAD_REQUESTS)
async def test_bad_requests_are_refused_and_change_nothing(
    client: TestClient, runtime: Runtime, path: str, body: Any, reason: str
) -> None:
    admin = await admin_id(client)
    if isinstance(body, dict) and body.get("person") == "ADMIN":
        body = {**body, "person": admin}
    before = await counts(runtime)
    response = await client.post(f"{API}/{path}", json=body)
    assert response.status == 400
    error = (await response.json())["error"]
    assert reason in error
    assert "Traceback" not in error
    assert await counts(runtime) == before


@pytest.mark.parametrize(
    ("data", "content_type", "reason"),
    [
        ("{not json", "application/json", "not valid JSON"),
        (b"\xff\xfe", "application/json", "not valid JSON"),
        ('{"person": 1, "text": "help"}', "text/plain", "Content-Type: application/json"),
        ("person=1&text=help", "application/x-www-form-urlencoded", "Content-Type: application/json"),
        ('{"person": 1, "text": "' + "x" * MAX_BODY + '"}', "application/json", "larger than 64 KB"),
    ],
)
async def test_bodies_that_are_not_small_json_objects_are_refused(
    client: TestClient, runtime: Runtime, data: str | bytes, content_type: str, reason: str
) -> None:
    await admin_id(client)
    before = await counts(runtime)
    response = await client.post(f"{API}/command", data=data, headers={"Content-Type": content_type})
    assert response.status == 400
    assert reason in (await response.json())["error"]
    assert await counts(runtime) == before


async def test_a_person_of_another_organisation_is_not_anyone_here(
    client: TestClient, runtime: Runtime
) -> None:
    async with runtime.db.transaction() as session:
        other = await get_or_create_org(session, "other-org", "Other PMO")
        stranger = (await add_person(session, other.id, "Stranger", email="x@other.example")).id
    response = await client.post(f"{API}/command", json={"person": stranger, "text": "help"})
    assert response.status == 400
    assert f"There is no person #{stranger}" in (await response.json())["error"]
    names = await people(client)
    assert "Stranger" not in names
    assert (await client.get(f"{API}/inbox", params={"person": str(stranger)})).status == 400


@pytest.mark.parametrize(
    "query",
    ["inbox", "inbox?person=abc", "inbox?person=-1", "inbox?person=99999", "channel", "channel?name=x y"],
)
async def test_bad_queries_are_refused(client: TestClient, query: str) -> None:
    response = await client.get(f"{API}/{query}")
    assert response.status == 400
    assert (await response.json())["error"]


async def test_requests_from_other_sites_are_refused(client: TestClient, runtime: Runtime) -> None:
    admin = await admin_id(client)
    before = await counts(runtime)
    body = {"person": admin, "text": "cost 1"}
    cross_site = await client.post(f"{API}/command", json=body, headers={"Origin": "http://evil.example"})
    assert cross_site.status == 403
    rebound = await client.post(f"{API}/command", json=body, headers={"Host": "evil.example:3000"})
    assert rebound.status == 403
    assert (await client.get(f"{API}/people", headers={"Host": "evil.example"})).status == 403
    assert await counts(runtime) == before
    same_site = await client.post(
        f"{API}/command", json=body, headers={"Origin": str(client.make_url("")).rstrip("/")}
    )
    assert (await ok_json(same_site))["view"]["ok"]


# ---- what is never lost (CONTRACT section 8) -----------------------------------------------------


async def test_an_answer_cut_short_after_it_was_stored_is_shown_by_the_next_process(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import contextlib
    import datetime as dt

    import aiohttp
    from sqlalchemy import update

    from bot.local.channel import LocalChannel
    from bot.work import DurableWork
    from handlers.inbox import Inbox
    from storage.db import utcnow
    from storage.models import InboxJob
    from tests.bot.slack.harness import eventually

    _admin, sam, message = await apollo_with_checkin(client)
    choice = next(c for c in message["view"]["choices"] if c["payload"].get("rating") == 5)

    async def killed(*_args: Any, **_kwargs: Any) -> None:  # the process dies while it shows the answer
        raise asyncio.CancelledError

    monkeypatch.setattr(LocalChannel, "update", killed)
    monkeypatch.setattr(runtime.work.inbox, "finish", lambda _job_id: None)  # no cleanup after a kill
    with contextlib.suppress(aiohttp.ServerDisconnectedError):
        await client.post(
            f"{API}/act", json={"person": sam, "action": choice["action"], "payload": choice["payload"]}
        )
    await runtime.work.stop()
    monkeypatch.undo()
    async with runtime.db.transaction() as session:
        assert (await session.scalar(select(InboxJob.state))) == "applied"
        await session.execute(update(InboxJob).values(lease_until=utcnow() - dt.timedelta(seconds=1)))

    successor = DurableWork(Inbox(runtime.db, owner="web-next"), runtime.services, sweep_every=0.05)
    from bot.local import console

    successor.register(console.RESUME_KIND, console._resumed)
    successor.start()

    async def shown() -> bool:
        [current] = await inbox(client, sam)
        return "Your answer: 😋 Delicious" in json.dumps(current["view"], ensure_ascii=False)

    await eventually(shown, 10)
    await successor.stop()
    assert (await counts(runtime))["answers"] == 1


async def test_a_request_that_cannot_be_recorded_gets_503_and_changes_nothing(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers.inbox import NOT_RECORDED, Unrecorded

    _admin, sam, message = await apollo_with_checkin(client)
    choice = next(c for c in message["view"]["choices"] if c["payload"].get("rating") == 5)
    before = await counts(runtime)

    async def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise Unrecorded("the database did not answer in time")

    monkeypatch.setattr(runtime.work.inbox, "record", refuse)
    response = await client.post(
        f"{API}/act", json={"person": sam, "action": choice["action"], "payload": choice["payload"]}
    )
    assert response.status == 503 and (await response.json())["error"] == NOT_RECORDED
    assert await counts(runtime) == before
