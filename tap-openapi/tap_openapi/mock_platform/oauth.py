"""The mock platform's OAuth2 authorization server (RFC 6749, RFC 7636).

Grants: ``client_credentials``, ``password``, ``authorization_code`` with PKCE
S256 and ``refresh_token`` (rotating: each refresh token works once). Errors
are :class:`OAuthError` carrying the RFC 6749 error code and HTTP status.

Each token request is counted by how the client authenticated:
``token_requests:auth:basic`` (HTTP Basic), ``token_requests:auth:post``
(``client_secret`` in the form) or ``token_requests:auth:none`` (a public
client: ``client_id`` only).

For tests of secret handling, the client id :data:`ECHO_CLIENT_ID` is always
refused with an ``error_description`` that repeats the credentials it was
sent, as a careless platform might.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import secrets
import threading
import time
import typing as t
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import unquote_plus

#: Lifetime of an authorization code, in seconds.
CODE_TTL = 600.0
DEFAULT_SCOPE = "api"
#: A client id whose token requests fail with the sent secrets echoed back.
ECHO_CLIENT_ID = "echo-secrets-client"


class OAuthError(Exception):
    """An RFC 6749 error answer (section 5.2)."""

    def __init__(
        self, error: str, description: str, status: int = HTTPStatus.BAD_REQUEST
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        """Return the JSON error body."""
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True)
class Credentials:
    """The one client and the one resource owner the platform knows."""

    client_id: str = "demo-client"
    client_secret: str = "demo-secret"  # noqa: S105 (published demo value)
    username: str = "demo-user"
    password: str = "demo-password"  # noqa: S105 (published demo value)


@dataclass(frozen=True)
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str | None
    scope: str
    expires_at: float


@dataclass
class TokenStore:
    """Issued tokens; answers whether a bearer token is valid, expired or unknown.

    ``advertised_ttl`` is the ``expires_in`` sent to clients (default: the
    real ``token_ttl``); advertising more than the real lifetime makes tokens
    expire early, as when a platform revokes them, so clients meet A401OT.
    """

    token_ttl: float
    advertised_ttl: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _access: dict[str, float] = field(default_factory=dict)
    _refresh: dict[str, str] = field(default_factory=dict)
    _codes: dict[str, _Code] = field(default_factory=dict)

    def issue(self, scope: str, *, with_refresh: bool) -> dict[str, t.Any]:
        """Create an access token (and a refresh token) and return the answer."""
        access = secrets.token_urlsafe(32)
        answer: dict[str, t.Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": math.ceil(
                self.token_ttl if self.advertised_ttl is None else self.advertised_ttl
            ),
            "scope": scope,
        }
        with self._lock:
            self._access[access] = time.monotonic() + self.token_ttl
            if with_refresh:
                refresh = secrets.token_urlsafe(32)
                self._refresh[refresh] = scope
                answer["refresh_token"] = refresh
        return answer

    def check(self, token: str) -> str:
        """Return ``"ok"``, ``"expired"`` or ``"unknown"`` for a bearer token."""
        with self._lock:
            expires_at = self._access.get(token)
        if expires_at is None:
            return "unknown"
        return "ok" if time.monotonic() < expires_at else "expired"

    def expire_all(self) -> None:
        """Make every access token issued so far expired (not unknown)."""
        with self._lock:
            for token in self._access:
                self._access[token] = 0.0

    def redeem_refresh(self, refresh: str) -> str:
        """Invalidate a refresh token and return its scope (rotation)."""
        with self._lock:
            scope = self._refresh.pop(refresh, None)
        if scope is None:
            raise OAuthError("invalid_grant", "refresh token is invalid or used")
        return scope

    def new_code(
        self, client_id: str, redirect_uri: str, challenge: str | None, scope: str
    ) -> str:
        """Create a one-time authorization code."""
        code = secrets.token_urlsafe(24)
        expires_at = time.monotonic() + CODE_TTL
        with self._lock:
            self._codes[code] = _Code(
                client_id, redirect_uri, challenge, scope, expires_at
            )
        return code

    def redeem_code(self, code: str) -> _Code:
        """Remove an authorization code (single use) and return what it grants."""
        with self._lock:
            grant = self._codes.pop(code, None)
        if grant is None or time.monotonic() >= grant.expires_at:
            raise OAuthError("invalid_grant", "authorization code is invalid or used")
        return grant


def s256(verifier: str) -> str:
    """Return the PKCE S256 challenge of ``verifier`` (RFC 7636 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class AuthorizationServer:
    """Token and authorize endpoints' logic, independent of HTTP plumbing.

    Args:
        credentials: The client and resource owner it accepts.
        tokens: Where issued tokens and codes are kept.
        count: Called with a counter name for each event worth counting
            (``token_requests:auth:<basic|post|none>``); ``None`` counts nothing.
    """

    def __init__(
        self,
        credentials: Credentials,
        tokens: TokenStore,
        count: Callable[[str], None] | None = None,
    ) -> None:
        self.credentials = credentials
        self.tokens = tokens
        self._count = count

    def _client(self, form: dict[str, str], authorization: str | None) -> bool:
        """Authenticate the client; return whether it proved its secret.

        A client that sends only its id is a public client (RFC 6749 2.1),
        allowed only for grants bound to something it holds (PKCE, refresh).
        """
        client_id = form.get("client_id")
        secret = form.get("client_secret")
        scheme, _, encoded = (authorization or "").partition(" ")
        basic = scheme.lower() == "basic"
        method = "basic" if basic else "none" if secret is None else "post"
        if self._count is not None:
            self._count(f"token_requests:auth:{method}")
        if basic:
            try:
                decoded = base64.b64decode(encoded, validate=True)
                user, _, password = decoded.decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise OAuthError(
                    "invalid_client",
                    "malformed Basic credentials",
                    HTTPStatus.UNAUTHORIZED,
                ) from exc
            # RFC 6749 2.3.1: both parts are form-urlencoded before encoding.
            client_id, secret = unquote_plus(user), unquote_plus(password)
        if client_id == ECHO_CLIENT_ID:
            sent = {
                "client_secret": secret,
                "password": form.get("password"),
                "refresh_token": form.get("refresh_token"),
            }
            echoed = ", ".join(f"{key}={value}" for key, value in sent.items() if value)
            raise OAuthError(
                "invalid_client",
                f"client {client_id} is not allowed (sent {echoed or 'nothing'})",
                HTTPStatus.UNAUTHORIZED,
            )
        if client_id != self.credentials.client_id:
            raise OAuthError(
                "invalid_client", "unknown client", HTTPStatus.UNAUTHORIZED
            )
        if secret is None:
            return False
        if not hmac.compare_digest(secret, self.credentials.client_secret):
            raise OAuthError(
                "invalid_client",
                "client authentication failed",
                HTTPStatus.UNAUTHORIZED,
            )
        return True

    def token(
        self, form: dict[str, str], authorization: str | None
    ) -> dict[str, t.Any]:
        """Answer a token request.

        Args:
            form: The decoded form body.
            authorization: The ``Authorization`` header, if any.

        Returns:
            The token answer.

        Raises:
            OAuthError: With the RFC 6749 error to send back.
        """
        grant = form.get("grant_type")
        if not grant:
            raise OAuthError("invalid_request", "grant_type is missing")
        handlers = {
            "client_credentials": self._client_credentials,
            "password": self._password,
            "authorization_code": self._authorization_code,
            "refresh_token": self._refresh_token,
        }
        handler = handlers.get(grant)
        if handler is None:
            raise OAuthError(
                "unsupported_grant_type", f"grant_type {grant!r} is not supported"
            )
        confidential = self._client(form, authorization)
        return handler(form, confidential)

    @staticmethod
    def _need_secret(confidential: bool) -> None:
        if not confidential:
            raise OAuthError(
                "invalid_client", "client secret is missing", HTTPStatus.UNAUTHORIZED
            )

    def _client_credentials(
        self, form: dict[str, str], confidential: bool
    ) -> dict[str, t.Any]:
        self._need_secret(confidential)
        scope = form.get("scope") or DEFAULT_SCOPE
        # RFC 6749 4.4.3: no refresh token for the client credentials grant.
        return self.tokens.issue(scope, with_refresh=False)

    def _password(self, form: dict[str, str], confidential: bool) -> dict[str, t.Any]:
        self._need_secret(confidential)
        username, password = form.get("username"), form.get("password")
        if username is None or password is None:
            raise OAuthError("invalid_request", "username and password are required")
        creds = self.credentials
        if username != creds.username or not hmac.compare_digest(
            password, creds.password
        ):
            raise OAuthError("invalid_grant", "invalid resource owner credentials")
        scope = form.get("scope") or DEFAULT_SCOPE
        return self.tokens.issue(scope, with_refresh=True)

    def _authorization_code(
        self, form: dict[str, str], confidential: bool
    ) -> dict[str, t.Any]:
        code = form.get("code")
        if not code:
            raise OAuthError("invalid_request", "code is missing")
        grant = self.tokens.redeem_code(code)
        if form.get("redirect_uri") != grant.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri does not match")
        verifier = form.get("code_verifier")
        if grant.challenge is None:
            self._need_secret(confidential)
        elif verifier is None:
            raise OAuthError("invalid_grant", "code_verifier is missing")
        elif not hmac.compare_digest(s256(verifier), grant.challenge):
            raise OAuthError("invalid_grant", "PKCE verification failed")
        return self.tokens.issue(grant.scope, with_refresh=True)

    def _refresh_token(
        self, form: dict[str, str], confidential: bool
    ) -> dict[str, t.Any]:
        refresh = form.get("refresh_token")
        if not refresh:
            raise OAuthError("invalid_request", "refresh_token is missing")
        scope = self.tokens.redeem_refresh(refresh)
        return self.tokens.issue(scope, with_refresh=True)

    def authorize(self, query: dict[str, str]) -> tuple[str, dict[str, str]]:
        """Auto-approve an authorization request.

        Args:
            query: The decoded query string of ``GET /oauth2/authorize``.

        Returns:
            The redirect URI and the parameters to append to it: ``code`` and
            ``state`` on success, ``error`` (and ``state``) otherwise.

        Raises:
            OAuthError: When the client or redirect URI is not trustworthy, so
                the error must not go to the redirect URI (RFC 6749 4.1.2.1).
        """
        if query.get("client_id") != self.credentials.client_id:
            raise OAuthError("invalid_client", "unknown client")
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri.startswith(("http://", "https://")):
            raise OAuthError("invalid_request", "redirect_uri must be an http(s) URL")
        params: dict[str, str] = {}
        if "state" in query:
            params["state"] = query["state"]
        challenge = query.get("code_challenge")
        method = query.get("code_challenge_method", "plain" if challenge else None)
        if query.get("response_type") != "code":
            params["error"] = "unsupported_response_type"
        elif challenge is not None and method != "S256":
            params["error"] = "invalid_request"
            params["error_description"] = "only code_challenge_method S256 is allowed"
        else:
            scope = query.get("scope") or DEFAULT_SCOPE
            params["code"] = self.tokens.new_code(
                self.credentials.client_id, redirect_uri, challenge, scope
            )
        return redirect_uri, params
