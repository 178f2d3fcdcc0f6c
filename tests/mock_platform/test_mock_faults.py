"""Fault flags: 500, 429, dropped connections, garbled bodies and latency."""

from __future__ import annotations

import time
import typing as t

import orjson
import pytest
import requests

from tap_openapi.mock_platform import MockPlatform

FAKE = "/api/v1/sync/fake"


def test_fail_every(connect: t.Any) -> None:
    with MockPlatform(rows=10, fail_every=3) as platform:
        api = connect(platform)
        statuses = [api.get(FAKE).status_code for _ in range(6)]
        assert statuses == [200, 200, 500, 200, 200, 500]
        failed = [api.get(FAKE, pageSize=1) for _ in range(3)][-1]
        assert failed.status_code == 500
        assert failed.json()["errMsg"] == "simulated failure"
        assert failed.headers["X-Ca-Error-Code"] == "A500IE"
        assert failed.headers["X-Ca-Request-Id"]
        assert platform.stats["faults:fail"] == 3
        # Token requests neither count nor fail.
        for _ in range(3):
            api.fetch_token()
        assert api.get(FAKE).status_code == 200


def test_throttle_every_with_retry_after(connect: t.Any) -> None:
    with MockPlatform(rows=10, throttle_every=2, retry_after=7) as platform:
        api = connect(platform)
        assert api.get(FAKE).status_code == 200
        throttled = api.get(FAKE)
        assert throttled.status_code == 429
        assert throttled.headers["Retry-After"] == "7"
        assert throttled.headers["X-Ca-Error-Code"] == "A429TM"
        assert platform.stats["faults:throttle"] == 1


def test_drop_every_cuts_the_body(connect: t.Any) -> None:
    with MockPlatform(rows=200, drop_every=2) as platform:
        api = connect(platform)
        assert len(api.data(FAKE, pageSize=200)["rows"]) == 200
        with pytest.raises(
            (requests.exceptions.ChunkedEncodingError, requests.ConnectionError)
        ):
            api.get(FAKE, pageSize=200)
        # The session reconnects and the next request is served in full.
        assert len(api.data(FAKE, pageSize=200)["rows"]) == 200
        assert platform.stats["faults:drop"] == 1


def test_garbage_every_sends_200_with_non_json(connect: t.Any) -> None:
    with MockPlatform(rows=50, garbage_every=2) as platform:
        api = connect(platform)
        assert api.get(FAKE).status_code == 200
        garbled = api.get(FAKE, pageSize=50)
        assert garbled.status_code == 200
        assert garbled.content
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(garbled.content)
        assert api.get(FAKE).json()["errCode"] == 0


def test_latency_ms_delays_api_requests(connect: t.Any) -> None:
    with MockPlatform(rows=5, latency_ms=150) as platform:
        api = connect(platform)
        started = time.perf_counter()
        assert api.get(FAKE).status_code == 200
        # A lower bound only: sleeping can take longer, never shorter.
        assert time.perf_counter() - started >= 0.15


def test_faults_can_be_changed_while_running(connect: t.Any) -> None:
    with MockPlatform(rows=5) as platform:
        api = connect(platform)
        platform.faults.fail_every = 1
        assert api.get(FAKE).status_code == 500
        platform.faults.fail_every = 0
        platform.reset_stats()
        assert api.get(FAKE).status_code == 200
        assert platform.stats["api_requests"] == 1


def test_negative_fault_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="fail_every must be >= 0"):
        MockPlatform(fail_every=-1)
