"""The Bolt `AsyncApp` and its place on the shared aiohttp server.

Three ways to run, chosen by the settings (bot.config.Settings.slack_mode):

- "http": one workspace, SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET, Slack posts to POST /slack/events;
- "socket": one workspace over Socket Mode (SLACK_APP_TOKEN), for hosts Slack cannot reach;
  POST /slack/events is still served when a signing secret is set;
- "oauth": many workspaces (SLACK_CLIENT_ID/SECRET), installed through GET /slack/install and
  GET /slack/oauth_redirect, tokens in the installation store (bot/slack/workspaces.py).

Every request to /slack/events is verified by Bolt (v0 HMAC-SHA256 signature, at most five
minutes old); anything else gets 401 before a listener runs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.config import Settings
from bot.slack.clients import ClientPool
from bot.work import Acknowledgements
from bot.slack.workspaces import Workspaces

EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"

# The bot scopes of manifest.yml; docs/slack.md says why each is needed.
BOT_SCOPES = (
    "commands",
    "chat:write",
    "im:history",
    "users:read",
    "users:read.email",
    "files:write",
)


def authorization_url(api_url: str) -> str:
    """Where the install page sends people: next to the Web API (slack.com, slack-gov.com…)."""
    base = api_url[: -len("api/")] if api_url.endswith("/api/") else urljoin(api_url, "/")
    return urljoin(base, "oauth/v2/authorize")


class PmoBoltApp(AsyncApp):
    """Bolt's AsyncApp, counting the requests it is acknowledging (over HTTP and Socket Mode alike),
    so that the work behind earlier acknowledgements waits for them (bot/slack/work.py)."""

    def __init__(self, acks: Acknowledgements, **kwargs: Any) -> None:
        # Listeners only record their work in the inbox (bot/work.py) before they return, so Bolt
        # may wait for them: the acknowledgement then follows the commit, never precedes it.
        super().__init__(process_before_response=True, **kwargs)
        self.acks = acks

    async def async_dispatch(self, req: AsyncBoltRequest) -> BoltResponse:
        with self.acks.handling():
            return await super().async_dispatch(req)


def build_bolt_app(
    settings: Settings, pool: ClientPool, workspaces: Workspaces, acks: Acknowledgements
) -> PmoBoltApp:
    signing = settings.slack_signing_secret.reveal() if settings.slack_signing_secret else ""
    if settings.slack_mode == "oauth":
        client = pool.client(None)
        assert settings.slack_client_id and settings.slack_client_secret and workspaces.store is not None
        return PmoBoltApp(
            acks,
            name="pmo",
            signing_secret=signing,
            client=client,
            installation_store=workspaces.store,
            oauth_settings=AsyncOAuthSettings(
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret.reveal(),
                scopes=list(BOT_SCOPES),
                installation_store=workspaces.store,
                state_store=workspaces.state_store,
                install_path=INSTALL_PATH,
                redirect_uri_path=REDIRECT_PATH,
                authorization_url=authorization_url(settings.slack_api_url),
            ),
        )
    assert settings.slack_bot_token is not None
    # The client carries the token (Bolt takes it from there) and the retry handlers and base URL.
    return PmoBoltApp(
        acks, name="pmo", signing_secret=signing, client=pool.client(settings.slack_bot_token.reveal())
    )


def add_bolt_routes(app: web.Application, bolt: AsyncApp, *, events: bool = True) -> None:
    """POST /slack/events (when Slack posts to us), and the OAuth pages when OAuth is on."""

    async def handle_events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    if events:
        app.router.add_post(EVENTS_PATH, handle_events)
    flow = bolt.oauth_flow
    if flow is not None:

        async def install(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await flow.handle_installation(await to_bolt_request(request)))

        async def callback(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

        app.router.add_get(flow.install_path, install)
        app.router.add_get(flow.redirect_uri_path, callback)
