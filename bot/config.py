"""Settings: read once from the environment and `.env`, checked up front, secrets never shown.

The process reads its configuration in one place so that a bad value stops it at start with a
one-line reason, instead of failing later inside a platform SDK. Secrets are wrapped in
`Secret` so that no repr, error message or log line can print them by accident.

`Settings` is the one table of variables: each field names its environment variable, how its
text is read and checked, its default, whether it is a secret, and what it is for. Reading,
checking, masking and the documentation test (`VARIABLES`) all go through it; adding a
variable is adding one field (and its line in docs/configuration.md and .env.example).
Log redaction, which uses the secrets, is `bot.redaction`.
"""

from __future__ import annotations

import dataclasses
import hmac
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from sqlalchemy.engine import make_url

from handlers.i18n import LANGUAGES
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


# --- how one variable's text is read: (variable name, text) to value, or ConfigError ---------


def _text(name: str, value: str) -> str:
    return value


def _secret(name: str, value: str) -> Secret:
    return Secret(value)


def _database_url(name: str, value: str) -> str:
    try:
        async_url(value)
    except DatabaseUrlError as err:
        raise ConfigError(str(err).splitlines()[0]) from None
    except Exception:  # noqa: BLE001 - SQLAlchemy's own messages may quote the URL and its password
        raise ConfigError(f"{name} is not a valid database URL (check its port and punctuation)") from None
    return value


def _port(name: str, value: str) -> int:
    if not re.fullmatch(r"\d{1,5}", value) or not 1 <= int(value) <= 65535:
        raise ConfigError(f"{name} must be a whole number from 1 to 65535, got {value!r}")
    return int(value)


def _http_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        # The URL itself is not echoed: a proxy URL may carry credentials.
        raise ConfigError(f"{name} must be an http:// or https:// URL such as https://slack.com/api/")
    return value if value.endswith("/") else value + "/"


def _secret_url(name: str, value: str) -> Secret:
    """An http(s) URL kept secret (a webhook URL often carries its receiver's token), used as written."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"{name} must be an http:// or https:// URL such as https://pmo-hooks.example.com/events"
        )
    return Secret(value)


def _seconds(name: str, value: str) -> float:
    seconds = _float(value)
    if not math.isfinite(seconds) or not 0.1 <= seconds <= 300:
        raise ConfigError(f"{name} must be a number of seconds from 0.1 to 300, got {value!r}")
    return seconds


def _ids(name: str, value: str) -> frozenset[str]:
    return frozenset(a.strip() for a in value.split(",") if a.strip())


def _timezone(name: str, value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(
            f"{name} {value!r} is not a known IANA time zone (e.g. UTC, Europe/Berlin)"
        ) from None
    return value


def _language(name: str, value: str) -> str:
    code = value.strip().lower()
    if code not in LANGUAGES:
        raise ConfigError(f"{name} must be one of {', '.join(LANGUAGES)}, got {value!r}")
    return code


def _currency(name: str, value: str) -> str:
    code = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ConfigError(f"{name} must be a three-letter ISO 4217 code such as EUR or USD, got {value!r}")
    return code


def _float(value: str) -> float:
    """The number written, or NaN when it is none, so that one finiteness check refuses both."""
    try:
        return float(value)
    except ValueError:
        return math.nan


def _hours(name: str, value: str) -> float:
    hours = _float(value)
    if not math.isfinite(hours) or hours < 0:
        raise ConfigError(f"{name} must be a number of hours of 0 or more, got {value!r}")
    return hours


def _rate(name: str, value: str) -> float:
    rate = _float(value)
    if not math.isfinite(rate) or rate <= 0:
        raise ConfigError(f"{name} must be a number of messages a second above 0, got {value!r}")
    return rate


def _flag(name: str, value: str) -> bool:
    if value.lower() in _FALSE:
        return False
    if value.lower() in _TRUE:
        return True
    raise ConfigError(f"{name} must be 1 or 0 (also true/false, yes/no, on/off), got {value!r}")


def _log_format(name: str, value: str) -> str:
    if value.lower() not in ("text", "json"):
        raise ConfigError(f"{name} must be text or json (one JSON object a line), got {value!r}")
    return value.lower()


# --- the table of variables ---------------------------------------------------------------------


@dataclass(frozen=True)
class Variable:
    """One environment variable: its name, how its text is read, whether it is secret, what it is for."""

    name: str
    read: Callable[[str, str], Any]
    secret: bool
    about: str


def setting(name: str, default: Any, read: Callable[[str, str], Any] = _text, *, about: str) -> Any:
    """A `Settings` field read from the environment variable `name` (unset or blank: `default`)."""
    variable = Variable(name, read, secret=read in (_secret, _secret_url), about=about)
    return field(default=default, metadata={"variable": variable})


@dataclass(frozen=True)
class Settings:
    """Everything the process may be configured with (CONTRACT section 2), already validated.

    Each field is one environment variable; docs/configuration.md explains each in full. The
    Slack and Teams variables are also checked together (`load_settings`).
    """

    # fmt: off
    database_url: str = setting("DATABASE_URL", "sqlite:///pmo.db", _database_url, about="SQLAlchemy URL of the database: SQLite or PostgreSQL")
    host: str = setting("HOST", "127.0.0.1", about="address the web server listens on")
    port: int = setting("PORT", 3000, _port, about="port the web server listens on")
    slack_bot_token: Secret | None = setting("SLACK_BOT_TOKEN", None, _secret, about="Slack bot token (xoxb-)")
    slack_signing_secret: Secret | None = setting("SLACK_SIGNING_SECRET", None, _secret, about="verifies the requests Slack sends")
    slack_app_token: Secret | None = setting("SLACK_APP_TOKEN", None, _secret, about="Slack app-level token (xapp-): Socket Mode")
    slack_client_id: str | None = setting("SLACK_CLIENT_ID", None, about="Slack OAuth client id: many workspaces")
    slack_client_secret: Secret | None = setting("SLACK_CLIENT_SECRET", None, _secret, about="Slack OAuth client secret")
    slack_api_url: str = setting("SLACK_API_URL", "https://slack.com/api/", _http_url, about="base URL of the Slack Web API")
    microsoft_app_id: str | None = setting("MICROSOFT_APP_ID", None, about="the Azure Bot's Microsoft App ID: turns Teams on")
    microsoft_app_password: Secret | None = setting("MICROSOFT_APP_PASSWORD", None, _secret, about="client secret of the Teams app registration")
    microsoft_app_type: str | None = setting("MICROSOFT_APP_TYPE", None, about="SingleTenant, MultiTenant or UserAssignedMSI")
    microsoft_app_tenant_id: str | None = setting("MICROSOFT_APP_TENANT_ID", None, about="directory (tenant) ID of the Teams app")
    pmo_admins: frozenset[str] = setting("PMO_ADMINS", frozenset(), _ids, about="comma-separated platform user ids of the PMO admins")
    pmo_timezone: str = setting("PMO_TIMEZONE", "UTC", _timezone, about="IANA time zone where a sponsor's own is unknown")
    pmo_language: str = setting("PMO_LANGUAGE", "en", _language, about="language where a person's own is unknown (en, de, fr, es, pt)")
    pmo_alert_channel: str | None = setting("PMO_ALERT_CHANNEL", None, about="channel for sour tastes and high-impact pain points")
    pmo_api_token: Secret | None = setting("PMO_API_TOKEN", None, _secret, about="bearer token of the JSON API (off while unset)")
    pmo_metrics_token: Secret | None = setting("PMO_METRICS_TOKEN", None, _secret, about="bearer token of GET /metrics (off while unset)")
    log_format: str = setting("LOG_FORMAT", "text", _log_format, about="text, or json: one JSON object a line")
    local_console_forced: bool = setting("LOCAL_CONSOLE", False, _flag, about="serve the local console beside a platform")
    pmo_catchup_hours: float = setting("PMO_CATCHUP_HOURS", 6.0, _hours, about="hours after which a missed send is skipped")
    pmo_currency: str | None = setting("PMO_CURRENCY", None, _currency, about="ISO 4217 code of the money figures (EUR, USD …)")
    pmo_send_rate: float | None = setting("PMO_SEND_RATE", None, _rate, about="messages a second per workspace/tenant (unset: per platform)")
    pmo_webhook_url: Secret | None = setting("PMO_WEBHOOK_URL", None, _secret_url, about="where webhook events are POSTed (with PMO_WEBHOOK_SECRET)")
    pmo_webhook_secret: Secret | None = setting("PMO_WEBHOOK_SECRET", None, _secret, about="signs each webhook event (HMAC-SHA256)")
    pmo_webhook_timeout: float = setting("PMO_WEBHOOK_TIMEOUT", 10.0, _seconds, about="seconds a webhook receiver has to answer")
    # fmt: on

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
    def webhooks(self) -> bool:
        """Events are recorded and POSTed (CONTRACT section 11): both variables are set."""
        return bool(self.pmo_webhook_url and self.pmo_webhook_secret)

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


VARIABLES: tuple[Variable, ...] = tuple(f.metadata["variable"] for f in dataclasses.fields(Settings))
_FIELDS = {f.metadata["variable"].name: f for f in dataclasses.fields(Settings)}
_SECRET_FIELDS = tuple(f.name for f in dataclasses.fields(Settings) if f.metadata["variable"].secret)


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
    for name in _FIELDS:
        value = source[name] if name in source else file_values.get(name)
        value = value.strip() if value is not None else None
        values[name] = value or None
    return values


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


def _check_webhooks(v: Mapping[str, str | None]) -> None:
    url, secret = v["PMO_WEBHOOK_URL"], v["PMO_WEBHOOK_SECRET"]
    if url and not secret:
        raise ConfigError(
            "PMO_WEBHOOK_URL is set but PMO_WEBHOOK_SECRET is not (webhooks need both, or neither)"
        )
    if secret and not url:
        raise ConfigError(
            "PMO_WEBHOOK_SECRET is set but PMO_WEBHOOK_URL is not (webhooks need both, or neither)"
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


def load_settings(environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> Settings:
    """Read and check every setting once; raise ConfigError with a one-line reason on the first problem.

    `environ=None` reads os.environ (never changing it); `env_file=None` reads no file, and a
    missing file is the same as an empty one. A variable present in the environment wins over
    `.env`, even when it is empty (which counts as unset).
    """
    v = _read_sources(environ, env_file)
    values = {
        f.name: f.default if v[name] is None else f.metadata["variable"].read(name, v[name])
        for name, f in _FIELDS.items()
    }
    _check_slack(v)
    _check_webhooks(v)
    values["microsoft_app_type"] = _app_type(v)  # read with the other Teams variables
    return Settings(**values)
