"""Log lines that can carry no secret and forge no line: redaction and escaping for every handler.

`install_log_redaction(settings)`, called once at start (app.py), puts a filter on the
handlers present and a log-record factory in front of logging's, so that handlers added later
are covered too. Nothing happens at import: a tool or a test that never installs it logs plainly.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from bot.config import MASK

# What a log line never carries raw: C0 controls (CR, LF, TAB, ESC, BEL…), DEL, C1 controls, the
# Unicode line and paragraph separators, and the bidi embeddings, overrides and isolates. A
# user-supplied string in a message can then neither start a forged log line nor drive a terminal.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_TRACEBACK_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(found: re.Match[str]) -> str:
    char = found[0]
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def escape_controls(text: str) -> str:
    """`text` with every control character written as an escape (\\n, \\x1b, \\u202e).

    Backslashes are left alone, so escaping twice changes nothing more than escaping once."""
    return _CONTROLS.sub(_escaped, text)


def escape_traceback(text: str) -> str:
    """Like escape_controls, but keeping the newlines: a traceback's lines are the formatter's own."""
    return _TRACEBACK_CONTROLS.sub(_escaped, text)


def format_exception(exc_info: Any) -> str:
    """The traceback as logging.Formatter.formatException writes it, with the exceptions' own texts
    (messages, notes, a SyntaxError's source text) escaped whole, newlines included: only the
    traceback's own lines stay lines."""
    if not isinstance(exc_info, tuple):  # logging allows exc_info to be an exception, or True
        exc_info = sys.exc_info() if exc_info is True else (type(exc_info), exc_info, exc_info.__traceback__)
    head = traceback.TracebackException(*exc_info, compact=True)
    seen: set[int] = set()
    todo = [head]
    while todo:
        te = todo.pop()
        if id(te) in seen:
            continue
        seen.add(id(te))
        if isinstance(getattr(te, "_str", None), str):  # the message (CPython's name for it)
            te._str = escape_controls(te._str)
        for name in ("msg", "text"):  # a SyntaxError's (public attributes)
            if isinstance(getattr(te, name, None), str):
                setattr(te, name, escape_controls(getattr(te, name)))
        notes = getattr(te, "__notes__", None)
        if isinstance(notes, list):
            te.__notes__ = [escape_controls(n) if isinstance(n, str) else n for n in notes]
        todo += [t for t in (te.__cause__, te.__context__) if t is not None]
        todo += getattr(te, "exceptions", None) or []
    return escape_traceback("".join(head.format()).removesuffix("\n"))


class SecretFilter(logging.Filter):
    """Masks every secret in a record's final text (message, arguments, traceback), and escapes
    its control characters (escape_controls; a traceback keeps its own newlines).

    It never drops a record. The record is rewritten in place: `msg` becomes the formatted,
    redacted, escaped message and `args` is emptied, so later formatters (text or JSON) cannot
    bring a secret or a raw control character back; `exc_text` is set, which formatters use
    instead of formatting `exc_info` again. Applying it twice changes nothing more.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.set_secrets(secrets)

    _pattern: re.Pattern[str] | None

    def set_secrets(self, secrets: Iterable[str]) -> None:
        ordered = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def redact(self, text: str) -> str:
        return self._pattern.sub(MASK, text) if self._pattern else text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not let raw arguments through
            message = f"{record.msg} (log arguments did not fit the format: {record.args!r})"
        record.msg, record.args = escape_controls(self.redact(message)), None
        if record.exc_info and not record.exc_text:
            record.exc_text = format_exception(record.exc_info)
        if record.exc_text:
            record.exc_text = escape_traceback(self.redact(record.exc_text))
        if record.stack_info:
            record.stack_info = escape_traceback(self.redact(record.stack_info))
        return True


class HasSecrets(Protocol):
    def secret_values(self) -> tuple[str, ...]: ...


RecordFactory = Callable[..., logging.LogRecord]


def redacting_factory(previous: RecordFactory, redaction: SecretFilter) -> RecordFactory:
    """A log-record factory that makes each record with `previous`, then redacts it as it is created."""

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redaction.filter(record)
        return record

    return factory


class _Installed:
    """What install_log_redaction put in place, so that it can replace the secrets or take it away."""

    def __init__(self) -> None:
        self.redaction = SecretFilter()
        self.previous = logging.getLogRecordFactory()
        self.factory = redacting_factory(self.previous, self.redaction)


_installed: _Installed | None = None  # None until install_log_redaction runs


def _all_handlers() -> list[logging.Handler]:
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    return [handler for logger in loggers for handler in logger.handlers]


def install_log_redaction(settings: HasSecrets) -> None:
    """Mask this configuration's secrets, and escape control characters, in every log line, on
    handlers present now and added later.

    Existing handlers (root's and any named logger's) get the filter; records created from now on
    are redacted at creation by a log-record factory, which covers handlers added afterwards.
    Calling it again replaces the secrets rather than stacking filters.
    """
    global _installed
    if _installed is None:
        _installed = _Installed()
        logging.setLogRecordFactory(_installed.factory)
    _installed.redaction.set_secrets(settings.secret_values())
    for handler in _all_handlers():
        handler.addFilter(_installed.redaction)  # a no-op when it is already there


def remove_log_redaction() -> None:
    """Undo install_log_redaction (for tests and for tools that reconfigure logging)."""
    global _installed
    if _installed is None:
        return
    _installed.redaction.set_secrets(())
    for handler in _all_handlers():
        handler.removeFilter(_installed.redaction)
    # If someone wrapped our factory since, it stays in their chain as a no-op (no secrets left).
    if logging.getLogRecordFactory() is _installed.factory:
        logging.setLogRecordFactory(_installed.previous)
        _installed = None


def redact(text: str, *, keep_newlines: bool = False) -> str:
    """`text` as a log line may carry it: the installed secrets masked, control characters escaped
    (a traceback's newlines kept with `keep_newlines`). For what a formatter writes besides the
    record's message, such as the fields given with `extra=`, which logging adds after the record
    was made and redacted. Without install_log_redaction it only escapes."""
    masked = _installed.redaction.redact(text) if _installed is not None else text
    return escape_traceback(masked) if keep_newlines else escape_controls(masked)
