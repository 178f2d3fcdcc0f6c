"""singer-sdk's standard tap tests, run against a live mock platform."""

from __future__ import annotations

import atexit

from singer_sdk.testing import get_tap_test_class

from tap_openapi.mock_platform import MockPlatform
from tap_openapi.tap import TapOpenAPI

# The SDK builds its test class (and discovers the streams) at import time, so
# the platform must run before collection.
_PLATFORM = MockPlatform(rows=500).start()
atexit.register(_PLATFORM.stop)

TestTapOpenAPI = get_tap_test_class(
    TapOpenAPI, config=_PLATFORM.tap_config(page_size=100)
)
