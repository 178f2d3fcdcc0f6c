"""What the tap retries, how long it waits, and what it logs for each retry."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import typing as t
from pathlib import Path

import pytest
from rel_helpers import run_tap

from tap_openapi import retry
from tap_openapi.errors import TransportError
from tap_openapi.mock_platform import MockPlatform
from tap_openapi.tap import TapOpenAPI

#: How requests/urllib3 describe a connection closed mid-answer.
DROPPED = ("Connection broken", "IncompleteRead", "ended prematurely", "Connection")

RETRY_LINE = re.compile(
    r"WARNING .*Retrying (?P<path>/\S+) \(stream '(?P<stream>[^']+)', "
    r"page (?P<page>\d+)\) in (?P<wait>[\d.]+) s, "
    r"attempt (?P<attempt>\d+) of (?P<tries>\d+): (?P<cause>.+)"
)


def _sync(platform: MockPlatform, tmp_path: Path, **settings: t.Any) -> tuple[int, str]:
    config = platform.tap_config(
        **{"streams": platform.tap_config()["streams"][:1], **settings}
    )
    done = run_tap(tmp_path, config, name="config")
    records = sum(
        '"type":"RECORD"' in ln.replace(" ", "") for ln in done.stdout.splitlines()
    )
    assert done.returncode == 0 or records == 0
    return records if done.returncode == 0 else -1, done.stderr


def _retries(stderr: str) -> list[re.Match[str]]:
    return [m for ln in stderr.splitlines() if (m := RETRY_LINE.search(ln))]


class FakeTime:
    """A clock that only the retry policy's sleeps move forward."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    """Retries wait on a fake clock: no test sleeps through its backoff."""
    fake = FakeTime()
    monkeypatch.setattr(retry, "clock", fake.clock)
    monkeypatch.setattr(retry, "sleep", fake.sleep)
    return fake


def _sync_in_process(platform: MockPlatform, **settings: t.Any) -> None:
    """Sync the ``fake`` stream in this process (so retry.* can be patched)."""
    config = platform.tap_config(
        **{"streams": platform.tap_config()["streams"][:1], **settings}
    )
    with contextlib.redirect_stdout(io.TextIOWrapper(io.BytesIO())):
        TapOpenAPI(config=config).sync_all()


def test_429_waits_what_retry_after_says(tmp_path: Path) -> None:
    with MockPlatform(rows=40, throttle_every=2, retry_after=1) as platform:
        records, stderr = _sync(platform, tmp_path, page_size=10, max_retries=3)
    assert records == 40
    retries = _retries(stderr)
    assert retries, stderr[-2000:]
    for match in retries:
        assert "HTTP 429" in match["cause"]
        assert match["path"] == "/api/v1/sync/fake"
        assert match["stream"] == "fake"
        assert float(match["wait"]) == pytest.approx(1.0)


def test_attempts_are_capped_and_the_last_line_says_so(tmp_path: Path) -> None:
    with MockPlatform(rows=10, fail_every=1) as platform:
        records, stderr = _sync(platform, tmp_path, max_retries=2)
        requests_made = platform.stats["requests:/api/v1/sync/fake"]
    assert records == -1
    assert requests_made == 3  # the first try and max_retries=2 retries
    retries = _retries(stderr)
    assert [int(m["attempt"]) for m in retries] == [2, 3]
    assert {m["tries"] for m in retries} == {"3"}
    assert all("HTTP 500" in m["cause"] for m in retries)
    assert "gave up after 3 attempts" in stderr.strip().splitlines()[-1]


def test_backoff_ceilings_double_from_one_second(
    fake_time: FakeTime,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The jitter at its upper bound shows the ceilings themselves.
    monkeypatch.setattr(retry, "full_jitter", lambda ceiling: ceiling)
    caplog.set_level(logging.WARNING)
    with MockPlatform(rows=10, fail_every=1) as platform:
        with pytest.raises(TransportError, match="gave up after 4 attempts"):
            _sync_in_process(platform, max_retries=3)
        assert platform.stats["requests:/api/v1/sync/fake"] == 4
    assert fake_time.waits == [1.0, 2.0, 4.0]
    logged = [RETRY_LINE.search(f"WARNING {r.getMessage()}") for r in caplog.records]
    assert [float(m["wait"]) for m in logged if m] == [1.0, 2.0, 4.0]


def test_backoff_waits_are_jittered(fake_time: FakeTime) -> None:
    policy = retry.RetryPolicy()
    gave_up = pytest.raises(TransportError, match="gave up after 11 attempts")
    with MockPlatform(rows=10, fail_every=1) as platform, gave_up:
        _sync_in_process(platform, max_retries=10, max_retry_seconds=10_000)
    ceilings = [policy.ceiling(n) for n in range(1, 11)]
    assert ceilings == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]
    assert len(fake_time.waits) == 10
    assert all(0 <= w <= c for w, c in zip(fake_time.waits, ceilings, strict=True))
    # Full jitter: the waits spread below their ceilings instead of sitting on
    # them (ten draws at the ceiling, or all equal, have probability zero).
    assert fake_time.waits != ceilings
    assert len(set(fake_time.waits)) == 10


def test_retry_budget_is_named_in_the_last_line(tmp_path: Path) -> None:
    # Every answer is a 429 asking for 1 s: more than the whole budget, so the
    # tap gives up after the first attempt, however slow the machine.
    with MockPlatform(rows=10, throttle_every=1, retry_after=1) as platform:
        records, stderr = _sync(
            platform, tmp_path, max_retries=50, max_retry_seconds=0.5
        )
        requests_made = platform.stats["requests:/api/v1/sync/fake"]
    assert records == -1
    assert requests_made == 1
    last = stderr.strip().splitlines()[-1]
    assert "ERROR" in last
    assert "HTTP 429" in last
    assert "gave up after 1 attempts" in last
    assert "the next retry would pass max_retry_seconds=0.5" in last


def test_read_timeout_is_retried(tmp_path: Path) -> None:
    # Only the first request is slow: it times out, the retry does not.
    with MockPlatform(rows=10, slow_first=1, slow_ms=3000) as platform:
        records, stderr = _sync(platform, tmp_path, request_timeout=0.5, max_retries=3)
        requests_made = platform.stats["requests:/api/v1/sync/fake"]
    assert records == 10, stderr[-2000:]
    # The schema's sample page (timed out, then again), then page 1.
    assert requests_made == 3
    causes = [m["cause"] for m in _retries(stderr)]
    assert len(causes) == 1
    assert "timed out" in causes[0].lower() or "timeout" in causes[0].lower()


@pytest.mark.parametrize(
    ("faults", "cause"),
    [
        pytest.param({"fail_status": 500}, "HTTP 500 Internal Server Error", id="500"),
        pytest.param({"fail_status": 502}, "HTTP 502 Bad Gateway", id="502"),
        pytest.param({"fail_status": 503}, "HTTP 503 Service Unavailable", id="503"),
        pytest.param({"fail_status": 504}, "HTTP 504 Gateway Timeout", id="504"),
        pytest.param({"reset": True}, "Connection reset by peer", id="tcp-reset"),
    ],
)
def test_server_errors_and_resets_are_retried(
    faults: dict[str, t.Any], cause: str, tmp_path: Path
) -> None:
    # Every third API request fails. One at a time: the schema's sample, page
    # 1, page 2 (fails), page 2, page 3, page 4 (fails), page 4, page 5.
    plan = {"reset_every": 3} if faults.get("reset") else {"fail_every": 3, **faults}
    with MockPlatform(rows=50, **plan) as platform:
        records, stderr = _sync(
            platform, tmp_path, page_size=10, max_concurrent_requests=1
        )
        requests_made = platform.stats["requests:/api/v1/sync/fake"]
        injected = sum(v for k, v in platform.stats.items() if k.startswith("faults:"))
    assert records == 50, stderr[-2000:]
    assert injected == 2
    assert requests_made == 6 + injected
    retries = _retries(stderr)
    assert len(retries) == injected
    assert all(cause in m["cause"] for m in retries), [m["cause"] for m in retries]


def test_dropped_connection_is_retried(tmp_path: Path) -> None:
    with MockPlatform(rows=30, drop_every=2) as platform:
        records, stderr = _sync(platform, tmp_path, page_size=10, max_retries=4)
    assert records == 30, stderr[-2000:]
    causes = " ".join(m["cause"] for m in _retries(stderr))
    assert any(word in causes for word in DROPPED), causes
