"""Running a use case: one transaction, rolled back on refusal, then sending what it queued."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import inbox
from handlers.i18n import _, say
from handlers.languages import REF_KEY, language_of, localize_outbox, localize_reply
from handlers.message_refs import mark_failed, record_painpoint_ref, record_refs
from handlers.people import UNKNOWN_CALLER, caller_person
from handlers.ports import Caller, DeliveryFailed, Outgoing, Reply, Services
from handlers.views import View, error, localize
from storage.models import Person

log = logging.getLogger(__name__)

OOPS = _("Something went wrong on our side; nothing was changed. The PMO's admins can see the log.")
UNSENT = _("a message could not be sent (see the server log)")


class Rollback(Exception):
    """Raised inside a use case to answer with `reply` and undo everything it changed."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.view.text)
        self.reply = reply


async def perform(
    services: Services,
    org_id: int,
    work: Callable[[AsyncSession], Awaitable[Reply]],
    caller_id: int | None = None,
) -> View:
    """Do `work` in one transaction; a reply that is not ok, or any error, changes nothing.

    The reply is said in the language of `caller_id`, each queued message in its reader's
    (handlers.languages), before the job stores them. Run by an inbox job (handlers/inbox.py),
    the same transaction marks the job applied, and a database that is busy or away makes the job
    run again later instead of answering "oops"."""
    default = services.policy.language
    try:
        async with services.db.transaction() as session:
            reply = await work(session)
            if not reply.view.ok:
                raise Rollback(reply)
            reply = await localize_reply(session, reply, caller_id, default)
            await inbox.applied(session, org_id, reply)
    except Rollback as rollback:
        return await _refused(services, rollback.reply.view, caller_id)
    except (DBAPIError, PoolTimeout, OSError) as exc:
        if inbox.in_job() and is_passing(exc):
            raise inbox.Retry(type(exc).__name__) from exc
        log.exception("use case failed")
        return localize(error(OOPS), default)
    except Exception:
        log.exception("use case failed")
        return localize(error(OOPS), default)
    problems = await deliver(services, org_id, reply.outbox)
    await inbox.sent(services.db)
    if problems:  # said in the reply's language: the one `localize_reply` chose for the caller
        said = (f"⚠️ {say(p, reply.view.language)}" for p in problems)
        return replace(reply.view, lines=(*reply.view.lines, *said))
    return reply.view


async def _refused(services: Services, view: View, caller_id: int | None) -> View:
    """A refusal in the caller's language (read after the rollback: a use case may have changed it)."""
    language = services.policy.language
    if caller_id is not None:
        async with services.db.sessions() as session:
            language = await language_of(session, caller_id, language)
    return localize(view, language)


async def perform_as(
    services: Services, caller: Caller, work: Callable[[AsyncSession, Person], Awaitable[Reply]]
) -> View:
    """`perform` for a use case that acts for a known person; a stranger is told to say hello first."""

    async def known(session: AsyncSession) -> Reply:
        person = await caller_person(session, caller)
        if person is None:
            return Reply(error(UNKNOWN_CALLER))
        return await work(session, person)

    return await perform(services, caller.org_id, known, caller.person_id)


async def deliver(services: Services, org_id: int, outbox: list[Outgoing]) -> list[str]:
    """Send each message; return what could not be delivered, in words for the person who acted:
    lazy texts (handlers.i18n), English as `str`, to be said in that person's language. What is
    stored (the check-in's failed delivery) is that English.

    A message that no use case said in its reader's language yet (the clock's notices and
    reminders) is said so here."""
    if any(item.language is None for item in outbox):
        async with services.db.sessions() as session:
            outbox = await localize_outbox(session, outbox, services.policy.language)
    problems: list[str] = []
    for item in outbox:
        try:
            ref = await _send(services, org_id, item)
        except DeliveryFailed as exc:
            problems.append(exc.reason)
            if item.checkin_id is not None and not item.alert:  # an alert not posted: the check-in is fine
                async with services.db.transaction() as session:
                    await mark_failed(session, item.checkin_id, exc.reason)
            continue
        except Exception:
            log.exception("delivery failed unexpectedly")
            problems.append(UNSENT)
            continue
        if ref and item.language and item.language != services.policy.language:  # else: the default
            ref = {**ref, REF_KEY: item.language}
        if item.checkin_id is not None and ref:
            async with services.db.transaction() as session:
                await record_refs(session, item.checkin_id, ref, alert=item.alert)
        elif item.painpoint_id is not None and ref:
            async with services.db.transaction() as session:
                await record_painpoint_ref(session, item.painpoint_id, ref, alert=item.alert)
    return problems


async def _send(services: Services, org_id: int, item: Outgoing) -> dict[str, Any] | None:
    messenger = services.messenger
    if item.update_ref is not None:
        await messenger.update(org_id, item.update_ref, item.view)
        return None
    if item.person_id is not None:
        return await messenger.send_direct(org_id, item.person_id, item.view)
    if item.channel is not None:
        return await messenger.send_to_channel(org_id, item.platform, item.channel, item.view)
    return None


def is_passing(exc: BaseException) -> bool:
    """A failure that trying again later can mend: a lost connection, a pool or lock time-out."""
    if isinstance(exc, PoolTimeout | OSError):
        return True
    return isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or type(exc).__name__ in ("OperationalError", "InterfaceError")
    )
