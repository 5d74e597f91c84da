"""Whose language: a person's choice (`language`), else what their platform says, else PMO_LANGUAGE.

CONTRACT section 12. The platforms' locales are kept on the person's identities
(`Identity.locale`): Slack's from users.info with `include_locale` (asked again once a day, with
the rest of the profile), Teams' from each activity. Slack's counts before Teams' for someone on
both, as the contract orders them. `localize_reply` says a use case's reply and every message it
queued in the language of whoever reads it, inside the use case's transaction, so that what a
durable job stores (handlers/inbox.py) is already what the person reads. A chart drawn again for
a reader (the value report, a digest sent with `digest now`) is drawn in a worker thread
(`handlers.views.localize_async`), never on the event loop.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import LANGUAGES, SOURCE, language_of_locale
from handlers.ports import Outgoing, Reply
from handlers.views import View, localize_async
from storage.models import Identity, Person

PLATFORM_ORDER = ("slack", "teams")  # whose locale counts first for someone on several platforms
REF_KEY = "lang"  # a sent message's reference remembers its language: an update says it the same way


def choose(chosen: str | None, locales: dict[str, str | None], default: str) -> str:
    """The language from a person's choice, their platforms' locales, the organisation's default."""
    if chosen in LANGUAGES:
        return str(chosen)
    for platform in (*PLATFORM_ORDER, *sorted(set(locales) - set(PLATFORM_ORDER))):
        found = language_of_locale(locales.get(platform))
        if found:
            return found
    return default if default in LANGUAGES else SOURCE


async def language_of(session: AsyncSession, person_id: int | None, default: str) -> str:
    """The language `person_id` reads (the default for nobody, or someone gone)."""
    if person_id is None:
        return default
    person = await session.get(Person, person_id)  # the caller is in the session already: no query
    if person is None:
        return default
    if person.language in LANGUAGES:
        return str(person.language)
    rows = await session.execute(
        select(Identity.platform, Identity.locale).where(
            Identity.person_id == person_id, Identity.locale.is_not(None)
        )
    )
    return choose(None, {r.platform: r.locale for r in rows}, default)


async def localize_reply(session: AsyncSession, reply: Reply, caller_id: int | None, default: str) -> Reply:
    """The reply in the caller's language, each queued message in its reader's (`localize_outbox`)."""
    said: dict[tuple[int, str], View] = {}
    outbox = await localize_outbox(session, reply.outbox, default, said)
    language = await language_of(session, caller_id, default)
    key = (id(reply.view), language)
    return Reply(said.get(key) or await localize_async(reply.view, language), outbox)


async def localize_outbox(
    session: AsyncSession,
    items: list[Outgoing],
    default: str,
    said: dict[tuple[int, str], View] | None = None,
) -> list[Outgoing]:
    """Each message in its reader's language: a person's own, a channel's the organisation's
    default, an update the language its message was sent in. Messages already said are kept."""
    known: dict[int | None, str] = {}
    said = {} if said is None else said  # one view said once per language (the inbox stores it once)

    async def of(person_id: int | None) -> str:
        if person_id not in known:
            known[person_id] = await language_of(session, person_id, default)
        return known[person_id]

    async def in_(view: View, language: str) -> View:
        key = (id(view), language)
        if key not in said:
            said[key] = await localize_async(view, language)
        return said[key]

    outbox: list[Outgoing] = []
    for item in items:
        if item.language is not None:
            outbox.append(item)
            continue
        if item.update_ref is not None:
            language = str(item.update_ref.get(REF_KEY) or default)
        elif item.person_id is not None:
            language = await of(item.person_id)
        else:
            language = default
        outbox.append(replace(item, view=await in_(item.view, language), language=language))
    return outbox
