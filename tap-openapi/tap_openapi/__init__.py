"""tap-openapi: a Singer tap and Python client for the OpenAPI platform.

The library API::

    from tap_openapi import OpenAPIClient

    with OpenAPIClient.from_config("config.json") as client:
        items = client.get("/api/v1/items")
        for row in client.iter_rows("/api/v1/sync/fake", model=MyDataclass):
            ...
"""

from __future__ import annotations

from tap_openapi.api import OpenAPIClient
from tap_openapi.auth import TokenManager
from tap_openapi.errors import (
    AuthenticationError,
    ConfigurationError,
    HTTPStatusError,
    OpenAPIError,
    PlatformError,
    RetriableTransportError,
    TransportError,
)
from tap_openapi.rows import RowConversionError, row_converter
from tap_openapi.token_cache import CachedToken, TokenCache

__all__ = [
    "AuthenticationError",
    "CachedToken",
    "ConfigurationError",
    "HTTPStatusError",
    "OpenAPIClient",
    "OpenAPIError",
    "PlatformError",
    "RetriableTransportError",
    "RowConversionError",
    "TokenCache",
    "TokenManager",
    "TransportError",
    "row_converter",
]
