"""The platform's response envelope: unwrap ``data`` or raise a typed error.

Every API answers ``{"errCode", "errMsg", "requestId", "data"}``; HTTP errors
carry ``X-Ca-Error-Code``, ``X-Ca-Error-Message`` and ``X-Ca-Request-Id``.
"""

from __future__ import annotations

import typing as t
from http import HTTPStatus
from urllib.parse import urlsplit

import orjson
import requests

from tap_openapi.errors import HTTPStatusError, PlatformError, RetriableTransportError

#: The ``X-Ca-Error-Code`` the platform sends on a 401 when the token expired.
TOKEN_EXPIRED_CODE = "A401OT"  # noqa: S105 (an error code)
#: Sent for a token the platform does not know, e.g. a cached token issued
#: before the platform restarted; a fresh token fixes it as well.
TOKEN_UNKNOWN_CODE = "A401AT"  # noqa: S105 (an error code)

#: Statuses worth another try: throttling and server-side trouble.
RETRIABLE_STATUSES = frozenset(
    {
        HTTPStatus.TOO_MANY_REQUESTS,
        HTTPStatus.INTERNAL_SERVER_ERROR,
        HTTPStatus.BAD_GATEWAY,
        HTTPStatus.SERVICE_UNAVAILABLE,
        HTTPStatus.GATEWAY_TIMEOUT,
    }
)


def url_path(url: str) -> str:
    """Return the path of ``url`` without its query string (which may hold secrets)."""
    return urlsplit(url).path or "/"


def is_token_expired(response: requests.Response) -> bool:
    """Tell whether ``response`` asks for a new access token (401 A401OT/A401AT)."""
    return response.status_code == HTTPStatus.UNAUTHORIZED and (
        response.headers.get("X-Ca-Error-Code")
        in (None, TOKEN_EXPIRED_CODE, TOKEN_UNKNOWN_CODE)
    )


def access_hint(status: int, error_code: str | None) -> str | None:
    """Say how to fix a 401 or 403 that reached the caller, or None.

    A 401 reaches the caller in two ways: the token was renewed and the new
    one was refused as well (A401OT/A401AT twice), or the platform refused
    the request for a reason a new token does not fix (any other
    ``X-Ca-Error-Code``, e.g. a client calling from an address it may not
    use), which is then not renewed at all.

    Args:
        status: The HTTP status.
        error_code: The ``X-Ca-Error-Code`` header, if any.

    Returns:
        The hint, or None for other statuses.
    """
    if status == HTTPStatus.UNAUTHORIZED:
        if error_code in (None, TOKEN_EXPIRED_CODE, TOKEN_UNKNOWN_CODE):
            return (
                "the platform refused a freshly issued token too: check that "
                "token_url belongs to the platform of base_url"
            )
        return (
            f"X-Ca-Error-Code {error_code} is not about the token, so no new "
            "token was requested: the platform refuses this client; see "
            "X-Ca-Error-Message and check the client's access on the platform "
            "(e.g. the addresses it may call from)"
        )
    if status == HTTPStatus.FORBIDDEN:
        return (
            "the OAuth2 client may not use this API: check the scope setting "
            "and the client's permissions on the platform"
        )
    return None


def raise_for_status(
    response: requests.Response,
    where: str = "",
    hints: t.Mapping[int, str] | None = None,
) -> None:
    """Raise a typed error for an HTTP error answer; do nothing on 2xx/3xx.

    Args:
        response: The platform's answer.
        where: Context for the message, e.g. ``"stream 'fake', page 3"``.
        hints: How to fix a 4xx, by status, appended to the message; a 401 or
            403 without one gets :func:`access_hint`'s.

    Raises:
        RetriableTransportError: On 429 and 5xx.
        HTTPStatusError: On any other 4xx.
    """
    status = response.status_code
    if status < 400:
        return
    headers = response.headers
    code = headers.get("X-Ca-Error-Code")
    text = headers.get("X-Ca-Error-Message")
    request_id = headers.get("X-Ca-Request-Id")
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    msg = f"HTTP {status} {reason} for GET {url_path(response.url)}"
    if response.request is not None and response.request.method:
        msg = f"HTTP {status} {reason} for {response.request.method} "
        msg += url_path(response.url)
    if where:
        msg += f" ({where})"
    details = [
        f"{name}={value}"
        for name, value in (
            ("X-Ca-Error-Code", code),
            ("X-Ca-Error-Message", text),
            ("X-Ca-Request-Id", request_id),
        )
        if value
    ]
    if details:
        msg += ": " + ", ".join(details)
    if status in RETRIABLE_STATUSES:
        # The response travels with the error so Retry-After can be honoured.
        raise RetriableTransportError(msg, response)
    hint = (hints or {}).get(status) or access_hint(status, code)
    if hint:
        msg += f"; {hint}"
    raise HTTPStatusError(
        msg,
        status=status,
        error_code=code,
        error_message=text,
        request_id=request_id,
    )


def parse_body(response: requests.Response, where: str = "") -> dict[str, t.Any]:
    """Decode the envelope of a successful answer.

    Raises:
        RetriableTransportError: If the body is not a JSON object (a truncated
            or garbled answer is usually transient).
    """
    try:
        payload = orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        msg = f"Response of {url_path(response.url)} is not valid JSON"
        if where:
            msg += f" ({where})"
        msg += f": {exc}; body starts {response.content[:80]!r}"
        raise RetriableTransportError(msg) from exc
    if not isinstance(payload, dict):
        msg = f"Response of {url_path(response.url)} is not a JSON object"
        if where:
            msg += f" ({where})"
        raise RetriableTransportError(msg)
    return payload


def unwrap(payload: t.Mapping[str, t.Any], path: str, where: str = "") -> t.Any:
    """Return ``payload["data"]``, or raise if ``errCode`` is not 0.

    Args:
        payload: The decoded envelope.
        path: The API path, for the message.
        where: More context for the message (stream, page).

    Raises:
        PlatformError: If ``errCode`` is present and not 0.
    """
    err_code = payload.get("errCode", 0)
    if err_code not in (0, "0"):
        err_msg = payload.get("errMsg")
        request_id = payload.get("requestId")
        msg = f"Platform error on {path}"
        if where:
            msg += f" ({where})"
        msg += f": errCode={err_code}, errMsg={err_msg!r}, requestId={request_id}"
        raise PlatformError(
            msg, err_code=err_code, err_msg=err_msg, request_id=request_id
        )
    return payload.get("data")
