"""A fake Bot Framework: the connector Teams runs, its token service and its OpenID metadata.

Why: the bot talks to Teams through botbuilder's real connector client, validates inbound tokens
with botframework-connector's own code, and fetches its outbound token over HTTP. Pointing all of
that at this server tests it over real HTTP with answers we control.

It runs in a thread with its own event loop, because botbuilder makes some of its calls with
blocking `requests` (the OpenID metadata, the bot's token): a server on the test's own loop would
never answer them.

What it serves, on one port (``url``):

- OpenID metadata at ``/v1/.well-known/openidconfiguration`` and its JWKS at ``/v1/.well-known/keys``
  (the public half of `TokenSigner`'s RSA key, endorsed for ``msteams`` and ``emulator``);
- the bot's token service at ``/botframework.com/oauth2/v2.0/token`` (client-credentials grant,
  checks the app id and password, answers `OUTBOUND_TOKEN`);
- the connector under ``service_url`` (``{url}/amer/``): create conversation, send to a conversation,
  reply to an activity, update an activity, get one member (by Teams id, AAD id, e-mail or UPN: what
  `TeamsInfo.get_member` calls) and a team's paged members;
- a OneDrive-like upload URL from `upload_url()` that keeps the PUT file.

With `require_token` set, every connector call must carry ``Bearer OUTBOUND_TOKEN`` (else 401).
Misbehaviour: `fail(status, …)` answers that status to matching connector calls (``times`` of them,
with an optional ``Retry-After``), `block(conversation)` answers 403 there until unblocked.
Every connector call is kept in `calls`; what each conversation shows now is in `shown`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://api.botframework.com"
OUTBOUND_TOKEN = "bot-token-from-the-fake-token-service"


class TokenSigner:
    """Signs Bot Framework tokens with a test RSA key, as the Bot Connector Service signs them."""

    def __init__(self, kid: str = "test-key-1") -> None:
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self, endorsements: tuple[str, ...] = ("msteams", "emulator")) -> dict[str, Any]:
        data = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {**data, "kid": self.kid, "use": "sig", "alg": "RS256", "endorsements": list(endorsements)}

    def sign(
        self,
        *,
        audience: str,
        service_url: str,
        issuer: str = ISSUER,
        lifetime: float = 3600,
        issued: float | None = None,
        kid: str | None = None,
        key: Any = None,
        algorithm: str = "RS256",
    ) -> str:
        now = issued if issued is not None else time.time()
        claims = {
            "iss": issuer,
            "aud": audience,
            "serviceurl": service_url,
            "nbf": int(now) - 5,
            "iat": int(now),
            "exp": int(now + lifetime),
        }
        if algorithm == "none":
            return jwt.encode(claims, None, algorithm="none", headers={"kid": kid or self.kid})
        return jwt.encode(claims, key or self.key, algorithm=algorithm, headers={"kid": kid or self.kid})


@dataclass
class User:
    aad_id: str
    name: str
    email: str
    tenant_id: str

    @property
    def id(self) -> str:
        return f"29:{self.aad_id}"

    def account(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "aadObjectId": self.aad_id,
            "email": self.email,
            "userPrincipalName": self.email,
            "givenName": self.name.split()[0],
            "surname": self.name.split()[-1],
            "tenantId": self.tenant_id,
            "userRole": "user",
        }


@dataclass
class Call:
    method: str
    path: str
    body: Any
    authorization: str
    status: int
    at: float


@dataclass
class Rule:
    status: int
    method: str | None = None
    conversation: str | None = None
    times: int | None = 1
    retry_after: str | None = None
    hits: int = 0

    def matches(self, method: str, conversation: str | None) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method and self.method != method:
            return False
        return not (self.conversation and self.conversation != conversation)


@dataclass
class Upload:
    name: str
    content: bytes = b""
    content_range: str = ""


_CONVERSATION = re.compile(r"/v3/conversations/([^/]+)")


@dataclass
class FakeBotFramework:
    signer: TokenSigner
    app_id: str = ""
    app_password: str = ""
    require_token: bool = False
    users: dict[str, User] = field(default_factory=dict)
    teams: dict[str, list[str]] = field(default_factory=dict)  # team id → aad ids
    calls: list[Call] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    shown: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # conversation → id → activity
    created: list[dict[str, Any]] = field(default_factory=list)
    uploads: dict[str, Upload] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)
    url: str = ""

    def __post_init__(self) -> None:
        self._ids = itertools.count(1000)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # ---- set-up ---------------------------------------------------------------------------------

    @property
    def service_url(self) -> str:
        return f"{self.url}/amer/"

    @property
    def openid_url(self) -> str:
        return f"{self.url}/v1/.well-known/openidconfiguration"

    @property
    def token_url(self) -> str:
        return f"{self.url}/botframework.com/oauth2/v2.0/token"

    def add_user(self, aad_id: str, name: str, email: str, tenant_id: str, team: str | None = None) -> User:
        user = User(aad_id, name, email.lower(), tenant_id)
        self.users[aad_id] = user
        if team:
            self.teams.setdefault(team, []).append(aad_id)
        return user

    def fail(
        self,
        status: int,
        *,
        method: str | None = None,
        conversation: str | None = None,
        times: int | None = 1,
        retry_after: str | None = None,
    ) -> Rule:
        rule = Rule(status, method, conversation, times, retry_after)
        with self._lock:
            self.rules.append(rule)
        return rule

    def block(self, conversation: str) -> None:
        self.blocked.add(conversation)

    def upload_url(self, name: str) -> str:
        token = uuid.uuid4().hex
        self.uploads[token] = Upload(name)
        return f"{self.url}/upload/{token}"

    # ---- what happened ---------------------------------------------------------------------------

    def connector_calls(self, method: str | None = None, path_part: str = "") -> list[Call]:
        with self._lock:
            calls = list(self.calls)
        return [c for c in calls if (method is None or c.method == method) and path_part in c.path]

    def sent(self, conversation: str) -> list[dict[str, Any]]:
        """Activities posted (not updates) to a conversation, in order, as they are shown now."""
        with self._lock:
            return list(self.shown.get(conversation, {}).values())

    def cards(self, conversation: str) -> list[dict[str, Any]]:
        """The Adaptive Cards a conversation shows now, oldest first."""
        found = []
        for activity in self.sent(conversation):
            for attachment in activity.get("attachments") or ():
                if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                    found.append(attachment["content"])
        return found

    # ---- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeBotFramework:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._runner = web.AppRunner(self._app(), access_log=None)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self.url = f"http://127.0.0.1:{port}"
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-bot-framework", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake Bot Framework did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    # ---- the server ------------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._connector_gate])
        app.router.add_get("/v1/.well-known/openidconfiguration", self._openid)
        app.router.add_get("/v1/.well-known/keys", self._keys)
        app.router.add_post("/botframework.com/oauth2/v2.0/token", self._token)
        app.router.add_put("/upload/{token}", self._upload)
        base = "/amer/v3/conversations"
        app.router.add_post(base, self._create)
        app.router.add_post(base + "/{conversation}/activities", self._send)
        app.router.add_post(base + "/{conversation}/activities/{activity}", self._send)
        app.router.add_put(base + "/{conversation}/activities/{activity}", self._update)
        app.router.add_get(base + "/{conversation}/members/{member}", self._member)
        app.router.add_get(base + "/{conversation}/pagedmembers", self._paged_members)
        return app

    @web.middleware
    async def _connector_gate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith("/amer/"):
            return await handler(request)
        body = await request.json() if request.can_read_body else None
        authorization = request.headers.get("Authorization", "")
        match = _CONVERSATION.search(request.path)
        conversation = match.group(1).split(";", 1)[0] if match else None
        response = self._misbehaviour(request.method, conversation, authorization)
        if response is None:
            response = await handler(request)
        with self._lock:
            self.calls.append(
                Call(request.method, request.path, body, authorization, response.status, time.monotonic())
            )
        return response

    def _misbehaviour(self, method: str, conversation: str | None, authorization: str) -> web.Response | None:
        if self.require_token and authorization != f"Bearer {OUTBOUND_TOKEN}":
            return _error(401, "Unauthorized", "missing or wrong bot token")
        if conversation in self.blocked and method in ("POST", "PUT"):
            return _error(403, "BotDisabledByAdmin", "The bot is blocked by the user")
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, conversation):
                    rule.hits += 1
                    headers = {"Retry-After": rule.retry_after} if rule.retry_after is not None else {}
                    return _error(rule.status, "Injected", f"injected {rule.status}", headers)
        return None

    async def _openid(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": ISSUER,
                "authorization_endpoint": f"{self.url}/authorize",
                "jwks_uri": f"{self.url}/v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        return web.json_response({"keys": [self.signer.jwk()]})

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.token_requests.append({k: str(v) for k, v in form.items() if k != "client_secret"})
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != self.app_id
            or form.get("client_secret") != self.app_password
        ):
            return web.json_response({"error": "invalid_client"}, status=401)
        return web.json_response({"access_token": OUTBOUND_TOKEN, "token_type": "Bearer", "expires_in": 3600})

    async def _upload(self, request: web.Request) -> web.Response:
        upload = self.uploads.get(request.match_info["token"])
        if upload is None:
            return web.json_response({"error": "no such upload session"}, status=404)
        upload.content = await request.read()
        upload.content_range = request.headers.get("Content-Range", "")
        return web.json_response({"id": request.match_info["token"], "name": upload.name}, status=201)

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        members = body.get("members") or []
        if len(members) != 1 or not members[0].get("id"):
            return _error(400, "BadArgument", "one member is needed for a 1:1 chat")
        conversation = f"a:chat-{members[0]['id'].removeprefix('29:')}"
        with self._lock:
            self.created.append(body)
        return web.json_response(
            {"id": conversation, "activityId": None, "serviceUrl": self.service_url}, status=201
        )

    async def _send(self, request: web.Request) -> web.Response:
        conversation = request.match_info["conversation"].split(";", 1)[0]  # a channel thread is its channel
        activity = await request.json()
        activity_id = str(next(self._ids))
        activity["id"] = activity_id
        with self._lock:
            self.shown.setdefault(conversation, {})[activity_id] = activity
        return web.json_response({"id": activity_id}, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        conversation = request.match_info["conversation"].split(";", 1)[0]
        activity_id = request.match_info["activity"]
        activity = await request.json()
        activity["id"] = activity_id
        with self._lock:
            known = self.shown.get(conversation, {})
            if activity_id not in known:
                return _error(404, "ActivityNotFound", "no such activity")
            known[activity_id] = activity
        return web.json_response({"id": activity_id})

    def _find_user(self, key: str) -> User | None:
        key = key.lower()
        for user in self.users.values():
            if key in (user.id.lower(), user.aad_id.lower(), user.email):
                return user
        return None

    async def _member(self, request: web.Request) -> web.Response:
        user = self._find_user(request.match_info["member"])
        if user is None:
            return _error(404, "MemberNotFoundInConversation", "The member is not in this conversation")
        return web.json_response(user.account())

    async def _paged_members(self, request: web.Request) -> web.Response:
        ids = self.teams.get(request.match_info["conversation"], [])
        return web.json_response(
            {"members": [self.users[i].account() for i in ids], "continuationToken": None}
        )


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
