"""Who may post to /api/messages, and how the bot proves who it is when it calls Teams back.

Inbound tokens are checked by the Bot Framework's own code (`ConfigurationBotFrameworkAuthentication`):
signature against the published keys, issuer, audience (our app id), expiry and the `serviceurl`
claim. `StrictAuthentication` only makes every way a token can be wrong end as a refusal (401),
and hands out connector clients whose own retries are off, so that `bot.teams.sender` alone decides
when to try again.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    ServiceClientCredentialsFactory,
    UserTokenClient,
)
from botframework.connector.skills import BotFrameworkClient
from msrest.authentication import Authentication

from bot.config import Settings

CONNECT_TIMEOUT = 30  # seconds for one call to the connector


@dataclass(frozen=True)
class BotFrameworkEndpoints:
    """Where tokens come from, for clouds other than Microsoft's public one (and for tests).

    The first four are the Bot Framework's own configuration keys of the same meaning
    (TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL, …); leaving them all unset is the public cloud.
    `token_url` makes the bot fetch its outbound tokens with a plain OAuth2 client-credentials
    POST to that URL instead of through MSAL (which only talks to https login.microsoftonline.com).
    """

    openid_metadata_url: str | None = None
    token_issuer: str | None = None
    login_url: str | None = None
    oauth_scope: str | None = None
    token_url: str | None = None

    @property
    def parameterized(self) -> bool:
        return bool(self.openid_metadata_url or self.token_issuer or self.login_url or self.oauth_scope)


class _Configuration:
    """The attribute bag `ConfigurationBotFrameworkAuthentication` reads its settings from."""

    def __init__(self, settings: Settings, endpoints: BotFrameworkEndpoints) -> None:
        self.APP_ID = settings.microsoft_app_id
        self.APP_PASSWORD = (
            settings.microsoft_app_password.reveal() if settings.microsoft_app_password else None
        )
        # Without an app id there is nothing to validate against: the Emulator's local mode.
        self.APP_TYPE = settings.microsoft_app_type if settings.microsoft_app_id else "MultiTenant"
        self.APP_TENANTID = settings.microsoft_app_tenant_id
        if endpoints.parameterized:
            tenant = settings.microsoft_app_tenant_id or AuthenticationConstants.DEFAULT_CHANNEL_AUTH_TENANT
            self.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL = (
                endpoints.openid_metadata_url
                or AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL
            )
            self.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER = (
                endpoints.token_issuer or AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER
            )
            self.TO_CHANNEL_FROM_BOT_LOGIN_URL = (
                endpoints.login_url or AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL_PREFIX + tenant
            )
            self.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE = (
                endpoints.oauth_scope or AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
            )
            self.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL = (
                AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL
            )
            self.VALIDATE_AUTHORITY = True

    def __repr__(self) -> str:  # never show the password
        return f"_Configuration(APP_ID={self.APP_ID!r}, APP_TYPE={self.APP_TYPE!r})"


class _TokenEndpointCredentials(Authentication):
    """A bot token from an OAuth2 client-credentials POST, cached until a minute before it expires."""

    def __init__(self, token_url: str, app_id: str, password: str, scope: str) -> None:
        self.microsoft_app_id = app_id
        self._token_url, self._password = token_url, password
        self._scope = scope if scope.endswith("/.default") else scope + "/.default"
        self._token, self._expires = "", 0.0
        self._lock = threading.Lock()

    def _access_token(self) -> str:
        with self._lock:
            if self._token and time.monotonic() < self._expires:
                return self._token
            response = requests.post(
                self._token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.microsoft_app_id,
                    "client_secret": self._password,
                    "scope": self._scope,
                },
                timeout=CONNECT_TIMEOUT,
            )
            if response.status_code != 200:
                raise PermissionError(
                    f"the token endpoint refused the bot's credentials ({response.status_code})"
                )
            body = response.json()
            self._token = str(body["access_token"])
            self._expires = time.monotonic() + float(body.get("expires_in", 3600)) - 60
            return self._token

    def signed_session(self, session: requests.Session | None = None) -> requests.Session:
        session = session or requests.Session()
        session.headers["Authorization"] = f"Bearer {self._access_token()}"
        return session


class TokenEndpointCredentialsFactory(ServiceClientCredentialsFactory):
    """Outbound credentials from `BotFrameworkEndpoints.token_url` (see there)."""

    def __init__(self, token_url: str, app_id: str, password: str) -> None:
        self._token_url, self._app_id, self._password = token_url, app_id, password
        self._cache: dict[str, _TokenEndpointCredentials] = {}

    async def is_valid_app_id(self, app_id: str) -> bool:
        return app_id == self._app_id

    async def is_authentication_disabled(self) -> bool:
        return not self._app_id

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Authentication:
        if app_id != self._app_id:
            raise PermissionError("Invalid app_id")
        scope = oauth_scope or AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
        if scope not in self._cache:
            self._cache[scope] = _TokenEndpointCredentials(self._token_url, app_id, self._password, scope)
        return self._cache[scope]


class _NoSdkRetries(ConnectorFactory):
    """Connector clients without msrest's own retries (ours pace and back off instead)."""

    def __init__(self, inner: ConnectorFactory) -> None:
        self._inner = inner

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        client = await self._inner.create(service_url, audience)
        client.config.retry_policy.retries = 0
        client.config.connection.timeout = CONNECT_TIMEOUT
        return client


class StrictAuthentication(BotFrameworkAuthentication):
    """The Bot Framework's authentication, where any failure to validate a token is a refusal."""

    def __init__(self, inner: BotFrameworkAuthentication) -> None:
        self._inner = inner

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        try:
            result = await self._inner.authenticate_request(activity, auth_header)
        except PermissionError:
            raise
        except Exception as exc:
            raise PermissionError(f"the token was refused ({type(exc).__name__})") from exc
        if result.connector_factory is not None:
            result.connector_factory = _NoSdkRetries(result.connector_factory)
        return result

    async def authenticate_streaming_request(
        self, auth_header: str, channel_id_header: str
    ) -> AuthenticateRequestResult:
        raise PermissionError("streaming connections are not served")

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return _NoSdkRetries(self._inner.create_connector_factory(claims_identity))

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        return await self._inner.create_user_token_client(claims_identity)

    def create_bot_framework_client(self) -> BotFrameworkClient:
        return self._inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return self._inner.get_originating_audience()

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        return await self._inner.authenticate_channel_request(auth_header)


def build_authentication(
    settings: Settings, endpoints: BotFrameworkEndpoints | None = None
) -> StrictAuthentication:
    """The Bot Framework authentication for these settings (local mode when no app id is set)."""
    endpoints = endpoints or BotFrameworkEndpoints()
    configuration = _Configuration(settings, endpoints)
    credentials: Any = None
    if endpoints.token_url and settings.microsoft_app_id:
        credentials = TokenEndpointCredentialsFactory(
            endpoints.token_url, settings.microsoft_app_id, configuration.APP_PASSWORD or ""
        )
    inner = ConfigurationBotFrameworkAuthentication(configuration, credentials_factory=credentials)
    return StrictAuthentication(inner)
