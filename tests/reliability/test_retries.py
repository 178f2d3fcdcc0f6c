"""What the tap retries, how long it waits, and what it logs for each retry."""

from __future__ import annotations

import re
import subprocess
import threading
import time
import typing as t
from pathlib import Path

import pytest
from rel_helpers import ENV, TAP, write_json

from tap_openapi.mock_platform import MockPlatform

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
    done = subprocess.run(
        [TAP, "--config", str(write_json(tmp_path / "config.json", config))],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
        check=False,
    )
    records = sum(
        '"type":"RECORD"' in ln.replace(" ", "") for ln in done.stdout.splitlines()
    )
    assert done.returncode == 0 or records == 0
    return records if done.returncode == 0 else -1, done.stderr


def _retries(stderr: str) -> list[re.Match[str]]:
    return [m for ln in stderr.splitlines() if (m := RETRY_LINE.search(ln))]


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


def test_waits_grow_exponentially_and_attempts_are_capped(tmp_path: Path) -> None:
    with MockPlatform(rows=10, fail_every=1) as platform:
        records, stderr = _sync(platform, tmp_path, max_retries=3)
        requests_made = platform.stats["requests:/api/v1/sync/fake"]
    assert records == -1
    assert requests_made == 4  # the first try and max_retries=3 retries
    retries = _retries(stderr)
    assert [int(m["attempt"]) for m in retries] == [2, 3, 4]
    assert {m["tries"] for m in retries} == {"4"}
    for match in retries:
        # Full jitter: attempt n waits at most 2 ** (n - 2) seconds.
        assert 0 <= float(match["wait"]) <= 2 ** (int(match["attempt"]) - 2)
        assert "HTTP 500" in match["cause"]
    assert "gave up after 4 attempts" in stderr.strip().splitlines()[-1]


def test_read_timeout_is_retried(tmp_path: Path) -> None:
    with MockPlatform(rows=10, latency_ms=2000) as platform:

        def heal() -> None:
            # Slow until the first API request arrives, fast afterwards.
            deadline = time.monotonic() + 30
            while platform.stats["api_requests"] < 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.1)  # the first request is asleep in the server by now
            platform.faults.latency_ms = 0

        healer = threading.Thread(target=heal)
        healer.start()
        try:
            records, stderr = _sync(
                platform, tmp_path, request_timeout=0.5, max_retries=3
            )
        finally:
            healer.join()
    assert records == 10, stderr[-2000:]
    causes = [m["cause"] for m in _retries(stderr)]
    assert any("timed out" in c.lower() or "timeout" in c.lower() for c in causes)


def test_dropped_connection_is_retried(tmp_path: Path) -> None:
    with MockPlatform(rows=30, drop_every=2) as platform:
        records, stderr = _sync(platform, tmp_path, page_size=10, max_retries=4)
    assert records == 30, stderr[-2000:]
    causes = " ".join(m["cause"] for m in _retries(stderr))
    assert any(word in causes for word in DROPPED), causes
