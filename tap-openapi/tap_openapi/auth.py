"""OAuth2 token management shared by the tap and the client library.

Only the interface of :class:`TokenManager` is a contract for the rest of the
package: ``access_token()``, ``invalidate(token)`` and ``token_requests``.
"""

from __future__ import annotations

import logging
import threading
import time
import typing as t

import requests

from tap_openapi.errors import AuthenticationError, TransportError

logger = logging.getLogger(__name__)

#: Renew a token this many seconds (or this share of its lifetime, whichever is
#: smaller) before it expires, so no request goes out with a dying token.
RENEW_MARGIN_SECONDS = 60
RENEW_MARGIN_SHARE = 0.1


class TokenManager:
    """Fetches, caches and renews the OAuth2 access token.

    One instance is shared by every stream of a tap run (and by every call of a
    client), so a run asks the token endpoint once per token lifetime.

    Args:
        settings: The tap settings (``base_url``, ``token_url``, ``client_id``,
            ``client_secret``, ``scope``, ``request_timeout``...).
        session: The HTTP session to use for token requests.
    """

    def __init__(
        self,
        settings: t.Mapping[str, t.Any],
        session: requests.Session | None = None,
    ) -> None:
        self._settings = settings
        self._session = session or requests.Session()
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.token_requests = 0

    @property
    def token_url(self) -> str:
        """The token endpoint, ``{base_url}/oauth2/token`` unless set."""
        url = self._settings.get("token_url")
        if url:
            return str(url)
        return str(self._settings["base_url"]).rstrip("/") + "/oauth2/token"

    def access_token(self) -> str:
        """Return a valid access token, fetching a new one when needed."""
        with self._lock:
            if self._token is None or time.monotonic() >= self._renew_at:
                self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (the platform said it expired); the next call renews."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _fetch(self) -> None:
        body = {"grant_type": "client_credentials"}
        if self._settings.get("scope"):
            body["scope"] = str(self._settings["scope"])
        auth = (
            str(self._settings.get("client_id", "")),
            str(self._settings.get("client_secret", "")),
        )
        logger.info("Requesting an access token from %s", self.token_url)
        self.token_requests += 1
        try:
            response = self._session.post(
                self.token_url,
                data=body,
                auth=auth,
                timeout=float(self._settings.get("request_timeout", 300)),
            )
        except requests.RequestException as exc:
            msg = f"Token endpoint {self.token_url} unreachable: {type(exc).__name__}"
            raise TransportError(msg) from exc
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if response.status_code != 200 or "access_token" not in payload:
            error = payload.get("error", f"HTTP {response.status_code}")
            description = payload.get("error_description")
            msg = f"Token request refused: {error}"
            if description:
                msg += f" ({description})"
            raise AuthenticationError(
                msg,
                error=error,
                description=description,
                status=response.status_code,
            )
        lifetime = float(payload.get("expires_in", 3600))
        margin = min(RENEW_MARGIN_SECONDS, lifetime * RENEW_MARGIN_SHARE)
        self._token = str(payload["access_token"])
        self._renew_at = time.monotonic() + lifetime - margin
        logger.debug("Access token valid for %.0f s", lifetime)
