"""A runnable imitation of the OpenAPI platform, for demos, tests and benchmarks.

Run it with ``python -m tap_openapi.mock_platform --port 8765 --rows 100000``,
or in-process::

    from tap_openapi.mock_platform import MockPlatform

    with MockPlatform(rows=1000) as platform:
        config = platform.tap_config()

It serves the OAuth2 token and authorize endpoints, the two sample APIs
``/api/v1/sync/fake`` and ``/api/v1/sync/fakewithts``, error APIs (a
business error, a 401 that is not about the token, a 403), an items CRUD
API, admin endpoints to change data and read counters, and can inject
faults (5xx, 429, dropped or reset connections, garbled bodies, slow
requests) on demand, and serve HTTPS.
"""

from __future__ import annotations

from tap_openapi.mock_platform.data import BASE_TS, make_row
from tap_openapi.mock_platform.platform import MockPlatform

__all__ = ["BASE_TS", "MockPlatform", "make_row"]
