"""The authorization request of the authorization-code grant with PKCE (RFC 7636).

oauthlib builds the pieces (code verifier, S256 challenge, authorization URL,
redirect parsing); this module adds the two rules it leaves to the caller: a
fresh ``state`` per request and plain ``http`` allowed only on loopback hosts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import os
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

from oauthlib.common import generate_token
from oauthlib.oauth2 import WebApplicationClient
from oauthlib.oauth2.rfc6749.errors import (
    InsecureTransportError,
    MismatchingStateError,
    MissingCodeError,
    OAuth2Error,
)

from tap_openapi.errors import AuthenticationError, ConfigurationError

#: RFC 7636 allows 43 to 128 characters; the longest gives the most entropy.
CODE_VERIFIER_LENGTH = 128
_INSECURE_ENV = "OAUTHLIB_INSECURE_TRANSPORT"
_env_lock = threading.Lock()


@dataclasses.dataclass(frozen=True)
class AuthorizationRequest:
    """One authorization request: the URL to open and what checks its answer.

    Attributes:
        url: The authorization URL to open in a browser.
        state: The anti-CSRF value the redirect must carry back.
        code_verifier: The PKCE secret sent with the code exchange.
        redirect_uri: The redirect URI the request names.
    """

    url: str = dataclasses.field(repr=False)
    state: str = dataclasses.field(repr=False)
    code_verifier: str = dataclasses.field(repr=False)
    redirect_uri: str


def is_loopback_url(url: str) -> bool:
    """Tell whether ``url`` points at this machine (127.0.0.0/8, ::1, localhost)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def _transport_check(*urls: str) -> Iterator[None]:
    """Let oauthlib accept ``http`` for loopback URLs (RFC 8252, section 7.3).

    oauthlib refuses non-https URLs unless OAUTHLIB_INSECURE_TRANSPORT is set;
    a loopback redirect (and a platform on localhost) never leaves the machine.
    """
    allow = all(is_loopback_url(url) for url in urls)
    if not allow or os.environ.get(_INSECURE_ENV):
        yield
        return
    with _env_lock:
        os.environ[_INSECURE_ENV] = "1"
        try:
            yield
        finally:
            os.environ.pop(_INSECURE_ENV, None)


def new_authorization_request(
    authorize_url: str,
    client_id: str,
    redirect_uri: str,
    scope: str | None = None,
) -> AuthorizationRequest:
    """Start an authorization request with a fresh state and PKCE S256 pair.

    Raises:
        ConfigurationError: If ``authorize_url`` uses http on a remote host.
    """
    client = WebApplicationClient(client_id)
    verifier = client.create_code_verifier(CODE_VERIFIER_LENGTH)
    challenge = client.create_code_challenge(verifier, "S256")
    state = generate_token()
    try:
        with _transport_check(authorize_url):
            url = client.prepare_request_uri(
                authorize_url,
                redirect_uri=redirect_uri,
                scope=scope or None,
                state=state,
                code_challenge=challenge,
                code_challenge_method="S256",
            )
    except InsecureTransportError as exc:
        msg = (
            f"Setting authorize_url: {authorize_url} must use https "
            "(plain http is allowed for loopback hosts only)"
        )
        raise ConfigurationError(msg) from exc
    return AuthorizationRequest(
        url=url, state=state, code_verifier=verifier, redirect_uri=redirect_uri
    )


def parse_redirect(request: AuthorizationRequest, redirect_url: str) -> str:
    """Check the redirect the browser came back with and return the code.

    Raises:
        AuthenticationError: On a wrong ``state`` (a possible CSRF attempt), an
            error answer (``access_denied``...) or a redirect without a code.
    """
    client = WebApplicationClient(None)
    try:
        with _transport_check(redirect_url):
            params = client.parse_request_uri_response(
                redirect_url.strip(), state=request.state
            )
    except MismatchingStateError as exc:
        msg = (
            "The redirect's state does not match the authorization request; "
            "it was not started by this login (possible CSRF), so it is rejected"
        )
        raise AuthenticationError(msg, error="mismatching_state") from exc
    except MissingCodeError as exc:
        msg = "The redirect URL carries no authorization code"
        raise AuthenticationError(msg, error="missing_code") from exc
    except InsecureTransportError as exc:
        msg = "The redirect URL must use https unless it points at a loopback host"
        raise AuthenticationError(msg, error="insecure_transport") from exc
    except OAuth2Error as exc:
        msg = f"The authorization was refused: {exc.error}"
        if exc.description:
            msg += f" ({exc.description})"
        raise AuthenticationError(
            msg, error=exc.error, description=exc.description
        ) from exc
    return str(params["code"])
