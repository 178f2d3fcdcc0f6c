"""Fault flags: 500, 429, dropped connections, garbled bodies and latency."""

from __future__ import annotations

import subprocess
import sys
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
        api = connect(platform)  # its token request is not delayed
        assert platform.stats["delayed_requests"] == 0
        assert api.get(FAKE).status_code == 200
        assert api.get(FAKE).status_code == 200
        stats = platform.stats
    # The delay the server applied, as it recorded it: no clock involved.
    assert stats["delayed_requests"] == 2
    assert stats["delayed_ms"] == 300


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


@pytest.mark.parametrize("status", [502, 503, 504], ids=str)
def test_fail_status_picks_the_server_error(connect: t.Any, status: int) -> None:
    with MockPlatform(rows=10, fail_every=2, fail_status=status) as platform:
        api = connect(platform)
        assert api.get(FAKE).status_code == 200
        failed = api.get(FAKE)
        assert failed.status_code == status
        assert failed.headers["X-Ca-Error-Code"] == f"A{status}IE"
        assert failed.json()["errCode"] == status
        assert platform.stats["faults:fail"] == 1


@pytest.mark.parametrize("status", [404, 429, 600], ids=str)
def test_fail_status_must_be_a_server_error(status: int) -> None:
    with pytest.raises(ValueError, match="fail_status must be an HTTP 5xx status"):
        MockPlatform(fail_status=status)


def test_reset_every_resets_the_connection(connect: t.Any) -> None:
    with MockPlatform(rows=10, reset_every=2) as platform:
        api = connect(platform)
        assert api.get(FAKE).status_code == 200
        with pytest.raises(requests.ConnectionError) as caught:
            api.get(FAKE)
        # A TCP RST, not a clean close: the client reads ECONNRESET.
        assert "Connection reset by peer" in str(caught.value)
        assert api.get(FAKE).status_code == 200
        assert platform.stats["faults:reset"] == 1
        assert platform.stats["api_requests"] == 3


def test_slow_first_delays_only_the_first_requests(connect: t.Any) -> None:
    with MockPlatform(rows=10, slow_first=1, slow_ms=5000) as platform:
        api = connect(platform)
        with pytest.raises(requests.exceptions.ReadTimeout):
            api.session.get(f"{platform.url}{FAKE}", timeout=1)
        # The same timeout is plenty once the first request is past.
        answer = api.session.get(f"{platform.url}{FAKE}", timeout=1)
        assert answer.status_code == 200
        assert platform.stats["api_requests"] == 2
        assert platform.stats["delayed_requests"] == 1
        assert platform.stats["delayed_ms"] == 5000


def test_token_faults_reach_the_token_endpoint() -> None:
    with MockPlatform(rows=10, fail_every=1, token_faults=True) as platform:
        answer = requests.post(
            platform.token_url,
            data={"grant_type": "client_credentials"},
            auth=(platform.client_id, platform.client_secret),
            timeout=10,
        )
        assert answer.status_code == 500
        assert platform.stats["requests:/oauth2/token"] == 1
        assert platform.stats["token_requests"] == 0
        assert platform.stats["faults:fail"] == 1


def test_cli_flags_for_the_new_faults() -> None:
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "tap_openapi.mock_platform", "--port", "0"),
            *("--rows", "5", "--fail-every", "2", "--fail-status", "503"),
            *("--reset-every", "3", "--total-num", "omit", "--token-faults"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip().rpartition(" ")[2]
        assert url.startswith("http://127.0.0.1:")
        session = requests.Session()
        # Request 1 (the token request, with --token-faults) passes.
        token = session.post(
            f"{url}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=("demo-client", "demo-secret"),
            timeout=10,
        ).json()["access_token"]
        session.headers["Authorization"] = f"Bearer {token}"
        assert session.get(f"{url}{FAKE}", timeout=10).status_code == 503
        with pytest.raises(requests.ConnectionError, match="reset by peer"):
            session.get(f"{url}{FAKE}", timeout=10)
        assert session.get(f"{url}{FAKE}", timeout=10).status_code == 503
        data = session.get(f"{url}{FAKE}", timeout=10).json()["data"]  # request 5
        assert len(data["rows"]) == 5
        assert "totalNum" not in data
    finally:
        process.terminate()
        process.communicate(timeout=10)
