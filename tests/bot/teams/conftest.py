"""A Teams organisation over real HTTP: the bot's server, a fake Bot Framework, signed activities.

`teams` is the bot as deployed with MICROSOFT_APP_ID (single tenant): every activity posted to
/api/messages carries a token signed by the fake's RSA key, validated by botframework-connector
against the fake's OpenID metadata; the bot answers through the fake connector, with a token from
the fake token service. `TeamsWorld` builds the activities Teams would send.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.runtime import Runtime, start
from bot.teams.auth import BotFrameworkEndpoints
from bot.teams.pacing import Pacer
from bot.teams.platform import TeamsPlatform
from bot.teams.retry import RetryPolicy
from bot.web import build_app
from tests.fakes.bot_connector import ISSUER, FakeBotFramework, TokenSigner, User
from tests.helpers import snapshot

APP_ID = "8c6a2c0e-5f7e-4c1b-9d0a-2b1f3e4d5c6a"
APP_PASSWORD = "test-app-password-0123456789"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "0b7d4c2a-1111-4222-8333-944455556666"
ADMIN_AAD = "aa000000-0000-0000-0000-00000000000a"
TEAM = "19:team-general@thread.tacv2"
CHANNEL = "19:pmo-alerts@thread.tacv2"
FAST = RetryPolicy(attempts=5, base=0.01, cap=0.05)


@pytest.fixture(scope="session")
def signer() -> TokenSigner:
    return TokenSigner()


@pytest.fixture
def fake(signer: TokenSigner) -> Iterator[FakeBotFramework]:
    server = FakeBotFramework(signer, app_id=APP_ID, app_password=APP_PASSWORD, require_token=True).start()
    yield server
    server.stop()


def teams_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "microsoft_app_id": APP_ID,
        "microsoft_app_password": APP_PASSWORD,
        "microsoft_app_type": "SingleTenant",
        "microsoft_app_tenant_id": TENANT,
        "pmo_admins": frozenset({ADMIN_AAD}),
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class TeamsWorld:
    """The bot's HTTP client, the fake Bot Framework, and builders for what Teams posts."""

    client: TestClient
    runtime: Runtime
    fake: FakeBotFramework
    signer: TokenSigner
    authenticated: bool = True
    tenant: str = TENANT
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # people and places ------------------------------------------------------------------------

    def user(
        self,
        key: str,
        name: str,
        *,
        team: str | None = None,
        tenant: str | None = None,
        email: str | None = None,
    ) -> User:
        """A Teams user; their e-mail is their first name at contoso.example unless given."""
        aad = key if len(key) == 36 else f"{key:0>8}-0000-4000-8000-000000000000"
        email = email or f"{name.split()[0].lower()}@contoso.example"
        return self.fake.add_user(aad, name, email, tenant or self.tenant, team)

    @staticmethod
    def personal(user: User) -> str:
        return f"a:personal-{user.aad_id}"

    # activities -------------------------------------------------------------------------------

    def activity(self, kind: str, user: User, conversation: dict[str, Any], **extra: Any) -> dict[str, Any]:
        tenant = conversation.get("tenantId", self.tenant)
        return {
            "type": kind,
            "id": f"act-{next(self._ids)}",
            "timestamp": "2026-03-10T09:00:00.000Z",
            "serviceUrl": self.fake.service_url,
            "channelId": "msteams",
            "from": {"id": user.id, "name": user.name, "aadObjectId": user.aad_id},
            "conversation": conversation,
            "recipient": {"id": f"28:{APP_ID}", "name": "PMO"},
            "channelData": {"tenant": {"id": tenant}, **extra.pop("channelData", {})},
            **extra,
        }

    def personal_conversation(self, user: User) -> dict[str, Any]:
        return {"id": self.personal(user), "conversationType": "personal", "tenantId": self.tenant}

    def channel_conversation(self, channel: str = CHANNEL, thread: str = "1700000000000") -> dict[str, Any]:
        return {
            "id": f"{channel};messageid={thread}",
            "conversationType": "channel",
            "isGroup": True,
            "tenantId": self.tenant,
            "name": "PMO alerts",
        }

    def team_data(self, channel: str = CHANNEL) -> dict[str, Any]:
        return {"team": {"id": TEAM, "name": "PMO"}, "channel": {"id": channel}, "teamsChannelId": channel}

    def message(self, user: User, text: str, *, timezone: str | None = None, **extra: Any) -> dict[str, Any]:
        entities = [{"type": "clientInfo", "locale": "en-GB", "timezone": timezone}] if timezone else []
        return self.activity(
            "message",
            user,
            self.personal_conversation(user),
            text=text,
            textFormat="plain",
            entities=entities,
            **extra,
        )

    def channel_message(self, user: User, text: str, mentioned: tuple[User, ...] = ()) -> dict[str, Any]:
        """`text` with `@PMO` standing for the bot's mention and `@Name` for each mentioned user's."""
        entities = [
            {"type": "mention", "mentioned": {"id": f"28:{APP_ID}", "name": "PMO"}, "text": "<at>PMO</at>"}
        ]
        text = text.replace("@PMO", "<at>PMO</at>")
        for other in mentioned:
            text = text.replace(f"@{other.name}", f"<at>{other.name}</at>")
            entities.append(
                {
                    "type": "mention",
                    "mentioned": {"id": other.id, "name": other.name},
                    "text": f"<at>{other.name}</at>",
                }
            )
        return self.activity(
            "message",
            user,
            self.channel_conversation(),
            text=text,
            entities=entities,
            channelData=self.team_data(),
        )

    def submit(self, user: User, data: dict[str, Any], reply_to: str | None) -> dict[str, Any]:
        return self.activity(
            "message", user, self.personal_conversation(user), value=data, replyToId=reply_to
        )

    def install(self, user: User) -> dict[str, Any]:
        return self.activity("installationUpdate", user, self.personal_conversation(user), action="add")

    def uninstall(self, user: User) -> dict[str, Any]:
        return self.activity("installationUpdate", user, self.personal_conversation(user), action="remove")

    def team_install(self, user: User) -> dict[str, Any]:
        conversation = {"id": TEAM, "conversationType": "channel", "isGroup": True, "tenantId": self.tenant}
        return self.activity(
            "conversationUpdate",
            user,
            conversation,
            membersAdded=[{"id": f"28:{APP_ID}"}],
            channelData={**self.team_data(TEAM), "eventType": "teamMemberAdded"},
        )

    # posting ----------------------------------------------------------------------------------

    def token(self, activity: dict[str, Any], **overrides: Any) -> str:
        claims = {"audience": APP_ID, "service_url": activity["serviceUrl"], **overrides}
        return self.signer.sign(**claims)

    async def post(self, activity: dict[str, Any], *, token: str | None = None, auth: bool = True) -> Any:
        headers = {"Content-Type": "application/json"}
        if self.authenticated and auth:
            headers["Authorization"] = f"Bearer {token or self.token(activity)}"
        return await self.client.post("/api/messages", json=activity, headers=headers)

    async def say(self, activity: dict[str, Any]) -> Any:
        response = await self.post(activity)
        assert response.status in (200, 201), (response.status, await response.text())
        return response

    async def installed(self, user: User) -> User:
        await self.say(self.install(user))
        return user

    # reading ----------------------------------------------------------------------------------

    def last_card(self, conversation: str) -> dict[str, Any]:
        cards = self.fake.cards(conversation)
        assert cards, f"nothing was posted to {conversation}"
        return cards[-1]

    def last_id(self, conversation: str) -> str:
        return self.fake.sent(conversation)[-1]["id"]

    async def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        return await snapshot(self.runtime.db, skip=("processed_events",))


def card_text(card: dict[str, Any]) -> str:
    """Every string a card shows, joined: what a person reads."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("text", "title", "value", "label", "altText") and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card.get("body", []))
    return "\n".join(found)


def buttons(card: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Submit":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return found


async def make_world(
    database_url: str,
    fake: FakeBotFramework,
    signer: TokenSigner,
    *,
    pacer: Pacer | None = None,
    **settings: Any,
) -> tuple[TeamsWorld, TestClient]:
    endpoints = BotFrameworkEndpoints(
        openid_metadata_url=fake.openid_url, token_issuer=ISSUER, token_url=fake.token_url
    )
    runtime = await start(
        teams_settings(database_url, **settings),
        factories=[lambda rt: TeamsPlatform(rt, endpoints=endpoints, retry=FAST, pacer=pacer)],
    )
    client = TestClient(TestServer(build_app(runtime)))
    await client.start_server()
    return TeamsWorld(client=client, runtime=runtime, fake=fake, signer=signer), client


@pytest.fixture
async def teams(database_url: str, fake: FakeBotFramework, signer: TokenSigner) -> AsyncIterator[TeamsWorld]:
    world, client = await make_world(database_url, fake, signer)
    yield world
    await client.close()
    await world.runtime.aclose()
