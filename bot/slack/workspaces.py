"""Slack workspaces and the organisations they are: which token speaks for which organisation.

Single workspace (SLACK_BOT_TOKEN): the workspace is the default organisation and the token
is the configured one. Many workspaces (OAuth): each workspace is the organisation keyed
f"slack:{team_id}", and its bot token lives in slack_sdk's SQLAlchemy installation store, in
the project's database (`slack_installations`, `slack_bots`). slack_sdk 3.47 ships async stores
(`AsyncSQLAlchemyInstallationStore`, `AsyncSQLAlchemyOAuthStateStore`) that run on our async
engine, so nothing blocks the event loop. Whoever sends (the web process, the scheduler) finds
the token through `token_for_org`, so uninstalling a workspace stops every send to it at once.
"""

from __future__ import annotations

import logging
import time

from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from bot.slack.clients import ClientPool
from handlers.i18n import _
from handlers.organisations import is_suspended, reinstate, suspend
from handlers.ports import DeliveryFailed
from storage.db import Database
from storage.models import Organisation, SlackBot
from storage.queries import get_or_create_org

log = logging.getLogger(__name__)

ORG_PREFIX = "slack:"
TOKEN_TTL = 60.0  # seconds a looked-up token (or a suspension) is trusted before asking the database again
STATE_SECONDS = 600
UNINSTALLED = _("the PMO app is not installed in this Slack workspace (any more)")


def org_key(team_id: str) -> str:
    return f"{ORG_PREFIX}{team_id}"


class InstallationStore(AsyncSQLAlchemyInstallationStore):
    """slack_sdk's async SQLAlchemy store; saving an installation also (re)opens its organisation."""

    def __init__(self, client_id: str, db: Database, workspaces: Workspaces) -> None:
        super().__init__(client_id=client_id, engine=db.engine)
        self.db = db
        self.workspaces = workspaces

    async def async_save(self, installation: Installation) -> None:
        if installation.team_id is None:  # an org-wide Enterprise Grid install: one org per workspace only
            raise ValueError("org-wide Enterprise Grid installs are not supported; install per workspace")
        await super().async_save(installation)
        async with self.db.transaction() as session:
            org = await reinstate(session, org_key(installation.team_id), installation.team_name)
            org_id = org.id
        self.workspaces.forget(org_id, installation.team_id)
        log.info("Slack workspace %s installed (organisation %s)", installation.team_id, org_id)


class Workspaces:
    """Maps teams to organisations and organisations to bot tokens, in either mode."""

    def __init__(
        self,
        db: Database,
        pool: ClientPool,
        default_org_id: int,
        *,
        bot_token: str | None = None,
        client_id: str | None = None,
    ) -> None:
        self.db = db
        self.pool = pool
        self.default_org_id = default_org_id
        self.bot_token = bot_token
        self.client_id = client_id
        self.store: InstallationStore | None = None
        self.state_store: AsyncSQLAlchemyOAuthStateStore | None = None
        if client_id:
            self.store = InstallationStore(client_id, db, self)
            self.state_store = AsyncSQLAlchemyOAuthStateStore(
                expiration_seconds=STATE_SECONDS, engine=db.engine
            )
        self._orgs: dict[str, int] = {}
        self._teams: dict[int, str | None] = {}
        self._tokens: dict[int, tuple[str | None, float]] = {}

    @property
    def multi(self) -> bool:
        return self.store is not None

    def forget(self, org_id: int | None = None, team_id: str | None = None) -> None:
        """Drop what is cached about a workspace (after an install or an uninstall)."""
        if org_id is not None:
            self._tokens.pop(org_id, None)
        if team_id is not None:
            self._orgs.pop(team_id, None)

    async def org_for_team(self, team_id: str | None, team_name: str | None = None) -> int:
        """The organisation a request from this workspace acts in."""
        if not self.multi:
            return self.default_org_id
        if not team_id:
            raise ValueError("a request without a team id cannot be placed in a workspace")
        found = self._orgs.get(team_id)
        if found is None:
            async with self.db.transaction() as session:
                org = await get_or_create_org(session, org_key(team_id), team_name or team_id)
                found = org.id
            self._orgs[team_id] = found
            self._teams[found] = team_id
        return found

    async def team_for_org(self, org_id: int) -> str | None:
        if org_id in self._teams:
            return self._teams[org_id]
        async with self.db.transaction() as session:
            key = await session.scalar(select(Organisation.key).where(Organisation.id == org_id))
        team = key[len(ORG_PREFIX) :] if key and key.startswith(ORG_PREFIX) else None
        self._teams[org_id] = team
        return team

    async def token_for_org(self, org_id: int) -> str:
        """The bot token that speaks for the organisation; DeliveryFailed (permanent) when none does."""
        cached = self._tokens.get(org_id)
        if cached is not None and time.monotonic() - cached[1] < TOKEN_TTL:
            token = cached[0]
        else:
            token = await self._lookup(org_id)
            self._tokens[org_id] = (token, time.monotonic())
        if token is None:
            raise DeliveryFailed(UNINSTALLED, permanent=True)
        return token

    async def _lookup(self, org_id: int) -> str | None:
        if not self.multi:
            if org_id != self.default_org_id:
                return None
            async with self.db.transaction() as session:
                return None if await is_suspended(session, org_id) else self.bot_token
        team = await self.team_for_org(org_id)
        if team is None:
            return None
        async with self.db.transaction() as session:
            return await session.scalar(
                select(SlackBot.bot_token)
                .where(
                    SlackBot.client_id == self.client_id,
                    SlackBot.team_id == team,
                    SlackBot.bot_token.is_not(None),
                )
                .order_by(SlackBot.installed_at.desc())
                .limit(1)
            )

    async def client_for_org(self, org_id: int) -> AsyncWebClient:
        return self.pool.client(await self.token_for_org(org_id))

    def token_failed(self, org_id: int) -> None:
        """Slack said the token is dead (revoked, uninstalled): look it up afresh next time."""
        self._tokens.pop(org_id, None)

    async def uninstall(self, team_id: str | None, enterprise_id: str | None = None) -> int | None:
        """Remove the workspace's installation and suspend its organisation; its data stays."""
        if self.multi:
            if not team_id:
                return None
            assert self.store is not None
            await self.store.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)
            org_id = await self.org_for_team(team_id)
        else:
            org_id = self.default_org_id
        async with self.db.transaction() as session:
            await suspend(session, org_id)
        self.forget(org_id, None)
        self._tokens[org_id] = (None, time.monotonic())
        log.info("Slack workspace %s uninstalled: organisation %s suspended", team_id, org_id)
        return org_id

    async def reinstate_default(self) -> None:
        """Single workspace: a token that works again (after reinstalling) lifts the suspension."""
        async with self.db.transaction() as session:
            org = await session.get(Organisation, self.default_org_id)
            if org is not None and org.suspended_at is not None:
                org.suspended_at = None
                log.info("Slack token works again: organisation %s reinstated", org.id)
        self.forget(self.default_org_id)
