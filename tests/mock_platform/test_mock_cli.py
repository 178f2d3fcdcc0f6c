"""``python -m tap_openapi.mock_platform``: ready line, flags, signals."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests

READY = re.compile(r"^mock platform ready at (http://127\.0\.0\.1:(\d+))$")


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tap_openapi.mock_platform", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = _spawn("--port", "0", "--rows", "50", "--fail-every", "3")
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        match = READY.match(line)
        assert match, f"unexpected first line {line!r}"
        yield process, match.group(1)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def _token(url: str) -> str:
    answer = requests.post(
        f"{url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=("demo-client", "demo-secret"),
        timeout=10,
    )
    return str(answer.json()["access_token"])


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_cli_serves_until_signalled(
    served: tuple[subprocess.Popen[str], str], signum: int
) -> None:
    process, url = served
    headers = {"Authorization": f"Bearer {_token(url)}"}
    statuses: list[int] = []
    for _ in range(3):
        answer = requests.get(
            f"{url}/api/v1/sync/fake",
            params={"pageSize": 50},
            headers=headers,
            timeout=10,
        )
        statuses.append(answer.status_code)
    assert statuses == [200, 200, 500]
    assert (
        requests.get(f"{url}/admin/stats", timeout=10).json()["data"]["faults:fail"]
        == 1
    )
    process.send_signal(signum)
    _, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "mock platform stopped" in err


def test_cli_reports_a_busy_port(served: tuple[subprocess.Popen[str], str]) -> None:
    _, url = served
    port = url.rsplit(":", 1)[1]
    second = _spawn("--port", port)
    _, err = second.communicate(timeout=20)
    assert second.returncode == 2
    assert "cannot start" in err
    assert "Traceback" not in err


def test_cli_rejects_bad_flags() -> None:
    process = _spawn("--rows", "many")
    _, err = process.communicate(timeout=20)
    assert process.returncode == 2
    assert "--rows" in err


def test_cli_help_lists_the_fault_flags() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tap_openapi.mock_platform", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=20,
    ).stdout
    for flag in (
        "--fail-every",
        "--throttle-every",
        "--drop-every",
        "--garbage-every",
        "--retry-after",
        "--latency-ms",
        "--token-ttl",
        "--rows",
        "--port",
    ):
        assert flag in out


def test_cli_token_ttl_sets_expires_in() -> None:
    process = _spawn("--port", "0", "--rows", "10", "--token-ttl", "2")
    try:
        assert process.stdout is not None
        match = READY.match(process.stdout.readline().strip())
        assert match
        answer = requests.post(
            f"{match.group(1)}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=("demo-client", "demo-secret"),
            timeout=10,
        )
        assert answer.status_code == 200
        assert answer.json()["expires_in"] == 2
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
    assert process.returncode == 0


def test_cli_latency_is_applied_and_recorded_in_stats() -> None:
    process = _spawn("--port", "0", "--rows", "10", "--latency-ms", "100")
    try:
        assert process.stdout is not None
        match = READY.match(process.stdout.readline().strip())
        assert match
        url = match.group(1)
        headers = {"Authorization": f"Bearer {_token(url)}"}
        page = requests.get(
            f"{url}/api/v1/sync/fake",
            params={"pageSize": 10},
            headers=headers,
            timeout=10,
        )
        assert page.status_code == 200
        assert len(page.json()["data"]["rows"]) == 10
        stats = requests.get(f"{url}/admin/stats", timeout=10).json()["data"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
    assert process.returncode == 0
    # One page request, delayed by the 100 ms of --latency-ms, as the server
    # recorded it (the token and stats requests are not delayed).
    assert stats["api_requests"] == 1
    assert stats["delayed_requests"] == 1
    assert stats["delayed_ms"] == 100
