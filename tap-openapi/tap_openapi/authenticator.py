"""singer-sdk authenticator that signs requests with the shared token manager."""

from __future__ import annotations

import sys
import typing as t

from singer_sdk.authenticators import APIAuthenticatorBase

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    import requests

    from tap_openapi.auth import TokenManager

_BEARER = "Bearer "


class TokenManagerAuthenticator(APIAuthenticatorBase):
    """Adds ``Authorization: Bearer <token>`` from a :class:`TokenManager`.

    The tap makes one token manager per run and gives the same authenticator to
    every stream, so a run asks the token endpoint once per token lifetime,
    whatever the number of streams and concurrent requests.

    Args:
        token_manager: The run's token manager.
    """

    def __init__(self, token_manager: TokenManager) -> None:
        super().__init__()
        self.token_manager = token_manager

    @override
    def authenticate_request(
        self, request: requests.PreparedRequest
    ) -> requests.PreparedRequest:
        """Set the bearer token on ``request``.

        Args:
            request: The request to sign.

        Returns:
            The same request, signed with a currently valid token.
        """
        request.headers["Authorization"] = _BEARER + self.token_manager.access_token()
        return request

    def invalidate(self, request: requests.PreparedRequest) -> None:
        """Forget the token ``request`` was signed with (the platform said A401OT).

        Only that exact token is dropped: when several requests fail at once,
        the token manager renews once, not once per request.

        Args:
            request: A request this authenticator signed.
        """
        header = request.headers.get("Authorization", "")
        if header.startswith(_BEARER):
            self.token_manager.invalidate(header[len(_BEARER) :])
