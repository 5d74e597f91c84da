"""Ping a pooled PostgreSQL connection only when it has been idle a while.

`pool_pre_ping` asks the server on every checkout (asyncpg: BEGIN, an empty statement, ROLLBACK:
three round trips). A connection handed back a moment ago is as alive as it was then, and a burst
checks one out per request, so the pings cost more than the work. A connection idle longer than
`IDLE_PING` seconds (when a server restart or a firewall may have dropped it) is pinged as before;
one that fails is replaced, like `pool_pre_ping` does. A connection that dies while in steady use
fails its one operation, SQLAlchemy then discards every older connection of the pool, and the
callers' own retry (the inbox refuses the request, jobs are retried) covers that operation.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

IDLE_PING = 5.0  # seconds a connection may sit in the pool before it is asked whether it is alive
_LAST_USE = "pmo_last_use"


def ping_when_idle(engine: Engine, idle: float | None = None) -> None:
    """Install the checkout and checkin listeners on `engine` (the sync engine of an async one)."""
    limit = IDLE_PING if idle is None else idle

    @event.listens_for(engine, "connect")
    def _fresh(_dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_USE] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _back(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_LAST_USE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_LAST_USE, 0.0) <= limit:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError(f"an idle connection did not answer: {type(exc).__name__}") from exc
