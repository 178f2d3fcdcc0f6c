"""Issue 5 end to end: incremental sync, deletes and full resyncs via Meltano.

Runs ``meltano run tap-openapi target-sqlalchemy`` twice against the mock
platform and the live PostgreSQL server, changing and deleting rows on the
platform in between, and compares the table with the platform's data.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from meltano_helpers import meltano, meltano_env
from tap_openapi.mock_platform import MockPlatform

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PATH_TS = "/api/v1/sync/fakewithts"
PATH_FULL = "/api/v1/sync/fake"
INCREMENTAL = [
    {
        "name": "fakewithts",
        "path": PATH_TS,
        "primary_keys": ["id"],
        "replication_key": "updated_at",
        "include_deleted": True,
    }
]
FULL_TABLE = [{"name": "fake", "path": PATH_FULL, "primary_keys": ["id"]}]


def _normal(value: object) -> object:
    """One comparable form for a value read from the API or from the table."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    return value


def table_rows(url: str, table: str) -> dict[int, dict[str, object]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        result = conn.execute(sa.text(f'SELECT * FROM "{table}"')).mappings().all()
    engine.dispose()
    return {row["id"]: {k: _normal(v) for k, v in row.items()} for row in result}


def records_synced(output: str, stream: str) -> int:
    """The sum of the tap's record_count metrics for ``stream`` in Meltano's log.

    The SDK emits one metric per interval on long runs, so they are added up;
    the target's own record_count lines are left out.
    """
    pattern = rf'"metric": ?"record_count", ?"value": ?(\d+).*?"stream": ?"{stream}"'
    tap_lines = [ln for ln in output.splitlines() if " tap-openapi " in ln]
    counts = [int(m) for ln in tap_lines for m in re.findall(pattern, ln)]
    assert counts, f"no record_count metric for {stream} in the log"
    return sum(counts)


def assert_table_matches(
    url: str, table: str, expected: list[dict[str, object]], *, hard_delete: bool
) -> None:
    got = table_rows(url, table)
    live = [row for row in expected if not row.get("deleted_mark")]
    deleted = [row for row in expected if row.get("deleted_mark")]
    if hard_delete:
        assert sorted(got) == sorted(row["id"] for row in live)
    else:
        assert sorted(got) == sorted(row["id"] for row in expected)
        for row in deleted:
            assert got[row["id"]]["_sdc_deleted_at"] is not None
    for row in live:
        stored = got[row["id"]]
        assert stored.get("_sdc_deleted_at") is None
        for column, value in row.items():
            assert stored[column] == value, (row["id"], column)


@pytest.mark.parametrize("hard_delete", [True, False], ids=["hard", "soft"])
def test_second_run_fetches_only_changes(
    postgres_url: str, tmp_path: Path, hard_delete: bool
) -> None:
    with MockPlatform(rows=5_000) as platform:
        env = meltano_env(tmp_path, platform.url, INCREMENTAL)
        env["TAP_OPENAPI_PAGE_SIZE"] = "500"
        env["TARGET_SQLALCHEMY_SQLALCHEMY_URL"] = postgres_url
        env["TARGET_SQLALCHEMY_HARD_DELETE"] = str(hard_delete).lower()
        first = meltano("run", "tap-openapi", "target-sqlalchemy", env=env)
        assert records_synced(first.stderr, "fakewithts") == 5_000
        assert len(table_rows(postgres_url, "fakewithts")) == 5_000

        platform.touch(list(range(10, 20)))
        platform.delete(list(range(100, 105)))
        platform.reset_stats()
        second = meltano("run", "tap-openapi", "target-sqlalchemy", env=env)

        # The bookmark's own second (10 rows share it) is read again, plus the
        # 15 changed rows: one page, not the whole table. Meltano's discovery
        # reads one more page to infer the schema.
        assert records_synced(second.stderr, "fakewithts") == 10 + 15
        assert platform.stats[f"requests:{PATH_TS}"] == 1 + 1
        expected = platform.rows_snapshot(PATH_TS)
    assert_table_matches(postgres_url, "fakewithts", expected, hard_delete=hard_delete)


@pytest.mark.parametrize("hard_delete", [True, False], ids=["hard", "soft"])
def test_full_resync_removes_vanished_rows(
    postgres_url: str, tmp_path: Path, hard_delete: bool
) -> None:
    with MockPlatform(rows=3_000) as platform:
        env = meltano_env(tmp_path, platform.url, FULL_TABLE)
        env["TARGET_SQLALCHEMY_SQLALCHEMY_URL"] = postgres_url
        env["TARGET_SQLALCHEMY_HARD_DELETE"] = str(hard_delete).lower()
        meltano("run", "tap-openapi", "target-sqlalchemy", env=env)
        assert len(table_rows(postgres_url, "fake")) == 3_000

        vanished = [7, 1_500, 2_999]
        platform.delete(vanished)
        platform.touch([42])
        meltano("run", "tap-openapi", "target-sqlalchemy", env=env)
        expected = platform.rows_snapshot(PATH_FULL)
    got = table_rows(postgres_url, "fake")
    if hard_delete:
        assert sorted(got) == [row["id"] for row in expected]
    else:
        assert len(got) == 3_000
        assert all(got[i]["_sdc_deleted_at"] is not None for i in vanished)
        live = {i for i, row in got.items() if row["_sdc_deleted_at"] is None}
        assert live == {row["id"] for row in expected}
    assert (
        got[42]["colString1"]
        == next(r for r in expected if r["id"] == 42)["colString1"]
    )
    assert str(got[42]["colString1"]).endswith("-v2")


@pytest.mark.parametrize("hard_delete", [True, False], ids=["hard", "soft"])
def test_full_refresh_of_an_incremental_stream_repairs_drift(
    postgres_url: str, tmp_path: Path, hard_delete: bool
) -> None:
    """The monthly resync of the README: ``meltano run --full-refresh``.

    Without ``include_deleted`` the platform's incremental API never returns
    deleted rows, so incremental runs cannot see them go: the table drifts.
    A full-refresh run reads the stream from ``start_ts`` 0 and ends with
    ACTIVATE_VERSION, which removes (or marks) every row it did not bring.
    """
    streams = [{**INCREMENTAL[0], "include_deleted": False}]
    with MockPlatform(rows=2_000) as platform:
        env = meltano_env(tmp_path, platform.url, streams)
        env["TARGET_SQLALCHEMY_SQLALCHEMY_URL"] = postgres_url
        env["TARGET_SQLALCHEMY_HARD_DELETE"] = str(hard_delete).lower()
        meltano("run", "tap-openapi", "target-sqlalchemy", env=env)
        vanished = [5, 600, 1_999]
        platform.delete(vanished)
        platform.touch([77])

        meltano("run", "tap-openapi", "target-sqlalchemy", env=env)
        drifted = table_rows(postgres_url, "fakewithts")
        assert all(drifted[i].get("_sdc_deleted_at") is None for i in vanished)

        resync = meltano(
            "run", "--full-refresh", "tap-openapi", "target-sqlalchemy", env=env
        )
        assert records_synced(resync.stderr, "fakewithts") == 2_000 - len(vanished)
        expected = [
            row for row in platform.rows_snapshot(PATH_TS) if not row["deleted_mark"]
        ]
    got = table_rows(postgres_url, "fakewithts")
    live = {i for i, row in got.items() if row.get("_sdc_deleted_at") is None}
    assert live == {row["id"] for row in expected}
    if hard_delete:
        assert sorted(got) == sorted(live)
    else:
        assert len(got) == 2_000
    assert got[77]["colString1"] == next(
        r["colString1"] for r in expected if r["id"] == 77
    )
