"""Incremental sync: bookmarks, resumption from state, soft deletes, versions."""

from __future__ import annotations

import datetime

from tap_runs import run_tap, streams

from tap_openapi.mock_platform import MockPlatform

TS_PATH = "requests:/api/v1/sync/fakewithts"


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


def test_incremental_streams_send_no_activate_version(platform: MockPlatform) -> None:
    out = run_tap(platform.tap_config(streams=streams("fakewithts")))
    assert not out.of_type("ACTIVATE_VERSION")
    assert "version" not in out.of_type("RECORD")[0]


def test_activate_version_can_be_turned_off(platform: MockPlatform) -> None:
    config = platform.tap_config(
        emit_activate_version_messages=False, streams=streams("fake")
    )
    assert not run_tap(config).of_type("ACTIVATE_VERSION")
