"""OAuth2 token management shared by the tap and the client library.

One :class:`TokenManager` per run hands out access tokens for every grant the
platform offers, chosen by the ``grant_type`` setting:

``client_credentials``
    ``client_id`` + ``client_secret``.
``password``
    Adds ``username`` + ``password``; a refresh token, if issued, is used first.
``authorization_code``
    ``tap-openapi-login`` signs in once (PKCE S256) and writes the token cache;
    runs then refresh from the cached refresh token.
``refresh_token``
    Starts from the ``refresh_token`` setting (or the cache).
an absolute URI
    An extension grant (RFC 6749, section 4.5), sent with client authentication.

The client authenticates with HTTP Basic (``client_auth_method: basic``,
default) or with form fields (``post``). oauthlib builds the request bodies
and validates the answers; this module adds transport, renewal ahead of expiry,
thread safety and the token cache. Its public contract for the rest of the
package: ``access_token()``, ``invalidate(token)``, ``secret_values()`` and
``token_requests``. Errors it raises never carry a secret value, even when the
platform echoes one in its ``error_description``.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import logging
import math
import threading
import time
import typing as t
from urllib.parse import quote_plus, urlsplit

import orjson
import requests
from oauthlib.oauth2 import (
    BackendApplicationClient,
    Client,
    LegacyApplicationClient,
    WebApplicationClient,
)
from oauthlib.oauth2.rfc6749.errors import OAuth2Error
from oauthlib.oauth2.rfc6749.parameters import prepare_token_request

from tap_openapi import redaction
from tap_openapi.defaults import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_SECONDS,
    DEFAULT_REQUEST_TIMEOUT,
)
from tap_openapi.envelope import RETRIABLE_STATUSES, url_path
from tap_openapi.errors import (
    AuthenticationError,
    ConfigurationError,
    OpenAPIError,
    RetriableTransportError,
    TransportError,
)
from tap_openapi.retry import (
    RetriesExhausted,
    RetryPolicy,
    describe_error,
    tls_error_message,
)
from tap_openapi.token_cache import CachedToken, TokenCache

logger = logging.getLogger(__name__)

#: Renew a token this many seconds (or this share of its lifetime, whichever is
#: smaller) before it expires, so no request goes out with a dying token.
RENEW_MARGIN_SECONDS = 60
RENEW_MARGIN_SHARE = 0.1
#: Assumed lifetime when the token answer has no ``expires_in``, or one that is
#: not a number. ``expires_in: 0`` is not "missing": such a token is used for
#: the request at hand only (see :meth:`TokenManager.access_token`).
DEFAULT_LIFETIME = 3600.0

GRANT_TYPES = ("client_credentials", "password", "authorization_code", "refresh_token")
CLIENT_AUTH_METHODS = ("basic", "post")
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8976/callback"

LOGIN_HINT = "run `tap-openapi-login --config <your config file>` to sign in again"


#: How to fix a refused token request, by RFC 6749 error code.
TOKEN_ERROR_HINTS = {
    "invalid_client": "check client_id and client_secret (and client_auth_method)",
    "unauthorized_client": "this client may not use the grant: check grant_type",
    "unsupported_grant_type": "check grant_type",
    "invalid_scope": "check the scope setting",
}


def is_extension_grant(grant_type: str) -> bool:
    """Tell whether ``grant_type`` is an extension grant (an absolute URI)."""
    return ":" in grant_type and bool(urlsplit(grant_type).scheme)


def parse_expires_in(value: t.Any) -> float | None:
    """Return the lifetime a token answer's ``expires_in`` gives, in seconds.

    ``None`` when ``value`` is missing or not a number (the caller then assumes
    :data:`DEFAULT_LIFETIME`); ``0`` (or less) means expired on arrival.
    Numeric strings are accepted, as many servers send them.
    """
    if value is None or isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def renew_margin(lifetime: float) -> float:
    """Return how long before expiry a token of ``lifetime`` seconds is renewed."""
    return min(RENEW_MARGIN_SECONDS, max(lifetime, 0.0) * RENEW_MARGIN_SHARE)


@dataclasses.dataclass(frozen=True)
class OAuthSettings:
    """The OAuth2 part of the tap settings, checked for the chosen grant.

    Build with :meth:`from_settings`; secrets are left out of ``repr``.
    """

    base_url: str
    token_url: str
    authorize_url: str
    grant_type: str
    client_id: str
    client_secret: str | None = dataclasses.field(repr=False)
    client_auth_method: str
    username: str | None
    password: str | None = dataclasses.field(repr=False)
    refresh_token: str | None = dataclasses.field(repr=False)
    token_cache_path: str | None
    redirect_uri: str
    scope: str | None
    request_timeout: float
    verify_tls: bool
    max_retries: int
    max_retry_seconds: float = DEFAULT_MAX_RETRY_SECONDS

    @classmethod
    def from_settings(cls, settings: t.Mapping[str, t.Any]) -> OAuthSettings:
        """Read and check the settings the grant needs.

        Raises:
            ConfigurationError: Naming the missing or wrong setting.
        """

        def text(key: str) -> str | None:
            value = settings.get(key)
            return None if value in (None, "") else str(value)

        base_url = (text("base_url") or "").rstrip("/")
        token_url = text("token_url") or (base_url and base_url + "/oauth2/token")
        authorize_url = text("authorize_url") or (
            base_url and base_url + "/oauth2/authorize"
        )
        if not token_url:
            msg = "Setting base_url (or token_url) is required"
            raise ConfigurationError(msg)
        grant_type = text("grant_type") or "client_credentials"
        if grant_type not in GRANT_TYPES and not is_extension_grant(grant_type):
            msg = (
                f"Setting grant_type: {grant_type!r} is not supported; use one of "
                + ", ".join(GRANT_TYPES)
                + " or an extension grant URI"
            )
            raise ConfigurationError(msg)
        method = (text("client_auth_method") or "basic").lower()
        if method not in CLIENT_AUTH_METHODS:
            msg = (
                f"Setting client_auth_method: {method!r} is not supported; "
                "use basic or post"
            )
            raise ConfigurationError(msg)
        client_id = text("client_id")
        if not client_id:
            msg = f"Setting client_id is required for grant_type {grant_type}"
            raise ConfigurationError(msg)
        required = {
            "client_credentials": ("client_secret",),
            "password": ("username", "password"),
        }.get(grant_type, ())
        for key in required:
            if not text(key):
                msg = f"Setting {key} is required for grant_type {grant_type}"
                raise ConfigurationError(msg)
        if grant_type == "refresh_token" and not (
            text("refresh_token") or text("token_cache_path")
        ):
            msg = (
                "grant_type refresh_token needs setting refresh_token or "
                "token_cache_path (written by tap-openapi-login)"
            )
            raise ConfigurationError(msg)
        if grant_type == "authorization_code" and not (
            text("token_cache_path") or text("refresh_token")
        ):
            msg = (
                "grant_type authorization_code needs setting token_cache_path "
                "(where tap-openapi-login keeps the tokens)"
            )
            raise ConfigurationError(msg)
        try:
            timeout = float(settings.get("request_timeout") or DEFAULT_REQUEST_TIMEOUT)
            retries = settings.get("max_retries")
            max_retries = DEFAULT_MAX_RETRIES if retries is None else int(retries)
            budget = settings.get("max_retry_seconds")
            max_retry_seconds = (
                DEFAULT_MAX_RETRY_SECONDS if budget is None else float(budget)
            )
        except (TypeError, ValueError) as exc:
            msg = (
                "Settings request_timeout, max_retries and max_retry_seconds "
                "must be numbers"
            )
            raise ConfigurationError(msg) from exc
        verify = settings.get("verify_tls")
        return cls(
            base_url=base_url,
            token_url=token_url,
            authorize_url=authorize_url,
            grant_type=grant_type,
            client_id=client_id,
            client_secret=text("client_secret"),
            client_auth_method=method,
            username=text("username"),
            password=text("password"),
            refresh_token=text("refresh_token"),
            token_cache_path=text("token_cache_path"),
            redirect_uri=text("redirect_uri") or DEFAULT_REDIRECT_URI,
            scope=text("scope"),
            request_timeout=timeout,
            verify_tls=True if verify is None else bool(verify),
            max_retries=max(max_retries, 0),
            max_retry_seconds=max_retry_seconds,
        )


class TokenManager:
    """Fetches, caches and renews the OAuth2 access token.

    One instance is shared by every stream of a tap run (and by every call of a
    client), so a run asks the token endpoint once per token lifetime. All
    methods are thread-safe; concurrent callers wait for one renewal.

    Args:
        settings: The tap settings (``base_url``, ``grant_type``,
            ``client_id``, ``client_secret``, ``token_cache_path``...).
        session: The HTTP session to use for token requests.
        margin: Seconds before expiry at which tokens are renewed; by default
            60 s or a tenth of the lifetime, whichever is smaller.

    Raises:
        ConfigurationError: If a setting the grant needs is missing or wrong.

    Example:
        >>> manager = TokenManager({"base_url": "https://api.example.com",
        ...     "client_id": "id", "client_secret": "secret"})
        >>> headers = {"Authorization": f"Bearer {manager.access_token()}"}
        ... # doctest: +SKIP
    """

    def __init__(
        self,
        settings: t.Mapping[str, t.Any],
        session: requests.Session | None = None,
        *,
        margin: float | None = None,
    ) -> None:
        self.settings = OAuthSettings.from_settings(settings)
        if session is None:
            session = requests.Session()
            session.verify = self.settings.verify_tls
        self._session = session
        self._margin = margin
        # Re-entrant: exchange_code() and the cache path call helpers that lock.
        self._lock = threading.RLock()
        self._token: str | None = None
        self._refresh_token = self.settings.refresh_token
        self._renew_at = 0.0
        self._expires_at = 0.0
        self._issued_at = 0.0
        self._scope: str | None = None
        self._rejected: str | None = None
        self._warned_unsaved_rotation = False
        self._warned_no_lifetime = False
        path = self.settings.token_cache_path
        self.cache = TokenCache(path) if path else None
        self.token_requests = 0
        redaction.register(self)

    def __repr__(self) -> str:
        return (
            f"TokenManager(grant_type={self.settings.grant_type!r}, "
            f"token_url={self.token_url!r})"
        )

    @property
    def token_url(self) -> str:
        """The token endpoint, ``{base_url}/oauth2/token`` unless set."""
        return self.settings.token_url

    @property
    def grant_type(self) -> str:
        """The configured grant."""
        return self.settings.grant_type

    def access_token(self) -> str:
        """Return a valid access token, fetching a new one when needed.

        A token the platform issued with ``expires_in: 0`` is returned once, for
        the request at hand; the next call fetches another.

        Raises:
            AuthenticationError: If the token endpoint refuses (the message
                names the RFC 6749 error, never a secret).
            TransportError: If the token endpoint cannot be reached.
        """
        with self._lock, self._redacting():
            if self._token is None or time.monotonic() >= self._renew_at:
                self._renew()
            assert self._token is not None
            return self._token

    def secret_values(self) -> list[str]:
        """Return the secrets this manager holds, to keep them out of messages.

        The secret settings, the current access and refresh tokens, the last
        token the platform rejected, and the HTTP Basic credentials.
        """
        oauth = self.settings
        values = [
            oauth.client_secret,
            oauth.password,
            oauth.refresh_token,
            self._token,
            self._refresh_token,
            self._rejected,
        ]
        if oauth.client_secret:
            pair = f"{quote_plus(oauth.client_id)}:{quote_plus(oauth.client_secret)}"
            values.append(base64.b64encode(pair.encode()).decode("ascii"))
        return [value for value in values if value]

    @contextlib.contextmanager
    def _redacting(self) -> t.Iterator[None]:
        """Take secret values out of the errors raised inside the block.

        The platform may echo what it was sent in an error_description.
        """
        try:
            yield
        except OpenAPIError as exc:
            redaction.scrub(exc, self.secret_values())
            raise

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (the platform said it expired); the next call renews."""
        with self._lock:
            self._rejected = token
            if self._token == token:
                logger.debug("Access token rejected by the platform; renewing")
                self._token = None

    def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> None:
        """Trade an authorization code for tokens and write the token cache.

        Used by ``tap-openapi-login`` after the browser came back.

        Raises:
            AuthenticationError: If the token endpoint refuses the code.
            ConfigurationError: If no ``token_cache_path`` is set.
        """
        if self.cache is None:
            msg = "Setting token_cache_path is required to keep the signed-in tokens"
            raise ConfigurationError(msg)
        client = WebApplicationClient(self.settings.client_id)
        body = client.prepare_request_body(
            code=code,
            redirect_uri=redirect_uri,
            code_verifier=code_verifier,
            **self._client_auth_fields(),
        )
        with self._lock, self._redacting(), self.cache.lock():
            self._apply(self._request(client, body, "authorization_code"))
            if not self._refresh_token:
                logger.warning(
                    "The platform issued no refresh token; the tap can run only "
                    "until the access token expires"
                )
            self.cache.save(self._cached())

    # -- renewal ---------------------------------------------------------------

    def _renew(self) -> None:
        if self.cache is None:
            self._obtain()
            return
        with self.cache.lock():
            cached = self._load_cache()
            if cached is not None and self._adopt(cached):
                return
            self._obtain()
            self.cache.save(self._cached())

    def _load_cache(self) -> CachedToken | None:
        assert self.cache is not None
        cached = self.cache.load()
        if cached is None:
            return None
        if cached.client_id not in (None, self.settings.client_id) or (
            cached.token_url not in (None, self.token_url)
        ):
            logger.warning(
                "Token cache %s belongs to another client or token endpoint; "
                "ignoring it",
                self.cache.path,
            )
            return None
        if cached.refresh_token:
            # The cache is newer than the setting: the server rotates refresh
            # tokens, so the one in the config may already be spent.
            self._refresh_token = cached.refresh_token
        return cached

    def _adopt(self, cached: CachedToken) -> bool:
        """Use the cached access token if it is still good for a while."""
        token = cached.access_token
        if not token or token == self._rejected:
            return False
        lifetime = cached.expires_at - (cached.issued_at or cached.expires_at)
        margin = self._margin if self._margin is not None else renew_margin(lifetime)
        left = cached.seconds_left()
        if left <= margin:
            return False
        self._token = token
        self._expires_at = cached.expires_at
        self._issued_at = cached.issued_at
        self._scope = cached.scope
        self._renew_at = time.monotonic() + left - margin
        logger.debug("Using the cached access token (valid for %.0f s)", left)
        return True

    def _obtain(self) -> None:
        grant = self.settings.grant_type
        if grant == "client_credentials":
            client: Client = BackendApplicationClient(self.settings.client_id)
            body = client.prepare_request_body(
                scope=self.settings.scope, **self._client_auth_fields()
            )
            self._apply(self._request(client, body, grant))
        elif grant == "password":
            if self._refresh_token and self._try_refresh():
                return
            client = LegacyApplicationClient(self.settings.client_id)
            body = client.prepare_request_body(
                username=self.settings.username,
                password=self.settings.password,
                scope=self.settings.scope,
                **self._client_auth_fields(),
            )
            self._apply(self._request(client, body, grant))
        elif is_extension_grant(grant):
            # RFC 6749, section 4.5: sent as is, with client authentication.
            fields = self._client_auth_fields()
            body = prepare_token_request(
                grant,
                include_client_id=fields.pop("include_client_id"),
                scope=self.settings.scope,
                **fields,
            )
            client = BackendApplicationClient(self.settings.client_id)
            self._apply(self._request(client, body, grant))
        else:
            if not self._refresh_token:
                where = self.cache.path if self.cache else "the settings"
                msg = f"No refresh token in {where}; {LOGIN_HINT}"
                raise AuthenticationError(msg, error="login_required")
            try:
                self._refresh()
            except AuthenticationError as exc:
                if exc.error != "invalid_grant":
                    raise
                msg = f"The refresh token was refused ({exc}); {LOGIN_HINT}"
                raise AuthenticationError(
                    msg, error=exc.error, description=exc.description, status=exc.status
                ) from exc

    def _try_refresh(self) -> bool:
        """Refresh for the password grant; fall back to it if refused."""
        try:
            self._refresh()
        except AuthenticationError as exc:
            if exc.error != "invalid_grant":
                raise
            logger.debug("Refresh token refused; requesting a new password grant")
            self._refresh_token = None
            return False
        return True

    def _refresh(self) -> None:
        client = WebApplicationClient(self.settings.client_id)
        body = client.prepare_refresh_body(
            refresh_token=self._refresh_token,
            scope=self.settings.scope,
            **self._client_auth_fields(),
        )
        self._apply(self._request(client, body, "refresh_token"))

    def _client_auth_fields(self) -> dict[str, t.Any]:
        """The body fields that authenticate the client, per client_auth_method.

        A public client (no secret) always names itself in the body.
        """
        secret = self.settings.client_secret
        if self.settings.client_auth_method == "post" or not secret:
            fields: dict[str, t.Any] = {
                "include_client_id": True,
                "client_id": self.settings.client_id,
            }
            if secret:
                fields["client_secret"] = secret
            return fields
        return {"include_client_id": False}

    def _basic_auth(self) -> requests.auth.HTTPBasicAuth | None:
        secret = self.settings.client_secret
        if self.settings.client_auth_method != "basic" or not secret:
            return None
        # RFC 6749, section 2.3.1: both parts are form-urlencoded first.
        return requests.auth.HTTPBasicAuth(
            quote_plus(self.settings.client_id), quote_plus(secret)
        )

    # -- the token endpoint ------------------------------------------------------

    def _request(self, client: Client, body: str, grant: str) -> dict[str, t.Any]:
        """POST ``body`` to the token endpoint and return the parsed token."""
        url = self.token_url
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        # verify_tls: false must win over REQUESTS_CA_BUNDLE, which requests
        # would otherwise apply to a session that does not verify.
        verify = False if self._session.verify is False else None

        def attempt() -> requests.Response:
            logger.info("Requesting an access token (%s grant) from %s", grant, url)
            self.token_requests += 1
            response = self._session.post(
                url,
                data=body,
                headers=headers,
                auth=self._basic_auth(),
                timeout=self.settings.request_timeout,
                verify=verify,
            )
            if response.status_code in RETRIABLE_STATUSES:
                # With the response, so that Retry-After is honoured.
                raise RetriableTransportError(
                    f"Token endpoint {url_path(url)} answered "
                    f"HTTP {response.status_code}",
                    response,
                )
            return response

        policy = RetryPolicy(
            max_retries=self.settings.max_retries,
            max_seconds=self.settings.max_retry_seconds,
        )
        try:
            response = policy.call(
                attempt, path=url_path(url), what=f"token request, {grant} grant"
            )
        except requests.exceptions.SSLError as exc:
            raise TransportError(tls_error_message(exc, url)) from exc
        except RetriesExhausted as exc:
            raise TransportError(self._gave_up_message(exc)) from exc.last
        except requests.RequestException as exc:
            msg = f"Token request to {url} failed: {describe_error(exc)}"
            raise TransportError(msg) from exc
        return self._parse(client, response, grant)

    def _gave_up_message(self, exc: RetriesExhausted) -> str:
        url, last = self.token_url, exc.last
        response = getattr(last, "response", None)
        if isinstance(last, RetriableTransportError) and response is not None:
            return (
                f"Token endpoint {url} answered HTTP {response.status_code} "
                f"({exc.summary}): the authorization server is down, overloaded "
                "or throttling this client; try again later"
            )
        budget = f"; {exc.summary}" if exc.budget is not None else ""
        return (
            f"Token endpoint {url} unreachable after {exc.attempts} attempts"
            f"{budget}: {describe_error(last)}; check base_url (or token_url) "
            "and the network"
        )

    def _parse(
        self, client: Client, response: requests.Response, grant: str
    ) -> dict[str, t.Any]:
        status = response.status_code
        try:
            raw = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raw = None
        if not isinstance(raw, dict):
            msg = (
                f"Token endpoint {self.token_url} answered HTTP {status} without "
                f"an OAuth2 JSON body ({grant} grant)"
            )
            if status == 404:
                msg += "; check token_url (default {base_url}/oauth2/token)"
            if status >= 400:
                raise AuthenticationError(msg, status=status)
            raise TransportError(msg)
        body = response.text
        if "expires_in" in raw:
            # Read here, not by oauthlib: it drops an expires_in of 0 (which
            # would then read as "missing") and raises a bare ValueError on
            # one that is not an integer.
            expires_in = raw.pop("expires_in")
            body = orjson.dumps(raw).decode("utf-8")
        else:
            expires_in = None
        try:
            # No scope is passed: oauthlib would raise a bare Warning when the
            # server narrows the scope, which is the server's right.
            token = client.parse_request_body_response(body)
        except OAuth2Error as exc:
            msg = f"Token request refused ({grant} grant): {exc.error}"
            if exc.description:
                msg += f" ({exc.description})"
            hint = TOKEN_ERROR_HINTS.get(exc.error)
            if exc.error == "invalid_grant" and grant == "password":
                hint = "check username and password"
            if hint:
                msg += f"; {hint}"
            raise AuthenticationError(
                msg, error=exc.error, description=exc.description, status=status
            ) from exc
        if status >= 400:
            msg = f"Token request refused ({grant} grant): HTTP {status}"
            raise AuthenticationError(msg, status=status)
        answer = dict(token)
        answer["expires_in"] = parse_expires_in(expires_in)
        if expires_in is not None and answer["expires_in"] is None:
            logger.warning(
                "Token endpoint %s sent expires_in %.20r, not a number of seconds; "
                "assuming %.0f s",
                self.token_url,
                expires_in,
                DEFAULT_LIFETIME,
            )
        return answer

    def _apply(self, token: t.Mapping[str, t.Any]) -> None:
        """Adopt a token answer whose ``expires_in`` was read by :meth:`_parse`."""
        lifetime = token.get("expires_in")
        if lifetime is None:
            lifetime = DEFAULT_LIFETIME
        elif lifetime <= 0 and not self._warned_no_lifetime:
            self._warned_no_lifetime = True
            logger.warning(
                "Token endpoint %s issues access tokens with expires_in 0: each "
                "token is used for one request only, so every request costs a "
                "token request",
                self.token_url,
            )
        # A lifetime of 0 puts _renew_at in the past: the next call renews.
        margin = self._margin if self._margin is not None else renew_margin(lifetime)
        now = time.time()
        self._token = str(token["access_token"])
        self._issued_at = now
        self._expires_at = now + lifetime
        self._renew_at = time.monotonic() + lifetime - margin
        scope = token.get("scope")
        self._scope = " ".join(scope) if isinstance(scope, list) else scope
        new_refresh = token.get("refresh_token")
        if new_refresh and new_refresh != self._refresh_token:
            if self._refresh_token is not None:
                logger.debug("The platform rotated the refresh token")
                self._warn_unsaved_rotation()
            self._refresh_token = str(new_refresh)
        logger.debug(
            "Access token valid for %.0f s; renewing %.0f s before expiry",
            lifetime,
            margin,
        )

    def _warn_unsaved_rotation(self) -> None:
        # Only a refresh token from the settings is lost for the next run; one
        # issued during this run (password grant) was never stored anywhere.
        spent = self.settings.refresh_token is not None
        if not spent or self.cache is not None or self._warned_unsaved_rotation:
            return
        self._warned_unsaved_rotation = True
        logger.warning(
            "The platform rotated the refresh token but no token_cache_path is "
            "set: the refresh_token setting is now spent. Set token_cache_path "
            "so the new one is kept for the next run"
        )

    def _cached(self) -> CachedToken:
        return CachedToken(
            access_token=self._token,
            refresh_token=self._refresh_token,
            expires_at=self._expires_at,
            issued_at=self._issued_at,
            scope=self._scope,
            client_id=self.settings.client_id,
            token_url=self.token_url,
        )
