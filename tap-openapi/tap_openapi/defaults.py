"""Setting defaults shared by the tap and the client library.

The tap's config schema, the tap's HTTP connection, the token manager, the
retry policy and :class:`~tap_openapi.api.OpenAPIClient` all read these, so a
client built from a tap config behaves like the tap that config drives.
"""

from __future__ import annotations

from importlib import metadata

#: The platform caps ``pageSize`` at this; it is also the default page size.
MAX_PAGE_SIZE = 2000
DEFAULT_PAGE_SIZE = MAX_PAGE_SIZE
#: Seconds to wait for a connection or a response (token endpoint included).
DEFAULT_REQUEST_TIMEOUT = 60.0
#: Retries of one request after a transient failure (429, 5xx, reset...).
DEFAULT_MAX_RETRIES = 5
#: Seconds one request may spend on retries, first attempt included
#: (``max_retry_seconds``): ten minutes ride out a platform restart or a
#: deployment, and a run still ends the same hour when the platform is down.
DEFAULT_MAX_RETRY_SECONDS = 600
#: Page requests in flight at once per stream (the tap only).
DEFAULT_MAX_CONCURRENT_REQUESTS = 4
#: Where incremental streams start without a bookmark (unix seconds).
DEFAULT_START_TS = 0


def default_user_agent() -> str:
    """Return the ``User-Agent`` sent when ``user_agent`` is not set.

    Returns:
        ``tap-openapi/<version>``, or ``tap-openapi`` when the package is not
        installed (a bare source checkout).
    """
    try:
        return f"tap-openapi/{metadata.version('tap-openapi')}"
    except metadata.PackageNotFoundError:  # pragma: no cover - source checkout
        return "tap-openapi"
