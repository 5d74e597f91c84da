"""The local console: a browser page to try the bot without Slack or Teams.

A newcomer picks who they are (PMO staff or a sponsor), runs `/pmo` commands, answers the check-ins
the bot sends and reads the value report. The page talks to a small JSON API under /console/api/
whose handlers only parse, call the core (`run_command`, `act`, `direct_message`) and return the
core's views; the bot's messages themselves live in `local_messages`, written by `LocalChannel`.

There is no login: whoever opens the page may act as anyone. So it is served only with no platform
configured or LOCAL_CONSOLE=1, binds to 127.0.0.1 by default, and refuses requests that a web page
of another site could make (cross-origin POSTs, non-JSON bodies, DNS-rebound host names).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import func, select

from bot.local.channel import PLATFORM
from bot.local.words import words_in
from bot.platform import PlatformContext
from bot.work import Unrecorded
from handlers.i18n import LANGUAGES, Num, _, language_of_locale, say
from handlers.ids import as_id
from handlers.inbox import NOT_RECORDED, Job
from handlers.interactions import act
from handlers.languages import language_of
from handlers.people import identify
from handlers.ports import Caller
from handlers.views import View
from storage.models import LocalMessage, Person, Project
from storage.queries import find_person_by_email

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
RESUME_KIND = "console.request"
API = "/console/api"
ADMIN_EXTERNAL_ID = "admin"
ADMIN_NAME = "Console admin"
MAX_BODY = 64 * 1024  # bytes of one JSON request
MAX_TEXT = 4000  # characters of a command or a message
MAX_FIELD = 5000  # characters of one form value
MAX_ACTION = 64
MAX_MESSAGES = 200  # newest messages an inbox or a channel returns
CHANNEL_NAME = re.compile(r"#[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")
EMAIL = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BadInput(Exception):
    """A request the console cannot take; the message tells the page what was wrong."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def add_console_routes(app: web.Application, context: PlatformContext) -> None:
    """Serve the page at `/`, its files under /console/static/ and its JSON API under /console/api/."""
    console = Console(context)
    context.work.register(RESUME_KIND, _resumed)
    app.router.add_get("/", console.guarded(console.index))
    app.router.add_static("/console/static/", STATIC)
    api = {
        ("GET", "words"): console.words,
        ("GET", "people"): console.people,
        ("POST", "people"): console.add_person,
        ("GET", "inbox"): console.inbox,
        ("GET", "channels"): console.channels,
        ("GET", "channel"): console.channel,
        ("POST", "command"): console.command,
        ("POST", "act"): console.act,
        ("POST", "message"): console.message,
    }
    for (method, name), handler in api.items():
        app.router.add_route(method, f"{API}/{name}", console.guarded(handler))


async def _resumed(job: Job) -> None:
    """A console request cut short by a crash: its queued messages were sent (DurableWork); its
    answer was never shown, so the person saw it fail and sees the outcome in their messages."""


class Console:
    """The console's request handlers, bound to one platform context (its database and organisation)."""

    def __init__(self, context: PlatformContext) -> None:
        self.context = context
        self._admin_ready = False
        self._admin_lock = asyncio.Lock()

    # ---- plumbing ------------------------------------------------------------------------

    def guarded(self, handler: Handler) -> Handler:
        """Refuse requests from other sites, and turn `BadInput` into a JSON 400."""

        async def wrapper(request: web.Request) -> web.StreamResponse:
            refusal = _foreign_request(request, self.context.settings.host)
            if refusal is not None:
                return web.json_response({"error": refusal}, status=403)
            try:
                return await handler(request)
            except BadInput as exc:
                said = say(exc.message, self.page_language_of(request))
                return web.json_response({"error": said}, status=exc.status)

        return wrapper

    def page_language_of(self, request: web.Request) -> str:
        """The language a refusal is said in: the page's own (it sends it as Accept-Language),
        else the organisation's (PMO_LANGUAGE). No person is looked up: the request may be bad."""
        for part in request.headers.get("Accept-Language", "").split(","):
            language = language_of_locale(part.split(";")[0])
            if language is not None:
                return language
        return self.context.services.policy.language

    @asynccontextmanager
    async def recorded(self, what: dict[str, Any]) -> AsyncIterator[None]:
        """A request is recorded in the inbox before it is handled (bot/work.py `inline`): if the
        process dies after its use case committed, the messages it queued are still sent; one the
        database cannot record gets 503 and changes nothing."""
        try:
            async with self.context.work.inline(PLATFORM, RESUME_KIND, what):
                yield
        except Unrecorded as exc:
            log.warning("a console request was refused: the inbox could not record it (%s)", exc)
            raise BadInput(NOT_RECORDED, status=503) from None

    def caller(self, person: Person, channel: str | None = None) -> Caller:
        return Caller(org_id=self.context.org_id, person_id=person.id, platform=PLATFORM, channel=channel)

    async def person(self, value: Any) -> Person:
        """The person an id names, if it is a person of this organisation."""
        person_id = _person_id(value)
        async with self.context.db.transaction() as session:
            person = await session.get(Person, person_id)
        if person is None or person.org_id != self.context.org_id:
            raise BadInput(_("There is no person #%(id)s; reload the page to see who is here.", id=person_id))
        return person

    async def ensure_admin(self) -> None:
        """A fresh database has nobody who may run staff commands: add the console's own admin."""
        if self._admin_ready:
            return
        async with self._admin_lock:
            if self._admin_ready:
                return
            async with self.context.db.transaction() as session:
                admin = await identify(
                    session, self.context.org_id, PLATFORM, ADMIN_EXTERNAL_ID, name=ADMIN_NAME
                )
                admin.role = "admin"
            self._admin_ready = True

    # ---- the page ------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    # ---- the page's own words ---------------------------------------------------------------

    async def words(self, request: web.Request) -> web.Response:
        """The page's labels in the language of `?person=ID` (the one the bot speaks with them), of
        `?language=xx`, or, before anybody is chosen, PMO_LANGUAGE."""
        language = await self.page_language(request.query.get("person"), request.query.get("language"))
        return web.json_response({"language": language, "words": words_in(language)})

    async def page_language(self, person: str | None, language: str | None) -> str:
        default = self.context.services.policy.language
        if person is not None and language is not None:
            raise BadInput(_("Say a person or a language, not both."))
        if language is not None:
            code = language.strip().lower()
            if code not in LANGUAGES:
                raise BadInput(
                    _(
                        "'%(code)s' is not a language of the bot; say one of %(languages)s.",
                        code=code[:20],
                        languages=", ".join(LANGUAGES),
                    )
                )
            return code
        if person is None:
            return default
        person_id = (await self.person(person)).id
        async with self.context.db.transaction() as session:
            return await language_of(session, person_id, default)

    # ---- people --------------------------------------------------------------------------

    async def people(self, request: web.Request) -> web.Response:
        await self.ensure_admin()
        org_id = self.context.org_id
        async with self.context.db.transaction() as session:
            people = list(
                await session.scalars(
                    select(Person).where(Person.org_id == org_id).order_by(func.lower(Person.name), Person.id)
                )
            )
            sponsors = set(await session.scalars(select(Project.sponsor_id).where(Project.org_id == org_id)))
        return web.json_response({"people": [_person_dict(p, p.id in sponsors) for p in people]})

    async def add_person(self, request: web.Request) -> web.Response:
        data = await _json_body(request)
        name = " ".join(_text(data, "name", 200).split())
        email = _text(data, "email", 320).lower()
        if not EMAIL.fullmatch(email):
            raise BadInput(_("'%(email)s' is not an e-mail address (like sam@example.com).", email=email))
        async with self.context.db.transaction() as session:
            known = await find_person_by_email(session, self.context.org_id, email)
            if known is not None:
                raise BadInput(
                    _(
                        "%(name)s already has the e-mail %(email)s; pick them under 'Who are you?'.",
                        name=known.name,
                        email=email,
                    )
                )
            person = await identify(session, self.context.org_id, PLATFORM, email, name=name, email=email)
            created = _person_dict(person, sponsor=False)
        return web.json_response({"person": created}, status=201)

    # ---- what the bot posted ---------------------------------------------------------------

    async def inbox(self, request: web.Request) -> web.Response:
        person = await self.person(request.query.get("person"))
        messages = await self._messages(LocalMessage.person_id == person.id, LocalMessage.channel.is_(None))
        return web.json_response({"person": person.id, "messages": messages})

    async def channels(self, request: web.Request) -> web.Response:
        async with self.context.db.transaction() as session:
            rows = await session.execute(
                select(LocalMessage.channel, func.count(), func.max(LocalMessage.id))
                .where(LocalMessage.org_id == self.context.org_id, LocalMessage.channel.is_not(None))
                .group_by(LocalMessage.channel)
                .order_by(LocalMessage.channel)
            )
            found = [{"name": name, "messages": count, "last": last} for name, count, last in rows]
        return web.json_response({"channels": found})

    async def channel(self, request: web.Request) -> web.Response:
        name = _channel(request.query.get("name"))
        if name is None:
            raise BadInput(_("Say which channel: ?name=#pmo-alerts."))
        messages = await self._messages(LocalMessage.channel == name)
        return web.json_response({"name": name, "messages": messages})

    async def _messages(self, *where: Any) -> list[dict[str, Any]]:
        """The newest messages that match, oldest first (as a chat shows them)."""
        async with self.context.db.transaction() as session:
            rows = list(
                await session.scalars(
                    select(LocalMessage)
                    .where(LocalMessage.org_id == self.context.org_id, *where)
                    .order_by(LocalMessage.id.desc())
                    .limit(MAX_MESSAGES)
                )
            )
        return [
            {
                "id": m.id,
                "created_at": _iso(m.created_at),
                "updated_at": _iso(m.updated_at),
                "view": m.view,
            }
            for m in reversed(rows)
        ]

    # ---- what the person does ---------------------------------------------------------------

    async def command(self, request: web.Request) -> web.Response:
        data = await _json_body(request)
        person = await self.person(data.get("person"))
        text = _text(data, "text", MAX_TEXT)
        channel = _channel(data.get("channel"))
        async with self.recorded({"command": text}):
            return _view(await self.context.lane.command(self.caller(person, channel), text))

    async def act(self, request: web.Request) -> web.Response:
        data = await _json_body(request)
        person = await self.person(data.get("person"))
        action = _text(data, "action", MAX_ACTION)
        payload = data.get("payload", {})
        if not isinstance(payload, dict):
            raise BadInput(_("payload must be a JSON object (what the button carried)."))
        values = _values(data.get("values"))
        async with self.recorded({"action": action}):
            return _view(await act(self.context.services, self.caller(person), action, payload, values))

    async def message(self, request: web.Request) -> web.Response:
        data = await _json_body(request)
        person = await self.person(data.get("person"))
        text = _text(data, "text", MAX_TEXT)
        async with self.recorded({"message": True}):
            return _view(await self.context.lane.direct_message(self.caller(person), text))


# ---- parsing and answering ----------------------------------------------------------------------


async def _json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object. Requiring the JSON content type keeps other sites' forms out."""
    if request.content_type != "application/json":
        raise BadInput(_("Send the request as JSON (Content-Type: application/json)."))
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise BadInput(_("The request is larger than %(kb)s KB.", kb=MAX_BODY // 1024))
    raw = await request.read()
    if len(raw) > MAX_BODY:
        raise BadInput(_("The request is larger than %(kb)s KB.", kb=MAX_BODY // 1024))
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadInput(_("The request body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise BadInput(_("The request body must be a JSON object."))
    return data


def _person_id(value: Any) -> int:
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,10}", value.strip()):
        value = int(value.strip())
    person_id = as_id(value)
    if person_id is None:
        raise BadInput(_("Say who you are: person must be the id of a person (a whole number)."))
    return person_id


def _text(data: dict[str, Any], key: str, limit: int) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise BadInput(_("%(field)s must be text.", field=key))
    value = value.strip()
    if not value:
        raise BadInput(_("%(field)s is empty.", field=key))
    if len(value) > limit:
        raise BadInput(_("%(field)s is longer than %(limit)s characters.", field=key, limit=Num(limit)))
    return value


def _channel(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not CHANNEL_NAME.fullmatch(value.strip()):
        raise BadInput(_("A console channel is a name like #pmo-alerts (letters, digits, - _ and .)."))
    return value.strip()


def _values(value: Any) -> dict[str, str]:
    """What a form collected: field names to the text typed or the option chosen."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadInput(_("values must be a JSON object of form fields."))
    values: dict[str, str] = {}
    for key, item in value.items():
        if len(key) > MAX_ACTION:
            raise BadInput(_("A form field name is too long."))
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise BadInput(_("The form field '%(field)s' must be text.", field=key))
        text = str(item)
        if len(text) > MAX_FIELD:
            raise BadInput(
                _(
                    "The form field '%(field)s' is longer than %(limit)s characters.",
                    field=key,
                    limit=Num(MAX_FIELD),
                )
            )
        values[key] = text
    return values


def _view(view: View) -> web.Response:
    return web.json_response({"view": view.to_dict()})


def _person_dict(person: Person, sponsor: bool) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.name,
        "email": person.email,
        "role": person.role,
        "sponsor": sponsor,
    }


def _iso(moment: dt.datetime) -> str:
    """Stored times are naive UTC; say so, so the browser shows them in local time."""
    return moment.replace(microsecond=0).isoformat() + "Z"


# ---- who may ask -----------------------------------------------------------------------------------


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _foreign_request(request: web.Request, bound_host: str) -> str | None:
    """Why a request must be refused, or None. The console has no login, so only its own page may ask.

    - Bound to a loopback address, the Host header must name a loopback host too: a site whose DNS
      name is re-pointed at 127.0.0.1 (DNS rebinding) sends its own name and is refused.
    - A request that says it comes from a page (Origin) must come from this very server.
    """
    if _is_loopback(bound_host) and not _is_loopback(urlsplit(f"//{request.host}").hostname):
        return "The console answers only at localhost or 127.0.0.1."
    origin = request.headers.get("Origin")
    if (
        origin is not None
        and request.method not in ("GET", "HEAD")
        and urlsplit(origin).netloc != request.host
    ):
        return "The console takes requests from its own page only."
    return None
