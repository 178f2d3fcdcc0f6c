"""Incremental sync: bookmarks, resumption from state, soft deletes, versions."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from tap_runs import parse, run_cli, run_tap, streams

from tap_openapi.mock_platform import MockPlatform

TS_PATH = "requests:/api/v1/sync/fakewithts"
TS_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": ["integer", "null"]},
        "updated_at": {"type": ["integer", "null"]},
    },
}


def _iso(seconds: int) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)
    return moment.isoformat()


def test_second_run_reads_only_changed_rows() -> None:
    with MockPlatform(rows=1000) as platform:
        config = platform.tap_config(page_size=200, streams=streams("fakewithts"))
        first = run_tap(config)
        rows = first.records("fakewithts")
        assert len(rows) == 1000
        bookmark = first.bookmark("fakewithts")
        assert bookmark == max(row["updated_at"] for row in rows)

        touched_at = platform.touch([5, 17, 999])
        assert touched_at > bookmark
        platform.reset_stats()
        second = run_tap(config, state=first.last_state)

        # ts=<bookmark> means rows at or after it: the rows that shared the
        # bookmark's second come again, then the touched ones.
        expected = [
            row
            for row in platform.rows_snapshot("fakewithts")
            if row["updated_at"] >= bookmark
        ]
        assert second.records("fakewithts") == expected
        assert {5, 17, 999} <= set(second.ids("fakewithts"))
        assert len(expected) < 20
        assert second.bookmark("fakewithts") == touched_at
        # One sample page for the schema, one page of changes.
        assert platform.stats[TS_PATH] == 2


def test_start_ts_applies_without_state() -> None:
    with MockPlatform(rows=300) as platform:
        snapshot = platform.rows_snapshot("fakewithts")
        start = snapshot[150]["updated_at"]
        config = platform.tap_config(start_ts=start, streams=streams("fakewithts"))
        out = run_tap(config)
        expected = [row for row in snapshot if row["updated_at"] >= start]
        assert out.records("fakewithts") == expected


def test_state_is_written_while_the_stream_runs() -> None:
    with MockPlatform(rows=1000) as platform:
        config = platform.tap_config(page_size=100, streams=streams("fakewithts"))
        out = run_tap(config)
        kinds = [m["type"] for m in out.messages]
        first_record = kinds.index("RECORD")
        last_record = len(kinds) - 1 - kinds[::-1].index("RECORD")
        midway = [
            m["value"]["bookmarks"]["fakewithts"]["replication_key_value"]
            for m in out.messages[first_record:last_record]
            if m["type"] == "STATE"
        ]
        assert len(midway) >= 5
        assert midway == sorted(midway)
        assert midway[-1] < out.bookmark("fakewithts")


def test_include_deleted_marks_rows_for_deletion() -> None:
    with MockPlatform(rows=200) as platform:
        deleted_at = platform.delete([3, 4])
        config = platform.tap_config(
            streams=streams("fakewithts", include_deleted=True)
        )
        out = run_tap(config)
        schema = out.of_type("SCHEMA")[0]["schema"]["properties"]
        assert schema["_sdc_deleted_at"] == {
            "type": ["string", "null"],
            "format": "date-time",
        }
        records = {r["id"]: r for r in out.records("fakewithts")}
        assert len(records) == 200
        for row_id in (3, 4):
            assert records[row_id]["deleted_mark"] == 1
            assert records[row_id]["_sdc_deleted_at"] == _iso(deleted_at)
        assert "_sdc_deleted_at" not in records[5]


def test_without_include_deleted_rows_vanish() -> None:
    with MockPlatform(rows=200) as platform:
        platform.delete([3, 4])
        out = run_tap(platform.tap_config(streams=streams("fakewithts")))
        ids = out.ids("fakewithts")
        assert len(ids) == 198
        assert not {3, 4} & set(ids)


def test_full_table_activates_its_version_after_the_last_record() -> None:
    with MockPlatform(rows=300) as platform:
        config = platform.tap_config(page_size=100, streams=streams("fake"))
        out = run_tap(config)
        kinds = [m["type"] for m in out.messages if m.get("stream", "fake") == "fake"]
        activate = [m for m in out.messages if m["type"] == "ACTIVATE_VERSION"]
        assert len(activate) == 1
        assert kinds.index("ACTIVATE_VERSION") > max(
            i for i, kind in enumerate(kinds) if kind == "RECORD"
        )
        versions = {m["version"] for m in out.of_type("RECORD")}
        assert versions == {activate[0]["version"]}


def test_version_is_the_tap_start_in_milliseconds(platform: MockPlatform) -> None:
    started: list[int] = []
    config = platform.tap_config(streams=streams("fake", "fakewithts"))
    out = run_tap(config, before_sync=lambda tap: started.append(tap.initialized_at))
    # Not whole seconds (the SDK's default): two full syncs within one second
    # would share a version, and a target could not tell their rows apart.
    assert {m["version"] for m in out.of_type("ACTIVATE_VERSION")} == set(started)
    assert {m["version"] for m in out.of_type("RECORD")} == set(started)


def test_incremental_read_from_zero_activates_its_version() -> None:
    # No bookmark and start_ts 0 (a first run, or --full-refresh): the read
    # brings every row, so the target may drop the rows it did not bring.
    with MockPlatform(rows=300) as platform:
        platform.delete([7])
        config = platform.tap_config(page_size=100, streams=streams("fakewithts"))
        out = run_tap(config)
    kinds = [m["type"] for m in out.messages]
    activate = out.of_type("ACTIVATE_VERSION")
    assert len(activate) == 1
    assert activate[0]["stream"] == "fakewithts"
    assert kinds.index("ACTIVATE_VERSION") > len(kinds) - 1 - kinds[::-1].index(
        "RECORD"
    )
    assert {m["version"] for m in out.of_type("RECORD")} == {activate[0]["version"]}
    assert len(out.records("fakewithts")) == 299
    assert 7 not in out.ids("fakewithts")


def test_incremental_run_from_a_bookmark_sends_no_activate_version() -> None:
    with MockPlatform(rows=300) as platform:
        config = platform.tap_config(streams=streams("fakewithts"))
        first = run_tap(config)
        platform.touch([3])
        second = run_tap(config, state=first.last_state)
    assert {3} <= set(second.ids("fakewithts"))
    assert not second.of_type("ACTIVATE_VERSION")
    assert all("version" not in m for m in second.of_type("RECORD"))


def test_incremental_from_a_later_start_ts_sends_no_activate_version() -> None:
    with MockPlatform(rows=300) as platform:
        start = platform.rows_snapshot("fakewithts")[100]["updated_at"]
        config = platform.tap_config(start_ts=start, streams=streams("fakewithts"))
        out = run_tap(config)
    assert len(out.records("fakewithts")) == 200
    assert not out.of_type("ACTIVATE_VERSION")
    assert all("version" not in m for m in out.of_type("RECORD"))


@pytest.mark.parametrize("name", ["fake", "fakewithts"])
def test_a_failed_complete_read_sends_no_activate_version(
    name: str, tmp_path: Path
) -> None:
    # Page 3 of 3 fails for good: a target must not drop rows on the word of
    # a partial read.
    with MockPlatform(rows=300, fail_every=3) as platform:
        config = platform.tap_config(
            page_size=100,
            max_retries=0,
            max_concurrent_requests=1,
            streams=streams(name, schema=TS_SCHEMA),
        )
        done = run_cli(config=config, tmp_path=tmp_path)
    assert done.returncode == 1
    assert "HTTP 500" in done.stderr.strip().splitlines()[-1]
    out = parse(done.stdout)
    # Two pages' rows went out (keyset paging re-reads the boundary's ties).
    assert 100 < len(set(out.ids(name))) < 300
    assert not out.of_type("ACTIVATE_VERSION")


@pytest.mark.parametrize("name", ["fake", "fakewithts"])
def test_activate_version_can_be_turned_off(platform: MockPlatform, name: str) -> None:
    config = platform.tap_config(
        emit_activate_version_messages=False, streams=streams(name)
    )
    out = run_tap(config)
    assert not out.of_type("ACTIVATE_VERSION")
    assert all("version" not in m for m in out.of_type("RECORD"))


def test_incremental_param_names_the_query_parameter() -> None:
    # This platform reads "since", not "ts".
    with MockPlatform(rows=300, ts_param="since") as platform:
        snapshot = platform.rows_snapshot("fakewithts")
        bookmark = snapshot[150]["updated_at"]
        state = {
            "bookmarks": {
                "fakewithts": {
                    "replication_key": "updated_at",
                    "replication_key_value": bookmark,
                }
            }
        }
        config = platform.tap_config(
            page_size=1000,
            streams=streams("fakewithts", incremental_param="since", schema=TS_SCHEMA),
        )
        out = run_tap(config, state=state)
        sent = [r.query for r in platform.requests("/api/v1/sync/fakewithts")]
    expected = [row["id"] for row in snapshot if row["updated_at"] >= bookmark]
    assert out.ids("fakewithts") == expected
    assert len(expected) < 300
    assert sent == [{"pageNum": "1", "pageSize": "1000", "since": str(bookmark)}]
