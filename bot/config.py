"""Settings: read once from the environment and `.env`, checked up front, secrets never shown.

The process reads its configuration in one place so that a bad value stops it at start with a
one-line reason, instead of failing later inside a platform SDK. Secrets are wrapped in
`Secret` so that no repr, error message or log line can print them by accident.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import math
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from sqlalchemy.engine import make_url

from storage.db import DatabaseUrlError, async_url

MASK = "**********"
APP_TYPES = ("SingleTenant", "MultiTenant", "UserAssignedMSI")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class ConfigError(Exception):
    """A setting that cannot be used; the message names the variable and the problem in one line."""


class Secret:
    """A string that masks itself wherever it might be printed; `reveal()` is the only way out."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = str(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        # Constant-time, so comparing a bearer token against it leaks nothing through timing.
        if isinstance(other, Secret):
            other = other._value
        if not isinstance(other, str):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


_SECRET_FIELDS = (
    "slack_bot_token",
    "slack_signing_secret",
    "slack_app_token",
    "slack_client_secret",
    "microsoft_app_password",
    "pmo_api_token",
)


@dataclass(frozen=True)
class Settings:
    """Everything the process may be configured with (CONTRACT section 2), already validated."""

    database_url: str = "sqlite:///pmo.db"
    host: str = "127.0.0.1"
    port: int = 3000
    slack_bot_token: Secret | None = None
    slack_signing_secret: Secret | None = None
    slack_app_token: Secret | None = None
    slack_client_id: str | None = None
    slack_client_secret: Secret | None = None
    slack_api_url: str = "https://slack.com/api/"
    microsoft_app_id: str | None = None
    microsoft_app_password: Secret | None = None
    microsoft_app_type: str | None = None
    microsoft_app_tenant_id: str | None = None
    pmo_admins: frozenset[str] = field(default_factory=frozenset)
    pmo_timezone: str = "UTC"
    pmo_alert_channel: str | None = None
    pmo_api_token: Secret | None = None
    local_console_forced: bool = False
    pmo_catchup_hours: float = 6.0
    pmo_send_rate: float | None = (
        None  # the platform's limit a second per workspace/tenant; None: per platform
    )

    def __post_init__(self) -> None:
        # Settings built directly (tests, tools) get the same shape as load_settings gives:
        # secrets wrapped, the API URL usable as a base for urljoin, an app type when Teams is on.
        for name in _SECRET_FIELDS:
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, Secret(value) if value else None)
        if not self.slack_api_url.endswith("/"):
            object.__setattr__(self, "slack_api_url", self.slack_api_url + "/")
        if self.microsoft_app_id and not self.microsoft_app_type:
            object.__setattr__(self, "microsoft_app_type", "SingleTenant")
        if not isinstance(self.pmo_admins, frozenset):
            object.__setattr__(self, "pmo_admins", frozenset(self.pmo_admins))

    @property
    def slack_mode(self) -> str | None:
        """ "oauth" (multi-workspace), "socket", "http" (single workspace), or None when Slack is off."""
        if self.slack_client_id and self.slack_client_secret:
            return "oauth"
        if self.slack_app_token and self.slack_bot_token:
            return "socket"
        if self.slack_bot_token and self.slack_signing_secret:
            return "http"
        return None

    @property
    def teams_enabled(self) -> bool:
        return bool(self.microsoft_app_id)

    @property
    def teams_local_unauthenticated(self) -> bool:
        """No platform at all: /api/messages may accept the Bot Framework Emulator without a token."""
        return self.slack_mode is None and not self.teams_enabled

    @property
    def local_console(self) -> bool:
        return self.teams_local_unauthenticated or self.local_console_forced

    def secret_values(self) -> tuple[str, ...]:
        """Every secret string, as it may appear in a log line (raw and URL-encoded), longest first."""
        raw: set[str] = set()
        for name in _SECRET_FIELDS:
            value = getattr(self, name)
            if value:
                raw.add(value.reveal())
        raw.update(_database_passwords(self.database_url))
        found = set(raw)
        for value in raw:
            found.update({quote(value, safe=""), quote_plus(value)})
        return tuple(sorted((v for v in found if v), key=lambda v: (-len(v), v)))

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "database_url":
                value = mask_database_url(value)
            parts.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(parts)})"


# --- DATABASE_URL passwords -------------------------------------------------------------

# user:PASSWORD@host — everything between the first ':' after the user and the last '@', so a
# password with an unencoded '@' is masked whole (over-masking the host is harmless).
_URL_PASSWORD = re.compile(r"^(?P<head>[\w+.-]+://[^:/@?#]*:)(?P<password>.*)(?P<tail>@[^@]*)$", re.DOTALL)
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&]password=)(?P<password>[^&#]*)", re.IGNORECASE)


def mask_database_url(raw: str) -> str:
    """The URL with any password (in the authority or as ?password=) replaced by the mask."""
    masked = _URL_PASSWORD.sub(lambda m: m["head"] + MASK + m["tail"] if m["password"] else m[0], raw)
    return _QUERY_PASSWORD.sub(lambda m: m["head"] + MASK if m["password"] else m[0], masked)


def _database_passwords(raw: str) -> set[str]:
    """The password as written in the URL and as SQLAlchemy decodes it (what reaches the server)."""
    found = {m["password"] for m in (_URL_PASSWORD.match(raw),) if m and m["password"]}
    found.update(m["password"] for m in _QUERY_PASSWORD.finditer(raw) if m["password"])
    try:
        url = make_url(raw.strip())
    except Exception:  # noqa: BLE001 - an unparsable URL has no decoded password to add
        return found
    if url.password:
        found.add(str(url.password))
    query_password = url.query.get("password")
    if isinstance(query_password, str) and query_password:
        found.add(query_password)
    return found


# --- reading and validating ---------------------------------------------------------------

_VARIABLES = (
    "DATABASE_URL",
    "HOST",
    "PORT",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_API_URL",
    "MICROSOFT_APP_ID",
    "MICROSOFT_APP_PASSWORD",
    "MICROSOFT_APP_TYPE",
    "MICROSOFT_APP_TENANT_ID",
    "PMO_ADMINS",
    "PMO_TIMEZONE",
    "PMO_ALERT_CHANNEL",
    "PMO_API_TOKEN",
    "LOCAL_CONSOLE",
    "PMO_CATCHUP_HOURS",
    "PMO_SEND_RATE",
)


def _read_sources(environ: Mapping[str, str] | None, env_file: str | Path | None) -> dict[str, str | None]:
    """Our variables from `.env` overlaid by the environment; an empty value means unset."""
    source = os.environ if environ is None else environ
    file_values: dict[str, str | None] = {}
    if env_file is not None:
        try:
            with open(env_file, encoding="utf-8") as stream:
                file_values = dict(dotenv_values(stream=stream))
        except FileNotFoundError:
            pass
        except OSError as err:
            raise ConfigError(f"{env_file}: cannot read the settings file ({err.strerror})") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{env_file}: the settings file is not UTF-8 text") from None
    values: dict[str, str | None] = {}
    for name in _VARIABLES:
        value = source[name] if name in source else file_values.get(name)
        value = value.strip() if value is not None else None
        values[name] = value or None
    return values


def _secret(value: str | None) -> Secret | None:
    return Secret(value) if value else None


def _database_url(value: str | None) -> str:
    url = value or Settings.database_url
    try:
        async_url(url)
    except DatabaseUrlError as err:
        raise ConfigError(str(err).splitlines()[0]) from None
    except Exception:  # noqa: BLE001 - SQLAlchemy's own messages may quote the URL and its password
        raise ConfigError(
            "DATABASE_URL is not a valid database URL (check its port and punctuation)"
        ) from None
    return url


def _port(value: str | None) -> int:
    if value is None:
        return Settings.port
    if not re.fullmatch(r"\d{1,5}", value) or not 1 <= int(value) <= 65535:
        raise ConfigError(f"PORT must be a whole number from 1 to 65535, got {value!r}")
    return int(value)


def _slack_api_url(value: str | None) -> str:
    if value is None:
        return Settings.slack_api_url
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        # The URL itself is not echoed: a proxy URL may carry credentials.
        raise ConfigError("SLACK_API_URL must be an http:// or https:// URL such as https://slack.com/api/")
    return value if value.endswith("/") else value + "/"


def _check_slack(v: Mapping[str, str | None]) -> None:
    bot, signing, app = v["SLACK_BOT_TOKEN"], v["SLACK_SIGNING_SECRET"], v["SLACK_APP_TOKEN"]
    client_id, client_secret = v["SLACK_CLIENT_ID"], v["SLACK_CLIENT_SECRET"]
    if client_id and not client_secret:
        raise ConfigError("SLACK_CLIENT_ID is set but SLACK_CLIENT_SECRET is not (both are needed for OAuth)")
    if client_secret and not client_id:
        raise ConfigError("SLACK_CLIENT_SECRET is set but SLACK_CLIENT_ID is not (both are needed for OAuth)")
    oauth = bool(client_id and client_secret)
    if oauth and not signing:
        raise ConfigError("SLACK_SIGNING_SECRET is required with SLACK_CLIENT_ID/SLACK_CLIENT_SECRET (OAuth)")
    if app and not bot:
        raise ConfigError("SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not (Socket Mode needs both)")
    if app and not app.startswith("xapp-"):
        raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with 'xapp-'")
    if bot and not bot.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with 'xoxb-'")
    if bot and not app and not oauth and not signing:
        raise ConfigError(
            "SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET is not (Slack over HTTP needs both)"
        )
    if signing and not bot and not oauth:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is set without SLACK_BOT_TOKEN or SLACK_CLIENT_ID, "
            "so it selects no Slack mode"
        )


def _app_type(v: Mapping[str, str | None]) -> str | None:
    """Check the Teams variables together; return the canonical MICROSOFT_APP_TYPE."""
    app_id, password = v["MICROSOFT_APP_ID"], v["MICROSOFT_APP_PASSWORD"]
    raw_type, tenant = v["MICROSOFT_APP_TYPE"], v["MICROSOFT_APP_TENANT_ID"]
    if not app_id:
        # A half-configured Teams would silently fall back to local mode, where /api/messages
        # takes unauthenticated activities; refuse instead.
        for name in ("MICROSOFT_APP_PASSWORD", "MICROSOFT_APP_TYPE", "MICROSOFT_APP_TENANT_ID"):
            if v[name]:
                raise ConfigError(f"{name} is set but MICROSOFT_APP_ID is not")
        return None
    app_type = "SingleTenant"
    if raw_type:
        known = {t.lower(): t for t in APP_TYPES}
        if raw_type.lower() not in known:
            raise ConfigError(f"MICROSOFT_APP_TYPE must be one of {', '.join(APP_TYPES)}, got {raw_type!r}")
        app_type = known[raw_type.lower()]
    if app_type != "UserAssignedMSI" and not password:
        raise ConfigError(f"MICROSOFT_APP_PASSWORD is required with MICROSOFT_APP_ID ({app_type})")
    if app_type in ("SingleTenant", "UserAssignedMSI") and not tenant:
        raise ConfigError(f"MICROSOFT_APP_TENANT_ID is required when MICROSOFT_APP_TYPE is {app_type}")
    return app_type


def _timezone(value: str | None) -> str:
    if value is None:
        return Settings.pmo_timezone
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(
            f"PMO_TIMEZONE {value!r} is not a known IANA time zone (e.g. UTC, Europe/Berlin)"
        ) from None
    return value


def _catchup_hours(value: str | None) -> float:
    if value is None:
        return Settings.pmo_catchup_hours
    try:
        hours = float(value)
    except ValueError:
        hours = math.nan
    if not math.isfinite(hours) or hours < 0:
        raise ConfigError(f"PMO_CATCHUP_HOURS must be a number of hours of 0 or more, got {value!r}")
    return hours


def _send_rate(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        rate = float(value)
    except ValueError:
        rate = math.nan
    if not math.isfinite(rate) or rate <= 0:
        raise ConfigError(f"PMO_SEND_RATE must be a number of messages a second above 0, got {value!r}")
    return rate


def _flag(name: str, value: str | None) -> bool:
    if value is None or value.lower() in _FALSE:
        return False
    if value.lower() in _TRUE:
        return True
    raise ConfigError(f"{name} must be 1 or 0 (also true/false, yes/no, on/off), got {value!r}")


def load_settings(environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> Settings:
    """Read and check every setting once; raise ConfigError with a one-line reason on the first problem.

    `environ=None` reads os.environ (never changing it); `env_file=None` reads no file, and a
    missing file is the same as an empty one. A variable present in the environment wins over
    `.env`, even when it is empty (which counts as unset).
    """
    v = _read_sources(environ, env_file)
    database_url = _database_url(v["DATABASE_URL"])
    port = _port(v["PORT"])
    _check_slack(v)
    slack_api_url = _slack_api_url(v["SLACK_API_URL"])
    app_type = _app_type(v)
    timezone = _timezone(v["PMO_TIMEZONE"])
    catchup = _catchup_hours(v["PMO_CATCHUP_HOURS"])
    send_rate = _send_rate(v["PMO_SEND_RATE"])
    forced = _flag("LOCAL_CONSOLE", v["LOCAL_CONSOLE"])
    admins = frozenset(a.strip() for a in (v["PMO_ADMINS"] or "").split(",") if a.strip())
    return Settings(
        database_url=database_url,
        host=v["HOST"] or Settings.host,
        port=port,
        slack_bot_token=_secret(v["SLACK_BOT_TOKEN"]),
        slack_signing_secret=_secret(v["SLACK_SIGNING_SECRET"]),
        slack_app_token=_secret(v["SLACK_APP_TOKEN"]),
        slack_client_id=v["SLACK_CLIENT_ID"],
        slack_client_secret=_secret(v["SLACK_CLIENT_SECRET"]),
        slack_api_url=slack_api_url,
        microsoft_app_id=v["MICROSOFT_APP_ID"],
        microsoft_app_password=_secret(v["MICROSOFT_APP_PASSWORD"]),
        microsoft_app_type=app_type,
        microsoft_app_tenant_id=v["MICROSOFT_APP_TENANT_ID"],
        pmo_admins=admins,
        pmo_timezone=timezone,
        pmo_alert_channel=v["PMO_ALERT_CHANNEL"],
        pmo_api_token=_secret(v["PMO_API_TOKEN"]),
        local_console_forced=forced,
        pmo_catchup_hours=catchup,
        pmo_send_rate=send_rate,
    )


# --- log redaction and escaping ------------------------------------------------------------

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


_FILTER = SecretFilter()
_previous_factory: Callable[..., logging.LogRecord] | None = None


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = (_previous_factory or logging.LogRecord)(*args, **kwargs)
    _FILTER.filter(record)
    return record


def _all_handlers() -> list[logging.Handler]:
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    return [handler for logger in loggers for handler in logger.handlers]


def install_log_redaction(settings: Settings) -> None:
    """Mask this configuration's secrets, and escape control characters, in every log line, on
    handlers present now and added later.

    Existing handlers (root's and any named logger's) get the filter; records created from now on
    are redacted at creation by a log-record factory, which covers handlers added afterwards.
    Calling it again replaces the secrets rather than stacking filters.
    """
    global _previous_factory
    _FILTER.set_secrets(settings.secret_values())
    for handler in _all_handlers():
        handler.addFilter(_FILTER)  # a no-op when it is already there
    if _previous_factory is None:
        _previous_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_redacting_factory)


def remove_log_redaction() -> None:
    """Undo install_log_redaction (for tests and for tools that reconfigure logging)."""
    global _previous_factory
    _FILTER.set_secrets(())
    for handler in _all_handlers():
        handler.removeFilter(_FILTER)
    # If someone wrapped our factory since, it stays in their chain as a no-op (no secrets left).
    if _previous_factory is not None and logging.getLogRecordFactory() is _redacting_factory:
        logging.setLogRecordFactory(_previous_factory)
        _previous_factory = None
