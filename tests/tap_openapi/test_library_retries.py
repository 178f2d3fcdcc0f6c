"""The client library retries under the tap's policy, on the live mock platform.

Both go through :class:`tap_openapi.retry.RetryPolicy`: full jitter, the
``Retry-After`` header, ``max_retries``, the ``max_retry_seconds`` budget and
one WARNING line per retry in the same format. These tests count the
attempts the mock received and read the waits from a fake clock; nothing
really sleeps.
"""

from __future__ import annotations

import logging
import re
import typing as t

import pytest
from tap_runs import FakeTime, retry_warnings

from tap_openapi import OpenAPIClient, TransportError
from tap_openapi.mock_platform import MockPlatform

FAKE = "/api/v1/sync/fake"
ITEMS = "/api/v1/items"
#: The tap's retry line (tests/tap_openapi/test_tap_retries.py), with the
#: library's "GET request, page N" where the tap says "stream 'x', page N".
WARNING = re.compile(
    r"Retrying /api/v1/sync/fake \(GET request, page (\d+)\) "
    r"in (\d+\.\d\d) s, attempt (\d) of 6: "
)
_REQUEST_ID = re.compile(r"X-Ca-Request-Id=\w+")


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    """Retries wait on a fake clock, with the jitter at its upper bound."""
    return FakeTime().install(monkeypatch)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return retry_warnings(caplog.records)


def _injected(platform: MockPlatform) -> int:
    return sum(v for k, v in platform.stats.items() if k.startswith("faults:"))


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"fail_every": 2}, id="http-500"),
        pytest.param({"throttle_every": 3, "retry_after": 0}, id="http-429"),
        pytest.param({"drop_every": 2}, id="dropped-connection"),
        pytest.param({"reset_every": 3}, id="connection-reset"),
        pytest.param({"garbage_every": 2}, id="garbled-body"),
    ],
)
def test_transient_failures_are_retried_with_one_warning_each(
    fault: dict[str, t.Any],
    fake_time: FakeTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="tap_openapi")
    with MockPlatform(rows=4000, **fault) as flaky:
        with OpenAPIClient(flaky.tap_config()) as client:
            ids = [row["id"] for row in client.iter_rows(FAKE, page_size=500)]
        injected = _injected(flaky)
        attempts = flaky.stats[f"requests:{FAKE}"]
    assert ids == list(range(1, 4001))
    assert injected >= 2
    # Eight pages, each asked once more per fault it met.
    assert attempts == 8 + injected
    warnings = _warnings(caplog)
    assert len(warnings) == injected
    for message in warnings:
        assert WARNING.match(message), message
        assert "pageSize" not in message
        assert flaky.client_secret not in message


def test_waits_are_jittered_exponential_and_honour_retry_after(
    fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tap_openapi")
    with MockPlatform(rows=100, fail_every=1) as down:
        client = OpenAPIClient(down.tap_config(max_retries=3))
        with client, pytest.raises(TransportError) as caught:
            client.get(FAKE, params={"pageSize": 10})
        assert down.stats[f"requests:{FAKE}"] == 4
    # Full jitter: a draw under 1, 2, 4 s (drawn here at the ceiling).
    assert fake_time.ceilings == [1.0, 2.0, 4.0]
    assert fake_time.waits == [1.0, 2.0, 4.0]
    assert str(caught.value).startswith(
        "HTTP 500 Internal Server Error for GET /api/v1/sync/fake: "
    )
    assert str(caught.value).endswith("(gave up after 4 attempts)")
    cause = (
        "HTTP 500 Internal Server Error for GET /api/v1/sync/fake: X-Ca-Error-Code="
        "A500IE, X-Ca-Error-Message=simulated failure, X-Ca-Request-Id=*"
    )
    assert [_REQUEST_ID.sub("X-Ca-Request-Id=*", m) for m in _warnings(caplog)] == [
        f"Retrying /api/v1/sync/fake (GET request) in {wait:.2f} s, attempt "
        f"{attempt} of 4: {cause}"
        for attempt, wait in ((2, 1.0), (3, 2.0), (4, 4.0))
    ]

    with MockPlatform(rows=100, throttle_every=2, retry_after=3) as throttled:
        with OpenAPIClient(throttled.tap_config()) as client:
            rows = list(client.iter_rows(FAKE, page_size=50))
        assert throttled.stats[f"requests:{FAKE}"] == 3  # page 2 twice
    assert len(rows) == 100
    assert fake_time.waits[3:] == [3.0]  # Retry-After, not the 1 s ceiling
    assert fake_time.ceilings == [1.0, 2.0, 4.0]  # no draw for it
    assert "page 2) in 3.00 s, attempt 2 of 6: HTTP 429" in _warnings(caplog)[-1]


def test_retry_budget_ends_retries_before_max_retries(fake_time: FakeTime) -> None:
    with MockPlatform(rows=100, fail_every=1) as down:
        config = down.tap_config(max_retries=50, max_retry_seconds=10)
        client = OpenAPIClient(config)
        with client, pytest.raises(TransportError) as caught:
            list(client.iter_rows(FAKE))
        # Waits 1, 2, 4 (7 s); the next one, 8 s, would end past 10 s.
        assert down.stats[f"requests:{FAKE}"] == 4
    assert fake_time.waits == [1.0, 2.0, 4.0]
    assert "(page 1)" in str(caught.value)
    assert str(caught.value).endswith(
        "(gave up after 4 attempts in 7.0 s: the next retry would pass "
        "max_retry_seconds=10)"
    )


def test_unreachable_platform_says_so_after_the_retries(fake_time: FakeTime) -> None:
    with MockPlatform(rows=10) as platform:
        config = platform.tap_config(max_retries=2)
        client = OpenAPIClient(config)
        client.tokens.access_token()  # the token endpoint is not the test
    # The platform is gone: every attempt is refused.
    with client, pytest.raises(TransportError) as caught:
        client.get(FAKE)
    message = str(caught.value)
    assert message.startswith("GET /api/v1/sync/fake failed: ConnectionError")
    assert message.endswith(
        "(gave up after 3 attempts); check base_url and the network"
    )
    assert len(fake_time.waits) == 2


def test_post_is_not_resent_after_a_server_error(fake_time: FakeTime) -> None:
    with MockPlatform(rows=10, fail_every=1) as down:
        client = OpenAPIClient(down.tap_config())
        with client, pytest.raises(TransportError) as caught:
            client.post(ITEMS, json={"name": "once"})
        assert down.stats[f"requests:{ITEMS}"] == 1
    assert "HTTP 500" in str(caught.value)
    assert str(caught.value).endswith(
        "(not retried: the platform may have processed the POST)"
    )
    assert fake_time.waits == []


def test_throttled_post_is_sent_again_and_creates_one_item(
    fake_time: FakeTime,
) -> None:
    with MockPlatform(rows=10, throttle_every=1, retry_after=2) as throttled:

        def heal() -> None:
            throttled.faults.throttle_every = 0

        fake_time.on_sleep = heal
        with OpenAPIClient(throttled.tap_config()) as client:
            created = client.post(ITEMS, json={"name": "once"})
            listed = client.get(ITEMS)
        assert throttled.stats[f"requests:{ITEMS}"] == 3  # 429, POST, GET
    assert fake_time.waits == [2.0]
    assert listed["rows"] == [created]
