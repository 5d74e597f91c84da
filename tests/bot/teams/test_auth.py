"""Who may post to /api/messages (CONTRACT section 3), checked by the Bot Framework's own validation.

The bot's authentication is pointed at the fake's OpenID metadata through botframework-connector's
own settings: the configuration keys of ConfigurationBotFrameworkAuthentication (the parameterized
path), and, for the public-cloud path a real deployment takes, ChannelValidation's
`open_id_metadata_endpoint`. Validation itself is never skipped.
"""

from __future__ import annotations

import time

import pytest
from botframework.connector.auth import ChannelValidation
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.config import Settings
from bot.runtime import platform_factories, start
from bot.teams.auth import BotFrameworkEndpoints
from bot.teams.platform import TeamsPlatform
from tests.bot.teams.conftest import APP_ID, FAST, TeamsWorld, card_text, make_world, teams_settings
from tests.fakes.bot_connector import FakeBotFramework, TokenSigner


async def test_a_validly_signed_activity_is_served(teams: TeamsWorld) -> None:
    user = teams.user("1", "Mel Member")
    response = await teams.post(teams.message(user, "help"))
    assert response.status in (200, 201)
    assert "help" in card_text(teams.last_card(teams.personal(user)))
    # The answer went out with the bot's own token from the token service.
    assert teams.fake.token_requests and teams.fake.token_requests[0]["client_id"] == APP_ID
    assert all(call.authorization.startswith("Bearer ") for call in teams.fake.connector_calls())


def _bad_tokens(world: TeamsWorld, activity: dict) -> dict[str, str | None]:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = world.signer
    url = activity["serviceUrl"]
    return {
        "missing": None,
        "unsigned": signer.sign(audience=APP_ID, service_url=url, algorithm="none"),
        "expired": signer.sign(audience=APP_ID, service_url=url, issued=time.time() - 7200, lifetime=600),
        "wrong audience": signer.sign(audience="00000000-1111-2222-3333-444444444444", service_url=url),
        "wrong issuer": signer.sign(audience=APP_ID, service_url=url, issuer="https://evil.example"),
        "serviceUrl mismatch": signer.sign(audience=APP_ID, service_url="https://smba.evil.example/amer/"),
        "signed by another key": signer.sign(audience=APP_ID, service_url=url, key=other_key),
        "unknown key id": signer.sign(audience=APP_ID, service_url=url, kid="not-published"),
        "not a JWT": "not-a-token",
    }


async def test_bad_tokens_are_refused_and_change_nothing(teams: TeamsWorld) -> None:
    user = teams.user("2", "Eve Intruder")
    before = await teams.snapshot()
    activity = teams.install(user)
    for name, token in _bad_tokens(teams, activity).items():
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        response = await teams.client.post("/api/messages", json=activity, headers=headers)
        assert response.status == 401, name
        assert "token" in (await response.json())["error"], name
    assert await teams.snapshot() == before
    assert teams.fake.connector_calls() == []


async def test_the_public_cloud_path_validates_against_the_published_keys(
    database_url: str, fake: FakeBotFramework, signer: TokenSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without parameterized settings the bot takes the built-in public-cloud path a real deployment uses."""
    monkeypatch.setattr(ChannelValidation, "open_id_metadata_endpoint", fake.openid_url)
    runtime = await start(
        teams_settings(database_url),
        factories=[
            lambda rt: TeamsPlatform(
                rt, endpoints=BotFrameworkEndpoints(token_url=fake.token_url), retry=FAST
            )
        ],
    )
    from aiohttp.test_utils import TestClient, TestServer

    from bot.web import build_app

    async with TestClient(TestServer(build_app(runtime))) as client:
        world = TeamsWorld(client=client, runtime=runtime, fake=fake, signer=signer)
        user = world.user("3", "Pat Public")
        assert (await world.post(world.message(user, "help"))).status in (200, 201)
        before = await world.snapshot()
        activity = world.install(world.user("4", "Eve Intruder"))
        for name, token in _bad_tokens(world, activity).items():
            if token is None:
                continue
            response = await world.post(activity, token=token)
            assert response.status == 401, name
        assert await world.snapshot() == before
    await runtime.aclose()


async def test_local_mode_accepts_the_emulator_without_a_token(
    database_url: str, fake: FakeBotFramework, signer: TokenSigner
) -> None:
    fake.require_token = False
    settings = Settings(database_url=database_url)
    assert settings.teams_local_unauthenticated
    assert [f.__name__ for f in platform_factories(settings)] == ["TeamsPlatform"]
    runtime = await start(settings, factories=[lambda rt: TeamsPlatform(rt, retry=FAST)])
    from aiohttp.test_utils import TestClient, TestServer

    from bot.web import build_app

    async with TestClient(TestServer(build_app(runtime, console=False))) as client:
        world = TeamsWorld(client=client, runtime=runtime, fake=fake, signer=signer, authenticated=False)
        user = world.user("5", "Emma Emulator")
        activity = world.message(user, "help")
        activity["channelId"] = "emulator"
        response = await world.post(activity)
        assert response.status in (200, 201)
        assert "help" in card_text(world.last_card(world.personal(user)))
        assert all(call.authorization == "" for call in fake.connector_calls())
    await runtime.aclose()


async def test_not_served_anonymously_when_another_platform_is_configured(database_url: str) -> None:
    settings = Settings(database_url=database_url, slack_bot_token="xoxb-1", slack_signing_secret="s")
    assert not settings.teams_enabled and not settings.teams_local_unauthenticated
    runtime = await start(settings, factories=[])
    with pytest.raises(ValueError, match="MICROSOFT_APP_ID"):
        TeamsPlatform(runtime)
    await runtime.aclose()


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ('{"type": "message"}', "application/json", 400),
        ('{"type": "message"}', "text/plain", 415),
    ],
)
async def test_malformed_requests_get_a_clear_answer(
    teams: TeamsWorld, body: str, content_type: str, status: int
) -> None:
    response = await teams.client.post("/api/messages", data=body, headers={"Content-Type": content_type})
    assert response.status == status
    assert (await response.json())["error"]


async def test_another_tenant_is_turned_away(
    database_url: str, fake: FakeBotFramework, signer: TokenSigner
) -> None:
    world, client = await make_world(database_url, fake, signer)
    try:
        stranger = world.user("6", "Oscar Other", tenant="0b7d4c2a-1111-4222-8333-944455556666")
        before = await world.snapshot()
        activity = world.message(stranger, "help")
        activity["conversation"]["tenantId"] = stranger.tenant_id
        activity["channelData"]["tenant"]["id"] = stranger.tenant_id
        await world.say(activity)
        assert "another organisation" in card_text(world.last_card(world.personal(stranger)))
        assert await world.snapshot() == before
    finally:
        await client.close()
        await world.runtime.aclose()


async def test_a_multi_tenant_registration_gives_another_tenant_its_own_organisation(
    database_url: str, fake: FakeBotFramework, signer: TokenSigner
) -> None:
    from sqlalchemy import select

    from storage.models import Organisation, Person

    world, client = await make_world(database_url, fake, signer, microsoft_app_type="MultiTenant")
    try:
        home = await world.installed(world.user("8", "Hana Home"))
        guest = world.user("9", "Gus Guest", tenant=OTHER)
        activity = world.install(guest)
        activity["conversation"]["tenantId"] = OTHER
        activity["channelData"]["tenant"]["id"] = OTHER
        await world.say(activity)
        async with world.runtime.db.sessions() as session:
            orgs = {o.key: o.id for o in await session.scalars(select(Organisation))}
            people = {p.name: p.org_id for p in await session.scalars(select(Person))}
        assert people == {home.name: world.runtime.org_id, guest.name: orgs[f"teams:{OTHER}"]}
    finally:
        await client.close()
        await world.runtime.aclose()


OTHER = "0b7d4c2a-1111-4222-8333-944455556666"
