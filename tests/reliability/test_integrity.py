"""Checksum test: every row the platform serves lands once, under faults.

``tap-openapi | target-sqlalchemy`` runs as two processes against a platform
that fails, throttles, drops connections, garbles bodies and expires tokens
early; afterwards the table's row count and digest of all values must equal
the platform's. A second run after changes and deletes must converge too.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from rel_helpers import compare_rows, count_rows, read_table, run_pipe

from tap_openapi.mock_platform import MockPlatform

ROWS = 1000
FAULTS: dict[str, t.Any] = {
    "fail_every": 7,
    "throttle_every": 11,
    "retry_after": 0,
    "drop_every": 13,
    "garbage_every": 17,
    # Tokens die after 1 s while clients are told an hour: the tap meets A401OT.
    "token_ttl": 1,
    "advertised_ttl": 3600,
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
        assert "Connection broken" in causes or "IncompleteRead" in causes
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
