"""The process's log lines: today's text, or one JSON object a line for log shippers (LOG_FORMAT),
each carrying the id of the HTTP request it was written for.

The request id lives in a context variable, set by the web server's middleware for the whole of
one request (bot/observe.py) and carried by the durable work into the job the request recorded
(bot/work.py), so every line written while handling a click, also in a worker afterwards, names
it. Lines outside any request (the clock, the start) carry none.

Secrets and control characters are dealt with before any formatter runs (bot/redaction.py); the
JSON formatter also passes the fields given with `extra=` through the same redaction, since
logging adds those after the record is made.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from bot.redaction import redact

FORMATS = ("text", "json")
ACCESS_LOGGER = "pmo.http"  # one line per HTTP request (bot/observe.py)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(request)s: %(message)s"

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# An id a caller (a load balancer, a proxy, Slack's retries) may hand us, echoed as it came:
# letters, digits and . _ : - only, up to 128, so that it can forge no log line nor header.
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

# What every LogRecord has; anything else on a record came with `extra=` and is written too.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def new_request_id(given: str | None = None) -> str:
    """The caller's X-Request-Id when it is sane, else a fresh one (32 hex digits)."""
    if given is not None and _SANE_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


@contextmanager
def requesting(rid: str | None) -> Iterator[None]:
    """Lines written in this block (and in tasks it starts) carry `rid`."""
    token = request_id.set(rid)
    try:
        yield
    finally:
        request_id.reset(token)


def _request_of(record: logging.LogRecord) -> str | None:
    given = record.__dict__.get("request_id")
    return given if isinstance(given, str) else request_id.get()


class TextFormatter(logging.Formatter):
    """Today's line, `… LEVEL logger: message`, with ` [request id]` after the logger's name."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        rid = _request_of(record)
        record.request = f" [{rid}]" if rid else ""
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, request_id, the
    fields given with `extra=`, and `exception` (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": _request_of(record),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in line and key != "request":
                line[key] = _field(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = redact(record.exc_text, keep_newlines=True)
        if record.stack_info:
            line["stack"] = redact(record.stack_info, keep_newlines=True)
        return json.dumps(line, ensure_ascii=False, default=str)


def _field(value: Any) -> Any:
    """An `extra=` value as JSON takes it: numbers, booleans and None as they are, the rest as
    redacted text (a dict or a list of plain values stays one, its strings redacted)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_field(v) for v in value]
    if isinstance(value, dict):
        return {redact(str(k)): _field(v) for k, v in value.items()}
    return redact(str(value))


def formatter(log_format: str) -> logging.Formatter:
    if log_format not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}")
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure_logging(log_format: str, level: int) -> None:
    """Root writes to stderr in `log_format`, as logging.basicConfig would (and, like it, leaves a
    root that already has handlers alone: a test runner's). The JSON format also writes one line
    per HTTP request (logger `pmo.http`); the text format keeps today's lines, without them."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO if log_format == "json" else logging.WARNING)
