"""The Bolt `AsyncApp` and its place on the shared aiohttp server.

Three ways to run, chosen by the settings (bot.config.Settings.slack_mode):

- "http": one workspace, SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET, Slack posts to POST /slack/events;
- "socket": one workspace over Socket Mode (SLACK_APP_TOKEN), for hosts Slack cannot reach;
  POST /slack/events is still served when a signing secret is set;
- "oauth": many workspaces (SLACK_CLIENT_ID/SECRET), installed through GET /slack/install and
  GET /slack/oauth_redirect, tokens in the installation store (bot/slack/workspaces.py).

Every request to POST /slack/events is verified here, on its raw bytes, before anything of it is
parsed: a v0 HMAC-SHA256 signature under the signing secret over `v0:{timestamp}:{body}`, with a
timestamp of whole seconds at most five minutes away. Anything else gets 401 and one short log
line with the reason (never the body, never a header's value). A verified body whose shape Bolt
could not work with gets 400 (bot/slack/shapes.py); only what passes both reaches Bolt, whose own
verification stays on behind ours. Bolt's own loggers never write a request body (BoltBodyFilter).
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from hashlib import sha256
from typing import Any
from urllib.parse import urljoin

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.config import Settings
from bot.logs import new_request_id, requesting
from bot.metrics import Metrics
from bot.slack import shapes
from bot.slack.clients import ClientPool
from bot.slack.workspaces import Workspaces
from bot.work import Acknowledgements

log = logging.getLogger(__name__)

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
    so that the work behind earlier acknowledgements waits for them (bot/work.py)."""

    def __init__(self, acks: Acknowledgements, **kwargs: Any) -> None:
        # Listeners only record their work in the inbox (bot/work.py) before they return, so Bolt
        # may wait for them: the acknowledgement then follows the commit, never precedes it.
        # Bolt's own signature check is off: every request reaching it was verified on its raw
        # body first (`_verified_bolt_request`, below), with the same secret; Socket Mode has none.
        super().__init__(process_before_response=True, request_verification_enabled=False, **kwargs)
        self.acks = acks
        self.metrics: Metrics | None = None  # set by the platform: Socket Mode's acks are timed here

    @property
    def signing_secret(self) -> str:
        """The secret every request to POST /slack/events is verified with ("" when unset)."""
        return self._signing_secret or ""

    async def async_dispatch(self, req: AsyncBoltRequest) -> BoltResponse:
        if req.mode != "socket_mode" or self.metrics is None:  # over HTTP the web server times it
            with self.acks.handling():
                return await super().async_dispatch(req)
        with requesting(new_request_id()), self.acks.handling():
            with self.metrics.handling("slack", "socket", "socket_mode", ack=True) as seen:
                response = await super().async_dispatch(req)
                seen.status = response.status
            return response


# --- what Bolt logs -------------------------------------------------------------------------

# The framework logger Bolt would make for itself; given to the app as its base logger, so that
# every logger Bolt derives from it (middleware, listeners) copies its level and filter. It is also
# the app's `name`: Bolt sets the level, handlers and filters of the logger its app is named after,
# and an app named "pmo" set them on the bot's own logger (a command line's WARNING then silenced
# every pmo.* INFO line of a later Slack process in the same interpreter).
BOLT_LOGGER = "slack_bolt.AsyncApp"


class BoltBodyFilter(logging.Filter):
    """Rewrites Bolt's log lines that would carry a request (or response) body to say without it.

    Bolt writes the body of a request with a bad signature at INFO, what it could not route at
    WARNING (with the fields of the body), and bodies at DEBUG; none of that is ever written.
    """

    _RULES = (
        (
            re.compile(r"Invalid request signature detected"),
            "Invalid request signature detected (details not logged)",
        ),
        (
            re.compile(r"(A global middleware .*? without providing a response)"),
            r"\1 (the request is not logged)",
        ),
        (
            re.compile(r"Unhandled request \(\{'type': ('[\w.:-]*'|None)"),
            r"Unhandled request of type \1 (the body is not logged)",
        ),
        (re.compile(r"Unhandled request"), "Unhandled request (the body is not logged)"),
        (re.compile(r"Skipped self event"), "Skipped self event (not logged)"),
        (
            re.compile(r"Responding with status: (\d+) body: .*\((\d+) millis\)$", re.DOTALL),
            r"Responding with status: \1 (\2 millis)",
        ),
    )

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record we cannot read is rewritten, not passed on
            message = str(record.msg)
        for pattern, replacement in self._RULES:
            if found := pattern.match(message):
                record.msg, record.args = found.expand(replacement), None
                break
        return True


_BODY_FILTER = BoltBodyFilter()


def bolt_logger() -> logging.Logger:
    """Bolt's base logger: the root logger's level as Bolt would take it, but never below INFO
    (Bolt's DEBUG lines are bodies), and the filter that keeps bodies out of the rest."""
    logger = logging.getLogger(BOLT_LOGGER)
    logger.setLevel(max(logging.getLogger().getEffectiveLevel(), logging.INFO))
    logger.addFilter(_BODY_FILTER)  # a no-op when it is already there
    return logger


def build_bolt_app(
    settings: Settings, pool: ClientPool, workspaces: Workspaces, acks: Acknowledgements
) -> PmoBoltApp:
    signing = settings.slack_signing_secret.reveal() if settings.slack_signing_secret else ""
    if settings.slack_mode == "oauth":
        client = pool.client(None)
        assert settings.slack_client_id and settings.slack_client_secret and workspaces.store is not None
        return PmoBoltApp(
            acks,
            name=BOLT_LOGGER,  # Bolt sets up the logger it names: never ours ("pmo")
            signing_secret=signing,
            logger=bolt_logger(),
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
        acks,
        name=BOLT_LOGGER,  # Bolt sets up the logger it names: never ours ("pmo")
        signing_secret=signing,
        logger=bolt_logger(),
        client=pool.client(settings.slack_bot_token.reveal()),
    )


# --- POST /slack/events: the signature first ----------------------------------------------

MAX_AGE = 5 * 60  # seconds a signed request stays valid, either way of our clock (Slack's rule)
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"
# ASCII digits only: int() and str.isdigit() also take other scripts' digits.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


def header_problem(secret: str, timestamp: str | None, signature: str | None, now: float) -> str | None:
    """Why the signature headers alone already fail (so the body need not even be read), or None."""
    if not secret:
        return "no signing secret is configured"
    if timestamp is None or signature is None:
        return "the signature or its timestamp is missing"
    if not _TIMESTAMP.fullmatch(timestamp):
        return "the timestamp is not a whole number of seconds"
    if abs(now - int(timestamp)) > MAX_AGE:
        return "the timestamp is more than five minutes away"
    if not _SIGNATURE.fullmatch(signature):
        return "the signature is not of the form v0=<64 hex digits>"
    return None


def signature_matches(secret: str, timestamp: str, signature: str, raw: bytes) -> bool:
    """`signature` is v0= + HMAC-SHA256 of `v0:{timestamp}:{raw}` under `secret` (constant-time)."""
    base = b"v0:" + timestamp.encode() + b":" + raw
    expected = "v0=" + hmac.new(secret.encode(), base, sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode())


def _refused(status: int, reason: str) -> web.Response:
    log.info("Slack request refused (%d): %s", status, reason)
    return web.Response(status=status, text="invalid signature" if status == 401 else "malformed request")


async def _verified_bolt_request(request: web.Request, secret: str) -> AsyncBoltRequest | web.Response:
    """The request for Bolt once its signature and shape are good, else the 401 or 400 to answer."""
    timestamp = request.headers.get(TIMESTAMP_HEADER)
    signature = request.headers.get(SIGNATURE_HEADER)
    reason = header_problem(secret, timestamp, signature, time.time())
    if reason is not None:
        return _refused(401, reason)
    assert timestamp is not None and signature is not None
    raw = await request.read()
    if not signature_matches(secret, timestamp, signature, raw):
        return _refused(401, "the signature does not match the body")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _refused(400, "the body is not UTF-8")
    body = shapes.checked(text, shapes.content_type_of(request.headers.get("Content-Type")))
    if isinstance(body, str):
        return _refused(400, body)
    bolt_request = AsyncBoltRequest(
        body="",  # parsed above already: Bolt's own parse of the same text would be a second one
        query=request.query_string,
        headers=request.headers,  # type: ignore[arg-type]  # as Bolt's aiohttp adapter passes them
    )
    bolt_request.raw_body, bolt_request.body = text, body
    bolt_request.context = build_async_context(AsyncBoltContext({}), body)
    return bolt_request


def add_bolt_routes(app: web.Application, bolt: PmoBoltApp, *, events: bool = True) -> None:
    """POST /slack/events (when Slack posts to us), and the OAuth pages when OAuth is on."""

    async def handle_events(request: web.Request) -> web.Response:
        verified = await _verified_bolt_request(request, bolt.signing_secret)
        if isinstance(verified, web.Response):
            return verified
        return await to_aiohttp_response(await bolt.async_dispatch(verified))

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
