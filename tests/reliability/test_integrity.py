"""Checksum test: every row the platform serves lands once, under faults.

``tap-openapi | target-sqlalchemy`` runs as two processes against a platform
that fails, throttles, drops connections, garbles bodies and expires tokens
early; afterwards the table's row count and digest of all values must equal
the platform's. A second run after changes and deletes must converge too.
"""

from __future__ import annotations

import json
import threading
import time
import typing as t
from pathlib import Path

import pytest
from rel_helpers import (
    compare_rows,
    count_rows,
    read_table,
    run_pipe,
    run_tap,
)

from tap_openapi.mock_platform import MockPlatform

ROWS = 1000
FAULTS: dict[str, t.Any] = {
    "fail_every": 7,
    "throttle_every": 11,
    "retry_after": 0,
    "drop_every": 13,
    "garbage_every": 17,
    # Tokens die after 1 s while clients are told an hour: the tap meets A401OT,
    # for sure since the 10 sequential pages of fakewithts take 1.2 s or more.
    "token_ttl": 1,
    "advertised_ttl": 3600,
    "latency_ms": 120,
}


def _tap_config(platform: MockPlatform) -> dict[str, t.Any]:
    streams = platform.tap_config()["streams"]
    streams[1]["include_deleted"] = True
    return platform.tap_config(
        page_size=100, max_retries=8, max_concurrent_requests=4, streams=streams
    )


def _assert_converged(platform: MockPlatform, url: str) -> None:
    fake = platform.rows_snapshot("fake")
    live = [r for r in platform.rows_snapshot("fakewithts") if not r["deleted_mark"]]
    for table, expected in (("fake", fake), ("fakewithts", live)):
        problem = compare_rows(read_table(url, table), expected)
        assert problem is None, f"table {table}: {problem}"
        assert count_rows(url, table) == len(expected)


@pytest.mark.slow
@pytest.mark.parametrize(
    "dialect",
    [
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", id="mysql", marks=pytest.mark.mysql),
    ],
)
def test_rows_match_platform_under_faults(
    dialect: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = str(request.getfixturevalue(f"{dialect}_url"))
    target_config = {"sqlalchemy_url": url, "hard_delete": True, "batch_size_rows": 400}
    with MockPlatform(rows=ROWS, **FAULTS) as platform:
        first = run_pipe(tmp_path, _tap_config(platform), target_config, name="first")
        assert (first.tap_rc, first.target_rc) == (0, 0), first.output[-3000:]
        _assert_converged(platform, url)

        stats = platform.stats
        for fault in ("fail", "throttle", "drop", "garbage"):
            assert stats[f"faults:{fault}"] > 0, f"no {fault} fault was injected"
        warnings = [ln for ln in first.tap_stderr.splitlines() if "WARNING" in ln]
        retries = [ln for ln in warnings if "Retrying /api/v1/sync/" in ln]
        # Each retry names the path, the attempt number and the cause.
        assert all(" attempt " in ln and "page " in ln for ln in retries)
        causes = "\n".join(retries)
        assert "HTTP 500" in causes
        assert "HTTP 429" in causes
        assert "not valid JSON" in causes
        assert any(w in causes for w in ("Connection broken", "IncompleteRead"))
        assert any("Access token expired" in ln for ln in warnings)

        # Changes, new soft deletes and another faulty run from the last state.
        platform.touch(range(10, 60))
        platform.delete([3, 70, 71, ROWS])
        second = run_pipe(
            tmp_path,
            _tap_config(platform),
            target_config,
            state=first.states[-1],
            name="second",
        )
        assert (second.tap_rc, second.target_rc) == (0, 0), second.output[-3000:]
        _assert_converged(platform, url)


def test_rows_changed_during_a_sync_are_not_lost(
    sqlite_url: str, tmp_path: Path
) -> None:
    with MockPlatform(rows=3000, latency_ms=40) as platform:
        config = platform.tap_config(
            page_size=100,
            max_concurrent_requests=1,
            streams=[platform.tap_config()["streams"][1]],
        )

        def change_read_rows() -> None:
            # Rows of page 1 move to the end while later pages are being read.
            deadline = time.monotonic() + 60
            while platform.stats["api_requests"] < 4 and time.monotonic() < deadline:
                time.sleep(0.005)
            platform.touch(range(1, 21))

        changer = threading.Thread(target=change_read_rows)
        changer.start()
        try:
            first = run_pipe(tmp_path, config, {"sqlalchemy_url": sqlite_url})
        finally:
            changer.join()
        assert (first.tap_rc, first.target_rc) == (0, 0), first.output[-3000:]
        # The next incremental run must bring the table up to date.
        second = run_pipe(
            tmp_path,
            config,
            {"sqlalchemy_url": sqlite_url},
            state=first.states[-1],
            name="second",
        )
        assert (second.tap_rc, second.target_rc) == (0, 0), second.output[-3000:]
        expected = platform.rows_snapshot("fakewithts")
    problem = compare_rows(read_table(sqlite_url, "fakewithts"), expected)
    assert problem is None, problem


def test_full_sync_that_dies_midway_deletes_nothing(
    sqlite_url: str, tmp_path: Path
) -> None:
    """A broken full-table sync must not retire the rows it did not get to."""
    target_config = {"sqlalchemy_url": sqlite_url, "hard_delete": True}
    with MockPlatform(rows=2000, latency_ms=20) as platform:
        config = platform.tap_config(
            page_size=100,
            max_retries=0,
            max_concurrent_requests=1,
            streams=platform.tap_config()["streams"][:1],
        )
        first = run_pipe(tmp_path, config, target_config)
        assert (first.tap_rc, first.target_rc) == (0, 0), first.output[-3000:]
        platform.reset_stats()

        def break_platform() -> None:
            deadline = time.monotonic() + 60
            while platform.stats["api_requests"] < 5 and time.monotonic() < deadline:
                time.sleep(0.005)
            platform.faults.fail_every = 1

        breaker = threading.Thread(target=break_platform)
        breaker.start()
        try:
            second = run_pipe(tmp_path, config, target_config, name="second")
        finally:
            breaker.join()
        assert second.tap_rc != 0
        assert "HTTP 500" in second.tap_stderr.strip().splitlines()[-1]
        expected = platform.rows_snapshot("fake")
    problem = compare_rows(read_table(sqlite_url, "fake"), expected)
    assert problem is None, problem


@pytest.mark.parametrize("paging", ["offset", "keyset"])
def test_tap_state_never_passes_a_page_that_failed(paging: str, tmp_path: Path) -> None:
    """One page failing for good must not let a later page's bookmark out.

    With ``offset`` paging, pages are in flight concurrently; with ``keyset``
    they follow each other. Either way every row under an emitted bookmark was
    emitted before it.
    """
    with MockPlatform(rows=3000, fail_every=13, latency_ms=10) as platform:
        stream = {**platform.tap_config()["streams"][1], "incremental_paging": paging}
        config = platform.tap_config(
            page_size=100,
            max_retries=0,
            max_concurrent_requests=4,
            streams=[stream],
        )
        done = run_tap(tmp_path, config)
        snapshot = platform.rows_snapshot("fakewithts")
    assert done.returncode != 0
    assert "gave up after 1 attempts" in done.stderr.strip().splitlines()[-1]
    emitted: set[int] = set()
    bookmarks = 0
    for line in done.stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            emitted.add(message["record"]["id"])
        elif message["type"] == "STATE":
            stream_state = message["value"]["bookmarks"].get("fakewithts", {})
            bookmark = stream_state.get("replication_key_value")
            if bookmark is None:
                continue
            bookmarks += 1
            under = {r["id"] for r in snapshot if r["updated_at"] < bookmark}
            assert under <= emitted, f"bookmark {bookmark} passes unsent rows"
    assert bookmarks, "no bookmark was emitted before the failure"


@pytest.mark.slow
@pytest.mark.postgres
def test_100k_rows_land_in_postgres_exactly(postgres_url: str, tmp_path: Path) -> None:
    """The sample API at 100,000 rows: exact count, every value equal."""
    with MockPlatform(rows=100_000) as platform:
        config = platform.tap_config(streams=platform.tap_config()["streams"][:1])
        run = run_pipe(tmp_path, config, {"sqlalchemy_url": postgres_url})
        expected = platform.rows_snapshot("fake")
    assert (run.tap_rc, run.target_rc) == (0, 0), run.output[-3000:]
    assert len(expected) == 100_000
    table = read_table(postgres_url, "fake")
    assert count_rows(postgres_url, "fake") == 100_000
    problem = compare_rows(table, expected)
    assert problem is None, problem
    # A few rows checked by hand, without the digest's canonical forms: 63-bit
    # integers exact, floats bit for bit, the platform's times as timestamps.
    by_id = {row["id"]: row for row in table}
    for sample in (expected[0], expected[49_999], expected[-1]):
        row = by_id[sample["id"]]
        assert row["colInt1"] == sample["colInt1"]
        assert row["colFloat1"] == sample["colFloat1"]
        assert row["colString4"] == sample["colString4"]
        stamp = row["colSqlTime1"].strftime("%Y-%m-%d %H:%M:%S")
        assert stamp == sample["colSqlTime1"]
