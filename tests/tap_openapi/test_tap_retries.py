"""Transient failures are retried, expired tokens renewed, and no row is lost."""

from __future__ import annotations

import logging
import re

import pytest
from tap_runs import FAKE_SCHEMA, FakeTime, retry_warnings, run_tap, streams

from tap_openapi.auth import TokenManager
from tap_openapi.client import OpenAPIStream
from tap_openapi.errors import HTTPStatusError, TransportError
from tap_openapi.mock_platform import MockPlatform
from tap_openapi.tap import TapOpenAPI

FAKE_PATH = "requests:/api/v1/sync/fake"
TOKEN_PATH = "requests:/oauth2/token"


@pytest.fixture(autouse=True)
def _quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(OpenAPIStream, "retry_base_seconds", 0.001)


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    """Retries wait on a fake clock, with the jitter at its upper bound."""
    return FakeTime().install(monkeypatch)


def _retry_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return retry_warnings(caplog.records)


@pytest.mark.parametrize(
    "faults",
    [
        pytest.param({"fail_every": 3}, id="http-500"),
        pytest.param({"throttle_every": 4, "retry_after": 0}, id="http-429"),
        pytest.param({"drop_every": 5}, id="connection-dropped"),
        pytest.param({"garbage_every": 6}, id="truncated-body"),
        pytest.param(
            {"fail_every": 7, "throttle_every": 5, "drop_every": 11, "retry_after": 0},
            id="mixed",
        ),
    ],
)
def test_faults_are_retried_without_losing_rows(
    faults: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with MockPlatform(rows=2000, **faults) as platform:
        config = platform.tap_config(
            page_size=100,
            max_concurrent_requests=3,
            streams=streams("fake", schema=FAKE_SCHEMA),
        )
        assert run_tap(config).ids("fake") == list(range(1, 2001))
        injected = sum(v for k, v in platform.stats.items() if k.startswith("faults:"))
        assert injected > 0
        assert platform.stats[FAKE_PATH] == 20 + injected
    warnings = _retry_warnings(caplog)
    assert len(warnings) == injected
    for message in warnings:
        assert re.match(
            r"Retrying /api/v1/sync/fake \(stream 'fake', page \d+\) "
            r"in \d+\.\d\d s, attempt \d of 6: ",
            message,
        ), message
        assert "pageNum" not in message
        assert "demo-secret" not in message


def test_retry_after_is_honoured(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with MockPlatform(rows=200, throttle_every=2, retry_after=1) as platform:
        config = platform.tap_config(
            page_size=100,
            max_concurrent_requests=1,
            streams=streams("fake", schema=FAKE_SCHEMA),
        )
        assert len(run_tap(config).records("fake")) == 200
    warnings = _retry_warnings(caplog)
    assert len(warnings) == 1
    assert (
        "page 2) in 1.00 s, attempt 2 of 6: HTTP 429 Too Many Requests" in (warnings[0])
    )


def test_retries_give_up_after_max_retries() -> None:
    with MockPlatform(rows=100, fail_every=1) as platform:
        config = platform.tap_config(
            max_retries=2, streams=streams("fake", schema=FAKE_SCHEMA)
        )
        with pytest.raises(TransportError) as caught:
            run_tap(config)
        assert platform.stats[FAKE_PATH] == 3
    message = str(caught.value)
    assert message.startswith("HTTP 500 Internal Server Error for GET /api/v1/sync/")
    assert "(stream 'fake', page 1)" in message
    assert message.endswith("(gave up after 3 attempts)")


def test_expired_token_is_renewed_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with MockPlatform(rows=500) as platform:

        def expire_after_first_token(tap: TapOpenAPI) -> None:
            tap.token_manager.access_token()
            platform.expire_tokens()

        config = platform.tap_config(
            page_size=100,
            max_concurrent_requests=4,
            streams=streams("fake", schema=FAKE_SCHEMA),
        )
        out = run_tap(config, before_sync=expire_after_first_token)
        assert out.ids("fake") == list(range(1, 501))
        assert platform.stats["token_requests"] == 2
    renewals = [r.getMessage() for r in caplog.records if "expired" in r.getMessage()]
    assert renewals == [
        "Access token expired on /api/v1/sync/fake (stream 'fake', page 1); "
        "renewing it and retrying once"
    ]


def test_token_expiring_during_a_run_is_renewed() -> None:
    # Tokens die after 0.3 s while the client is told an hour: A401OT mid-run.
    with MockPlatform(
        rows=2000, token_ttl=0.3, advertised_ttl=3600, latency_ms=40
    ) as platform:
        config = platform.tap_config(
            page_size=100,
            max_concurrent_requests=2,
            streams=streams("fake", schema=FAKE_SCHEMA),
        )
        assert run_tap(config).ids("fake") == list(range(1, 2001))
        assert platform.stats["token_requests"] >= 2


def test_second_401_is_an_error() -> None:
    with MockPlatform(rows=100, token_ttl=0, advertised_ttl=3600) as platform:
        config = platform.tap_config(streams=streams("fake", schema=FAKE_SCHEMA))
        with pytest.raises(HTTPStatusError) as caught:
            run_tap(config)
        assert platform.stats[FAKE_PATH] == 2
    assert caught.value.status == 401
    assert "X-Ca-Error-Code=A401OT" in str(caught.value)
    assert str(caught.value).endswith(
        "; the platform refused a freshly issued token too: check that token_url "
        "belongs to the platform of base_url"
    )


def test_retry_budget_ends_page_retries_before_max_retries(
    fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(OpenAPIStream, "retry_base_seconds", 1.0)
    with MockPlatform(rows=100, fail_every=1) as platform:
        config = platform.tap_config(
            max_retries=50,
            max_retry_seconds=10,
            streams=streams("fake", schema=FAKE_SCHEMA),
        )
        with pytest.raises(TransportError) as caught:
            run_tap(config)
        # Waits 1, 2, 4 (7 s); the next one, 8 s, would end past 10 s.
        assert platform.stats[FAKE_PATH] == 4
    assert fake_time.waits == [1.0, 2.0, 4.0]
    message = str(caught.value)
    assert "(stream 'fake', page 1)" in message
    assert message.endswith(
        "(gave up after 4 attempts in 7.0 s: the next retry would pass "
        "max_retry_seconds=10)"
    )


def test_retry_budget_ends_token_retries(
    fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with MockPlatform(fail_every=1, fail_status=503, token_faults=True) as platform:
        settings = platform.tap_config(max_retries=50, max_retry_seconds=10)
        token_url = platform.token_url
        with pytest.raises(TransportError) as caught:
            TokenManager(settings).access_token()
        assert platform.stats[TOKEN_PATH] == 4
        assert platform.stats["token_requests"] == 0  # none got past the fault
    assert fake_time.waits == [1.0, 2.0, 4.0]
    message = str(caught.value)
    assert message.startswith(f"Token endpoint {token_url} answered HTTP 503")
    assert "max_retry_seconds=10" in message
    assert _retry_warnings(caplog) == [
        f"Retrying /oauth2/token (token request, client_credentials grant) in "
        f"{wait:.2f} s, attempt {attempt} of 51: Token endpoint /oauth2/token "
        "answered HTTP 503"
        for attempt, wait in ((2, 1.0), (3, 2.0), (4, 4.0))
    ]


def test_token_endpoint_honours_retry_after(
    fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with MockPlatform(throttle_every=1, retry_after=3, token_faults=True) as platform:

        def heal() -> None:
            platform.faults.throttle_every = 0

        fake_time.on_sleep = heal
        manager = TokenManager(platform.tap_config())
        assert manager.access_token()
        assert platform.stats[TOKEN_PATH] == 2
        assert platform.stats["token_requests"] == 1
    assert fake_time.waits == [3.0]  # Retry-After, not the jittered 1 s
    assert _retry_warnings(caplog) == [
        "Retrying /oauth2/token (token request, client_credentials grant) in "
        "3.00 s, attempt 2 of 6: Token endpoint /oauth2/token answered HTTP 429"
    ]


def test_token_endpoint_gives_up_after_max_retries(fake_time: FakeTime) -> None:
    with MockPlatform(fail_every=1, fail_status=502, token_faults=True) as platform:
        settings = platform.tap_config(max_retries=2)
        token_url = platform.token_url
        with pytest.raises(TransportError) as caught:
            TokenManager(settings).access_token()
        assert platform.stats[TOKEN_PATH] == 3
    assert str(caught.value) == (
        f"Token endpoint {token_url} answered HTTP 502 (gave up after 3 "
        "attempts): the authorization server is down, overloaded or throttling "
        "this client; try again later"
    )
