"""A fake Slack Web API: a real aiohttp server on 127.0.0.1:0 that records every call.

Why: the bot talks to Slack through slack_sdk's real HTTP clients (retries, rate limits,
uploads). Pointing their `base_url` at this server tests all of that over real HTTP, with
answers we control, and lets a test wait for the calls it expects instead of sleeping.

Use it as an async context manager or through a pytest fixture::

    async with FakeSlack() as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.url)   # slack.url ends in "/api/"
        await client.chat_postMessage(channel="U0001", text="hi")
        call = await slack.wait_for("chat.postMessage")                  # bounded wait, no sleeps
        assert call.args["channel"] == "U0001" and call.token == "xoxb-test"

    @pytest.fixture
    async def slack() -> AsyncIterator[FakeSlack]:
        async with FakeSlack() as fake:
            yield fake

What it answers (enough for the bot, the scheduler and their tests):

- ``auth.test``; ``chat.postMessage`` (returns ``channel`` and a fresh ``ts``; posting to a user id
  ``Uxxx`` lands in the DM channel ``Dxxx``), ``chat.update``, ``chat.postEphemeral``;
  ``views.open`` (needs a ``trigger_id``), ``views.update``, ``views.publish``;
  ``users.info`` and ``users.lookupByEmail`` (from users added with `add_user`, else ``user_not_found``;
  the user's ``locale`` only from ``users.info`` with ``include_locale=true``);
  ``conversations.open`` (``Dxxx`` for ``Uxxx``); ``files.getUploadURLExternal``, the upload URL itself
  and ``files.completeUploadExternal`` (files are kept in `files`, bytes included);
  ``apps.connections.open`` with an ``xapp-`` token, then a WebSocket at the returned URL that says
  ``hello`` and carries envelopes you push with `socket_send` (the acks land in `socket_acks`);
  ``oauth.v2.access`` for codes added with `add_oauth_code`; ``response_url`` endpoints from
  `response_url()` (what Bolt's ``respond()`` posts to, kept in `responses`).
  Any other method answers ``{"ok": true}`` and is recorded.

- Tokens: ``xoxb-test`` belongs to workspace ``T0001`` from the start; `add_workspace` adds more.
  An unknown bot token gets ``invalid_auth`` (so an uninstalled workspace's token stops working after
  `revoke`).

- Misbehaviour, per method and/or per token (like python-slack-sdk's mock server), `times` answers
  long (None = until removed), each an independent `Rule`::

      slack.on("chat.postMessage", status=429, retry_after=1, times=1)   # rate limited once
      slack.on("users.info", error="user_not_found", token="xoxb-b")    # {"ok": false, ...}
      slack.on("views.publish", status=503, times=2)                    # server errors
      slack.on("*", delay=0.5)                                          # everything slow
      slack.limit_rate("chat.postMessage", per_second=50)               # per workspace, 429 beyond
      slack.limit_rate("chat.postMessage", per_second=5, team="T0002")  # one workspace's own limit

- What happened: `calls` (every request, in arrival order, with `args`, `headers`, `token`,
  `team_id`, and once answered `status` and `response`), `called(method, where)` (the answered
  calls of a method), `count(method)`, `messages` (by (channel, ts), updated by chat.update),
  `dm(user)`, `in_channel(channel)`, `ephemerals`, `views_opened`, `home`, `files`, `responses`.
  `await wait_for(method, count=, where=, timeout=)` and `wait_for_response(key)` wait without sleeping.
  `rate_stats(method)`: per workspace, the calls accepted, those answered 429, and the most
  accepted within any one second (what a load test compares with the limit).

- Speed: no access log, no per-call I/O, calls kept in memory and indexed by method; 10,000
  chat.postMessage calls with a waiter on the last one take about 5 s on a 2-core machine, nearly
  all of it slack_sdk's client side.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import math
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

DEFAULT_TEAM = "T0001"
DEFAULT_TOKEN = "xoxb-test"
DEFAULT_BOT_USER = "UBOT0001"


@dataclass
class Call:
    """One request the fake received. `args` merges query string, form fields and JSON body."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    token: str | None
    team_id: str | None
    at: float
    query: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)
    json: Any = None
    status: int = 200
    response: dict[str, Any] | None = None


@dataclass
class Rule:
    """A scripted misbehaviour. Matches when method and token match (None/"*" = any)."""

    method: str = "*"
    token: str | None = None
    status: int = 200
    error: str | None = None
    retry_after: float | None = None
    delay: float = 0.0
    times: int | None = None
    body: dict[str, Any] | None = None
    taken: bool = False  # with a 5xx status: the call takes effect, then the answer is the error
    used: int = 0

    def matches(self, method: str, token: str | None) -> bool:
        if self.times is not None and self.used >= self.times:
            return False
        return self.method in ("*", method) and (self.token is None or self.token == token)


@dataclass
class Workspace:
    team_id: str
    name: str
    bot_token: str
    bot_user_id: str
    enterprise_id: str | None = None
    revoked: bool = False


@dataclass
class RateStats:
    """One workspace's calls of a rate-limited method: accepted, answered 429, the most in one second."""

    accepted: int = 0
    limited: int = 0
    busiest: int = 0


@dataclass
class Message:
    """A message as the fake keeps it; `updates` counts chat.update calls on it."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    team_id: str | None
    updates: int = 0
    thread_ts: str | None = None


@dataclass
class UploadedFile:
    id: str
    filename: str
    length: int
    content: bytes = b""
    title: str | None = None
    channels: list[str] = field(default_factory=list)
    completed: bool = False


class FakeSlack:
    """The fake Slack Web API server. See the module docstring for what it does."""

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        self.host = host
        self.calls: list[Call] = []
        self._by_method: dict[str, list[Call]] = defaultdict(list)  # so waiting on 10,000 calls stays O(1)
        self.rules: list[Rule] = []
        self.workspaces: dict[str, Workspace] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.messages: dict[tuple[str, str], Message] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.views_opened: list[dict[str, Any]] = []
        self.home: dict[str, dict[str, Any]] = {}
        self.files: dict[str, UploadedFile] = {}
        self.responses: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.oauth_codes: dict[str, dict[str, Any]] = {}
        self.app_tokens: set[str] = {"xapp-test"}
        self.socket_acks: list[dict[str, Any]] = []
        self.socket_connections = 0
        self._rates: dict[str, float] = {}
        self._team_rates: dict[tuple[str, str], float] = {}  # (method, team id): that workspace's own limit
        self._rate_windows: dict[tuple[str, str | None], deque[float]] = defaultdict(deque)
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_ready = asyncio.Event()
        self._changed = asyncio.Condition()
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.add_workspace(DEFAULT_TEAM, DEFAULT_TOKEN, name="Test Workspace", bot_user_id=DEFAULT_BOT_USER)

    # ----- lifecycle -------------------------------------------------------------------------

    @property
    def root(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The Web API base URL for slack_sdk clients (`base_url=`); it ends with a slash."""
        return f"{self.root}/api/"

    async def start(self) -> FakeSlack:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/respond/{key}", self._respond)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ----- setup -----------------------------------------------------------------------------

    def add_workspace(
        self,
        team_id: str,
        bot_token: str,
        *,
        name: str | None = None,
        bot_user_id: str | None = None,
        enterprise_id: str | None = None,
    ) -> Workspace:
        workspace = Workspace(
            team_id, name or team_id, bot_token, bot_user_id or f"UBOT{team_id}", enterprise_id=enterprise_id
        )
        self.workspaces[bot_token] = workspace
        return workspace

    def revoke(self, bot_token: str) -> None:
        """The token stops working (`invalid_auth`), as after an uninstall."""
        self.workspaces[bot_token].revoked = True

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        email: str | None = None,
        tz: str = "Europe/Berlin",
        team_id: str = DEFAULT_TEAM,
        deleted: bool = False,
        is_bot: bool = False,
        locale: str = "en-US",
    ) -> dict[str, Any]:
        """A user that users.info / users.lookupByEmail will find, with Slack's field layout; users.info
        says their `locale` only when asked with `include_locale=true`, as Slack does."""
        real_name = name or user_id
        user = {
            "id": user_id,
            "team_id": team_id,
            "name": real_name.lower().replace(" ", "."),
            "real_name": real_name,
            "deleted": deleted,
            "is_bot": is_bot,
            "tz": tz,
            "tz_offset": 0,
            "profile": {"real_name": real_name, "display_name": real_name, "email": email},
            "locale": locale,
        }
        self.users[user_id] = user
        return user

    def add_oauth_code(
        self,
        code: str,
        *,
        team_id: str,
        bot_token: str,
        team_name: str | None = None,
        installer: str = "UINSTALLER",
        scope: str = "commands,chat:write,users:read,users:read.email,im:history,files:write",
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> None:
        """An OAuth code that `oauth.v2.access` exchanges for this workspace's bot token."""
        self.add_workspace(team_id, bot_token, name=team_name)
        self.oauth_codes[code] = {
            "team_id": team_id,
            "team_name": team_name or team_id,
            "bot_token": bot_token,
            "installer": installer,
            "scope": scope,
            "client_id": client_id,
            "client_secret": client_secret,
        }

    def on(
        self,
        method: str = "*",
        *,
        token: str | None = None,
        status: int = 200,
        error: str | None = None,
        retry_after: float | None = None,
        delay: float = 0.0,
        times: int | None = None,
        body: dict[str, Any] | None = None,
        taken: bool = False,
    ) -> Rule:
        """Script an answer: an HTTP status (429 adds Retry-After), an `ok: false` error, a delay,
        or a fixed body. The first matching rule wins; `times` limits how often it applies.
        `taken` with a 5xx status: the call does what it does (a message is posted), and only the
        answer is the error, as when Slack fails after taking a message."""
        if status == 429 and retry_after is None:
            retry_after = 1
        rule = Rule(method, token, status, error, retry_after, delay, times, body, taken)
        self.rules.append(rule)
        return rule

    def clear_rules(self) -> None:
        self.rules.clear()
        self._rates.clear()
        self._team_rates.clear()

    def limit_rate(self, method: str, per_second: float, *, team: str | None = None) -> None:
        """Enforce Slack's per-workspace rate limit on a method: 429 + Retry-After beyond it.

        Counted per workspace (by the token's team, else the token) over a sliding second.
        Without `team` the limit is every workspace's; with it, that workspace's own, ahead of
        the method's (workspaces differ: Slack's tiers depend on the plan and the app)."""
        if team is None:
            self._rates[method] = per_second
        else:
            self._team_rates[(method, team)] = per_second

    def rate_stats(self, method: str) -> dict[str, RateStats]:
        """Per workspace (team id, else the token): accepted calls, 429s, the busiest second."""
        stats: dict[str, RateStats] = {}
        accepted: dict[str, list[float]] = defaultdict(list)
        for call in self.called(method):
            key = call.team_id or call.token or "?"
            entry = stats.setdefault(key, RateStats())
            if call.status == 429:
                entry.limited += 1
            elif call.status == 200:
                entry.accepted += 1
                accepted[key].append(call.at)
        for key, moments in accepted.items():
            moments.sort()
            start = 0
            for end, moment in enumerate(moments):
                while moment - moments[start] >= 1.0:
                    start += 1
                stats[key].busiest = max(stats[key].busiest, end - start + 1)
        return stats

    def response_url(self, key: str | None = None) -> str:
        """A `response_url` for a slash command or interaction payload; posts land in `responses[key]`."""
        return f"{self.root}/respond/{key or uuid.uuid4().hex}"

    # ----- what happened ---------------------------------------------------------------------

    def called(self, method: str, where: Callable[[Call], bool] | None = None) -> list[Call]:
        """The answered calls of `method` (matching `where`), in the order they arrived."""
        calls = self._by_method.get(method, [])
        return list(calls) if where is None else [c for c in calls if where(c)]

    def count(self, method: str) -> int:
        """How many calls of `method` were answered so far (cheap, for big fan-outs)."""
        return len(self._by_method.get(method, ()))

    def _record(self, call: Call) -> None:
        """Every call is in `calls` as it arrives; `called()` sees it once it has been answered."""
        self.calls.append(call)

    def _answered(self, call: Call) -> None:
        self._by_method[call.method].append(call)

    async def wait_for(
        self,
        method: str,
        *,
        count: int = 1,
        where: Callable[[Call], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Call:
        """The `count`-th matching call, once it has been answered; TimeoutError after `timeout`."""
        return (await self.wait_for_all(method, count=count, where=where, timeout=timeout))[count - 1]

    async def wait_for_all(
        self,
        method: str,
        *,
        count: int = 1,
        where: Callable[[Call], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[Call]:
        async def enough() -> list[Call]:
            async with self._changed:
                if where is None:
                    await self._changed.wait_for(lambda: self.count(method) >= count)
                else:
                    await self._changed.wait_for(lambda: len(self.called(method, where)) >= count)
                return self.called(method, where)

        try:
            return await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            seen = [c.method for c in self.calls]
            raise TimeoutError(
                f"expected {count} × {method} within {timeout}s; calls so far: {seen}"
            ) from None

    async def wait_for_response(self, key: str, *, count: int = 1, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """The `count`-th post to the response_url `key`."""

        async def enough() -> dict[str, Any]:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.responses.get(key, ())) >= count)
                return self.responses[key][count - 1]

        try:
            return await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            raise TimeoutError(f"no response #{count} to {key} within {timeout}s") from None

    def dm(self, user_id: str) -> list[Message]:
        """Messages in the bot's DM with a user, oldest first."""
        return [m for m in self.messages.values() if m.channel == dm_channel(user_id)]

    def in_channel(self, channel: str) -> list[Message]:
        return [m for m in self.messages.values() if m.channel == channel]

    # ----- socket mode -----------------------------------------------------------------------

    async def socket_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        await asyncio.wait_for(self._socket_ready.wait(), timeout)

    async def socket_send(
        self, type_: str, payload: dict[str, Any], *, envelope_id: str | None = None, retry_attempt: int = 0
    ) -> str:
        """Push an envelope (`events_api`, `slash_commands`, `interactive`) to the connected app."""
        if not self._sockets:
            raise RuntimeError("no Socket Mode connection is open")
        envelope_id = envelope_id or uuid.uuid4().hex
        envelope = {
            "envelope_id": envelope_id,
            "type": type_,
            "payload": payload,
            "accepts_response_payload": type_ != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        await self._sockets[-1].send_str(json.dumps(envelope))
        return envelope_id

    async def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        def found() -> dict[str, Any] | None:
            return next((a for a in self.socket_acks if a.get("envelope_id") == envelope_id), None)

        async def enough() -> dict[str, Any]:
            async with self._changed:
                await self._changed.wait_for(lambda: found() is not None)
                return found()  # type: ignore[return-value]

        return await asyncio.wait_for(enough(), timeout)

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        self.socket_connections += 1
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {}}))
        self._socket_ready.set()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    try:
                        ack = json.loads(msg.data)
                    except ValueError:
                        continue
                    self.socket_acks.append(ack)
                    await self._notify()
        finally:
            self._sockets.remove(ws)
            if not self._sockets:
                self._socket_ready.clear()
        return ws

    # ----- the API ---------------------------------------------------------------------------

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        query = dict(request.query)
        form: dict[str, str] = {}
        body_json: Any = None
        raw = await request.read()
        ctype = request.content_type
        if raw and ctype == "application/json":
            body_json = json.loads(raw)
        elif raw and ctype == "application/x-www-form-urlencoded":
            form = dict(parse_qsl(raw.decode(), keep_blank_values=True))
        elif raw and ctype.startswith("multipart/"):
            form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        args: dict[str, Any] = {**query, **form, **(body_json if isinstance(body_json, dict) else {})}
        token = _bearer(request) or args.get("token")
        workspace = self.workspaces.get(token or "")
        call = Call(
            method=method,
            args=args,
            headers=dict(request.headers),
            token=token,
            team_id=workspace.team_id if workspace else None,
            at=time.monotonic(),
            query=query,
            form=form,
            json=body_json,
        )
        self._record(call)
        try:
            status, payload, headers = await self._answer(method, call, workspace, request)
        except Exception as exc:  # noqa: BLE001 - a bug in a test's arguments: say so, as Slack would
            status, payload, headers = 200, {"ok": False, "error": f"fake_error: {exc!r}"}, {}
        call.status, call.response = status, payload
        self._answered(call)
        await self._notify()
        return web.json_response(payload, status=status, headers=headers)

    async def _answer(
        self, method: str, call: Call, workspace: Workspace | None, request: web.Request
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        rule = next((r for r in self.rules if r.matches(method, call.token)), None)
        if rule is not None:
            rule.used += 1
            if rule.delay:
                await asyncio.sleep(rule.delay)
            if rule.status == 429:
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": _seconds(rule.retry_after)}
            if rule.status >= 500 and rule.taken:
                await self._answer_normally(method, call, workspace, request)
                return rule.status, {"ok": False, "error": "fatal_error"}, {}
            if rule.status >= 400:
                return rule.status, {"ok": False, "error": "fatal_error"}, {}
            if rule.error:
                return 200, {"ok": False, "error": rule.error}, {}
            if rule.body is not None:
                return 200, rule.body, {}
        return await self._answer_normally(method, call, workspace, request)

    async def _answer_normally(
        self, method: str, call: Call, workspace: Workspace | None, request: web.Request
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """What Slack does and says when nothing was scripted for the call."""
        team = workspace.team_id if workspace else call.token
        limit = self._team_rates.get((method, team or ""), self._rates.get(method))
        if limit is not None:
            key = (method, team)
            window = self._rate_windows[key]
            now = time.monotonic()
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= limit:
                wait = max(1.0 - (now - window[0]), 0.001)
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": _seconds(wait)}
            window.append(now)
        if method == "oauth.v2.access":
            return 200, self._oauth(call, request), {}
        if method == "apps.connections.open":
            if call.token not in self.app_tokens:
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            return (
                200,
                {"ok": True, "url": f"ws://{self.host}:{self.port}/socket?ticket={uuid.uuid4().hex}"},
                {},
            )
        if workspace is None or workspace.revoked:
            error = "token_revoked" if workspace else ("not_authed" if not call.token else "invalid_auth")
            return 200, {"ok": False, "error": error}, {}
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        payload = handler(call.args, workspace) if handler else {"ok": True}
        return 200, payload, {}

    def _next_ts(self) -> str:
        n = next(self._ts)
        return f"{1_700_000_000 + n // 1_000_000}.{n % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def _channel(self, channel: str | None) -> tuple[str | None, str | None]:
        """The channel a post lands in, or the error Slack gives."""
        if not channel:
            return None, "channel_not_found"
        if channel.startswith(("U", "W")):
            user = self.users.get(channel)
            if user is not None and user["deleted"]:
                return None, "account_inactive"
            return dm_channel(channel), None
        return channel, None

    def _m_auth_test(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{ws.team_id.lower()}.slack.com/",
            "team": ws.name,
            "team_id": ws.team_id,
            "user": "pmo",
            "user_id": ws.bot_user_id,
            "bot_id": "B" + ws.bot_user_id[1:],
            "enterprise_id": ws.enterprise_id,
            "is_enterprise_install": False,
        }

    def _m_chat_postMessage(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        channel, error = self._channel(args.get("channel"))
        if error:
            return {"ok": False, "error": error}
        blocks = _blocks(args.get("blocks"))
        if not args.get("text") and not blocks:
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        message = Message(
            channel, ts, args.get("text") or "", blocks, ws.team_id, thread_ts=args.get("thread_ts")
        )
        self.messages[(channel, ts)] = message  # type: ignore[index]
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": message.text, "ts": ts}}

    def _m_chat_update(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        channel, ts = args.get("channel"), args.get("ts")
        message = self.messages.get((channel, ts))  # type: ignore[arg-type]
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if "text" in args:
            message.text = args["text"]
        if "blocks" in args:
            message.blocks = _blocks(args["blocks"])
        message.updates += 1
        return {"ok": True, "channel": channel, "ts": ts, "text": message.text}

    def _m_chat_postEphemeral(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        if not args.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        entry = {**args, "blocks": _blocks(args.get("blocks")), "team_id": ws.team_id}
        self.ephemerals.append(entry)
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_views_open(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        view = _json(args.get("view"))
        view_id = self._next_id("V")
        self.views_opened.append({"trigger_id": args["trigger_id"], "view": view, "team_id": ws.team_id})
        return {"ok": True, "view": {**view, "id": view_id, "team_id": ws.team_id}}

    def _m_views_update(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        view = _json(args.get("view"))
        return {"ok": True, "view": {**view, "id": args.get("view_id") or self._next_id("V")}}

    def _m_views_publish(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        user_id = args.get("user_id")
        if not user_id:
            return {"ok": False, "error": "invalid_arguments"}
        view = _json(args.get("view"))
        if view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        self.home[user_id] = view
        return {"ok": True, "view": {**view, "id": self._next_id("V")}}

    def _m_users_info(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        user = self.users.get(args.get("user") or "")
        if user is None or user["team_id"] != ws.team_id:
            return {"ok": False, "error": "user_not_found"}
        if str(args.get("include_locale", "")).lower() not in ("1", "true"):
            user = {key: value for key, value in user.items() if key != "locale"}
        return {"ok": True, "user": user}

    def _m_users_lookupByEmail(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        email = (args.get("email") or "").lower()
        for user in self.users.values():
            if (user["profile"].get("email") or "").lower() == email and user["team_id"] == ws.team_id:
                return {"ok": True, "user": {key: value for key, value in user.items() if key != "locale"}}
        return {"ok": False, "error": "users_not_found"}

    def _m_conversations_open(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        users = str(args.get("users") or "").split(",")
        if not users or not users[0]:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": dm_channel(users[0]), "is_im": True}}

    def _m_files_getUploadURLExternal(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        filename, length = args.get("filename"), args.get("length")
        if not filename or not str(length or "").isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = self._next_id("F")
        self.files[file_id] = UploadedFile(file_id, filename, int(length))
        return {"ok": True, "upload_url": f"{self.root}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        entries = _json(args.get("files")) or []
        done = []
        for entry in entries:
            uploaded = self.files.get(entry.get("id", ""))
            if uploaded is None or not uploaded.content:
                return {"ok": False, "error": "file_not_found"}
            uploaded.title = entry.get("title") or uploaded.filename
            uploaded.completed = True
            if args.get("channel_id"):
                uploaded.channels.append(args["channel_id"])
            elif args.get("channels"):
                uploaded.channels.extend(str(args["channels"]).split(","))
            done.append(
                {
                    "id": uploaded.id,
                    "name": uploaded.filename,
                    "title": uploaded.title,
                    "size": len(uploaded.content),
                    "url_private": f"{self.root}/files/{uploaded.id}/{uploaded.filename}",
                    "permalink": f"{self.root}/files/{uploaded.id}",
                }
            )
        return {"ok": True, "files": done}

    def _oauth(self, call: Call, request: web.Request) -> dict[str, Any]:
        client_id, client_secret = call.args.get("client_id"), call.args.get("client_secret")
        basic = request.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
        grant = self.oauth_codes.pop(call.args.get("code", ""), None)
        if grant is None:
            return {"ok": False, "error": "invalid_code"}
        if grant["client_id"] and (grant["client_id"], grant["client_secret"]) != (client_id, client_secret):
            return {"ok": False, "error": "invalid_client_id"}
        workspace = self.workspaces[grant["bot_token"]]
        return {
            "ok": True,
            "app_id": "A0PMO",
            "authed_user": {"id": grant["installer"]},
            "scope": grant["scope"],
            "token_type": "bot",
            "access_token": grant["bot_token"],
            "bot_user_id": workspace.bot_user_id,
            "team": {"id": grant["team_id"], "name": grant["team_name"]},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        uploaded = self.files.get(file_id)
        if uploaded is None:
            return web.Response(status=404, text="no such upload")
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            part = await reader.next()
            content = await part.read() if part is not None else b""  # type: ignore[union-attr]
        else:
            content = await request.read()
        uploaded.content = bytes(content)
        call = Call("upload", {"file_id": file_id}, dict(request.headers), None, None, time.monotonic())
        self._record(call)
        self._answered(call)
        await self._notify()
        return web.Response(text=f"OK - {len(content)}")

    async def _respond(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        body = await request.json()
        self.responses[key].append(body)
        call = Call("response_url", {"key": key, **body}, dict(request.headers), None, None, time.monotonic())
        self._record(call)
        self._answered(call)
        await self._notify()
        return web.Response(text="ok")


def dm_channel(user_id: str) -> str:
    """The DM channel the fake gives the bot's conversation with a user."""
    return "D" + user_id[1:]


def _bearer(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth[7:] if auth.startswith("Bearer ") else None


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) and value else value


def _blocks(value: Any) -> list[dict[str, Any]] | None:
    return _json(value) if value else None


def _seconds(value: float | None) -> str:
    """Slack's Retry-After is whole seconds (slack_sdk parses it with int()), so round up."""
    return str(math.ceil(value or 0))
