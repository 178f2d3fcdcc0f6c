"""Errors raised by tap-openapi and its client library.

The tree::

    OpenAPIError                      root of everything this package raises
    ├── ConfigurationError            a setting is missing or wrong
    ├── AuthenticationError           the token endpoint refused (invalid_client, ...)
    ├── TransportError                no usable HTTP answer (DNS, refused, timeout)
    │   └── RetriableTransportError   worth another try (reset, 5xx, 429)
    ├── HTTPStatusError               an HTTP error answer, with the X-Ca-* headers
    └── PlatformError                 HTTP 200 with errCode != 0 (a business error)

The tap-facing classes also derive from singer-sdk's ``FatalAPIError`` or
``RetriableAPIError`` so that the SDK's retry loop treats them correctly.
"""

from __future__ import annotations

from singer_sdk.exceptions import FatalAPIError, RetriableAPIError


class OpenAPIError(Exception):
    """Root of every error raised by tap-openapi."""


class ConfigurationError(OpenAPIError, ValueError):
    """A setting is missing, misspelled or has a wrong value."""


class AuthenticationError(OpenAPIError, FatalAPIError):
    """The token endpoint refused to issue a token.

    Attributes:
        error: The RFC 6749 error code (``invalid_client``, ``invalid_grant``...).
        description: The server's ``error_description``, if any.
        status: The HTTP status of the token response, if there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        error: str | None = None,
        description: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.error = error
        self.description = description
        self.status = status


class TransportError(OpenAPIError, FatalAPIError):
    """The platform could not be reached or gave no usable answer."""


class RetriableTransportError(OpenAPIError, RetriableAPIError):
    """A transient failure (connection reset, timeout, HTTP 429 or 5xx)."""


class HTTPStatusError(OpenAPIError, FatalAPIError):
    """The platform answered with an HTTP error status.

    Attributes:
        status: The HTTP status code.
        error_code: The ``X-Ca-Error-Code`` header, if present.
        error_message: The ``X-Ca-Error-Message`` header, if present.
        request_id: The ``X-Ca-Request-Id`` header, if present.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        error_code: str | None = None,
        error_message: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.error_message = error_message
        self.request_id = request_id


class PlatformError(OpenAPIError, FatalAPIError):
    """The platform answered HTTP 200 with ``errCode != 0``.

    Attributes:
        err_code: The envelope's ``errCode``.
        err_msg: The envelope's ``errMsg``.
        request_id: The envelope's ``requestId``.
    """

    def __init__(
        self,
        message: str,
        *,
        err_code: int | str,
        err_msg: str | None,
        request_id: str | None,
    ) -> None:
        super().__init__(message)
        self.err_code = err_code
        self.err_msg = err_msg
        self.request_id = request_id
