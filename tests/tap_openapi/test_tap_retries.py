"""Transient failures are retried, expired tokens renewed, and no row is lost."""

from __future__ import annotations

import logging
import re

import pytest
from tap_runs import FAKE_SCHEMA, run_tap, streams

from tap_openapi.client import OpenAPIStream
from tap_openapi.errors import HTTPStatusError, TransportError
from tap_openapi.mock_platform import MockPlatform
from tap_openapi.tap import TapOpenAPI

FAKE_PATH = "requests:/api/v1/sync/fake"


@pytest.fixture(autouse=True)
def _quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(OpenAPIStream, "retry_base_seconds", 0.001)


def _retry_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.getMessage().startswith("Retrying")
    ]


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
