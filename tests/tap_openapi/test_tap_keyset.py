"""Keyset paging of incremental streams (``incremental_paging``).

Each request after a full page starts at the last row's ``updated_at``
(``ts=``) from page 1 again, so rows changed behind it cannot shift unread
rows out of reach; rows repeated by the API's ``>=`` are dropped, not emitted
twice. ``incremental_paging: offset`` keeps the concurrent page-number reads.
"""

from __future__ import annotations

import logging
import threading
import typing as t
import urllib.parse
from collections import Counter
from pathlib import Path

import pytest
import requests
from tap_runs import run_cli, run_tap, streams

from tap_openapi.errors import TransportError
from tap_openapi.mock_platform import MockPlatform
from tap_openapi.pagination import KeysetPaginator
from tap_openapi.tap import TapOpenAPI

TS_PATH = "requests:/api/v1/sync/fakewithts"


class Wire:
    """Records what a tap's ``fakewithts`` stream sends, and on which thread.

    ``on_page`` runs before page request number ``n`` (1-based) is sent.
    """

    def __init__(self, on_page: dict[int, t.Callable[[], object]] | None = None):
        self.queries: list[dict[str, str]] = []
        self.threads: set[str] = set()
        self._on_page = on_page or {}
        self._lock = threading.Lock()

    def install(self, tap: TapOpenAPI) -> None:
        stream = t.cast("t.Any", tap.streams["fakewithts"])
        send = stream._send

        def recording_send(request: requests.PreparedRequest) -> requests.Response:
            query = dict(
                urllib.parse.parse_qsl(urllib.parse.urlsplit(request.url).query)
            )
            with self._lock:
                self.queries.append(query)
                self.threads.add(threading.current_thread().name)
                hook = self._on_page.get(len(self.queries))
            if hook is not None:
                hook()
            return t.cast("requests.Response", send(request))

        stream._send = recording_send


def _duplicates(ids: list[int]) -> list[int]:
    return sorted(i for i, n in Counter(ids).items() if n > 1)


@pytest.mark.parametrize("page_size", [7, 10, 100])
def test_tied_updated_at_values_give_every_row_once(page_size: int) -> None:
    with MockPlatform(rows=1000) as platform:
        # Ten ids share each second already; 250 touched rows share one more,
        # a block of ties larger than a page.
        platform.touch(range(300, 550))
        config = platform.tap_config(page_size=page_size, streams=streams("fakewithts"))
        out = run_tap(config)
        expected = platform.rows_snapshot("fakewithts")
    assert _duplicates(out.ids("fakewithts")) == []
    assert out.records("fakewithts") == expected
    assert out.bookmark("fakewithts") == expected[-1]["updated_at"]


def test_stream_without_primary_keys_tells_ties_apart_by_the_whole_row() -> None:
    with MockPlatform(rows=500) as platform:
        platform.touch(range(1, 130))
        config = platform.tap_config(
            page_size=50, streams=streams("fakewithts", primary_keys=[])
        )
        out = run_tap(config)
        expected = platform.rows_snapshot("fakewithts")
    assert out.records("fakewithts") == expected


def test_keyset_requests_restart_from_the_last_rows_second() -> None:
    with MockPlatform(rows=1000) as platform:
        wire = Wire()
        config = platform.tap_config(page_size=100, streams=streams("fakewithts"))
        platform_start = platform.rows_snapshot("fakewithts")[0]["updated_at"]
        out = run_tap(config, before_sync=wire.install)
        assert len(out.records("fakewithts")) == 1000
        # 100 new rows, then 90 a page (ten rows of the anchor second come
        # again); the 11th page's totalNum says it holds the rest, so no
        # 12th request. One more request sampled the schema.
        assert platform.stats[TS_PATH] == 11 + 1
    assert len(wire.queries) == 11
    assert {q["pageNum"] for q in wire.queries} == {"1"}
    anchors = [int(q["ts"]) for q in wire.queries]
    assert anchors[0] == 0
    # Page k ends with id 100 + 90 * (k - 1), of second (id - 1) // 10.
    assert anchors[1:] == [platform_start + (100 + 90 * k - 1) // 10 for k in range(10)]
    # One request at a time, from the stream's own thread.
    assert wire.threads == {threading.current_thread().name}


def test_one_page_result_takes_one_request() -> None:
    with MockPlatform(rows=100) as platform:
        config = platform.tap_config(page_size=100, streams=streams("fakewithts"))
        out = run_tap(config)
        assert len(out.records("fakewithts")) == 100
        assert platform.stats[TS_PATH] == 1 + 1


def test_block_of_ties_larger_than_a_page_is_read_by_page_number() -> None:
    with MockPlatform(rows=20) as platform:
        stamp = platform.touch(range(1, 21))
        wire = Wire()
        config = platform.tap_config(
            page_size=8, start_ts=stamp, streams=streams("fakewithts")
        )
        out = run_tap(config, before_sync=wire.install)
    assert out.ids("fakewithts") == list(range(1, 21))
    pages = [(q["ts"], q["pageNum"]) for q in wire.queries]
    assert pages == [(str(stamp), "1"), (str(stamp), "2"), (str(stamp), "3")]


def test_rows_touched_mid_sync_are_read_again_not_lost() -> None:
    with MockPlatform(rows=1000) as platform:
        touched: list[int] = []
        # Before the third request, rows of the first page change: they move
        # behind every other row.
        wire = Wire(on_page={3: lambda: touched.append(platform.touch(range(1, 21)))})
        config = platform.tap_config(page_size=100, streams=streams("fakewithts"))
        out = run_tap(config, before_sync=wire.install)
        expected = platform.rows_snapshot("fakewithts")
    ids = out.ids("fakewithts")
    assert set(ids) == set(range(1, 1001))
    # Each touched row twice (old, then new version), every other row once.
    assert _duplicates(ids) == list(range(1, 21))
    latest = {row["id"]: row for row in out.records("fakewithts")}
    assert sorted(latest.values(), key=lambda r: (r["updated_at"], r["id"])) == (
        expected
    )
    assert out.bookmark("fakewithts") == touched[0]


def test_offset_paging_skips_rows_shifted_mid_sync() -> None:
    """The documented cost of the opt-in: a row can be skipped until a resync."""
    with MockPlatform(rows=1000) as platform:
        wire = Wire(on_page={3: lambda: platform.touch(range(1, 21))})
        config = platform.tap_config(
            page_size=100,
            max_concurrent_requests=1,
            streams=streams("fakewithts", incremental_paging="offset"),
        )
        out = run_tap(config, before_sync=wire.install)
    # Pages 1-2 held ids 1-200; the touch shifted ids 201-220 onto them.
    assert not set(range(201, 221)) & set(out.ids("fakewithts"))


def test_offset_paging_still_runs_concurrently() -> None:
    with MockPlatform(rows=3000, latency_ms=5) as platform:
        wire = Wire()
        config = platform.tap_config(
            page_size=100,
            max_concurrent_requests=4,
            streams=streams("fakewithts", incremental_paging="offset"),
        )
        out = run_tap(config, before_sync=wire.install)
        assert out.ids("fakewithts") == list(range(1, 3001))
        assert platform.stats[TS_PATH] == 30 + 1
    # Every request from the run's start, by page number.
    assert {q["ts"] for q in wire.queries} == {"0"}
    assert sorted(int(q["pageNum"]) for q in wire.queries) == list(range(1, 31))
    # Pages 2-30 were fetched on the pool's worker threads.
    workers = wire.threads - {threading.current_thread().name}
    assert workers
    assert all(name.startswith("fakewithts") for name in workers)


def test_include_deleted_and_params_go_with_every_keyset_request() -> None:
    with MockPlatform(rows=600) as platform:
        platform.delete([5, 6, 300])
        wire = Wire()
        config = platform.tap_config(
            page_size=50,
            streams=streams(
                "fakewithts", include_deleted=True, params={"region": "eu"}
            ),
        )
        out = run_tap(config, before_sync=wire.install)
        expected = platform.rows_snapshot("fakewithts")
    assert [r["id"] for r in expected] == out.ids("fakewithts")
    records = {r["id"]: r for r in out.records("fakewithts")}
    assert all(records[i]["_sdc_deleted_at"] for i in (5, 6, 300))
    assert "_sdc_deleted_at" not in records[7]
    assert len(wire.queries) > 10
    assert all(q["full"] == "1" and q["region"] == "eu" for q in wire.queries)


def test_resumed_run_starts_at_the_bookmark() -> None:
    with MockPlatform(rows=1000) as platform:
        config = platform.tap_config(page_size=100, streams=streams("fakewithts"))
        first = run_tap(config)
        stamp = platform.touch(range(1, 151))
        wire = Wire()
        second = run_tap(config, state=first.last_state, before_sync=wire.install)
        expected = [
            row
            for row in platform.rows_snapshot("fakewithts")
            if row["updated_at"] >= first.bookmark("fakewithts")
        ]
    assert second.records("fakewithts") == expected
    assert second.bookmark("fakewithts") == stamp
    assert wire.queries[0]["ts"] == str(first.bookmark("fakewithts"))


def test_progress_log_counts_keyset_pages(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tap_openapi.client")

    def log_every_page(tap: TapOpenAPI) -> None:
        t.cast("t.Any", tap.streams["fakewithts"]).progress_interval_seconds = 0

    with MockPlatform(rows=300) as platform:
        config = platform.tap_config(page_size=100, streams=streams("fakewithts"))
        run_tap(config, before_sync=log_every_page)
    lines = [r.getMessage() for r in caplog.records]
    assert "Stream 'fakewithts': 190 rows, page 2 of ?" in "\n".join(lines)
    assert any(
        line.startswith("Stream 'fakewithts': 300 rows in 4 pages") for line in lines
    )
    assert any("(keyset paging)" in line for line in lines)


def test_unknown_incremental_paging_is_a_config_error(
    platform: MockPlatform, tmp_path: Path
) -> None:
    config = platform.tap_config(
        streams=streams("fakewithts", incremental_paging="fast")
    )
    result = run_cli(config=config, tmp_path=tmp_path)
    assert result.returncode == 1
    expected = (
        "Setting streams[0].incremental_paging of stream 'fakewithts' must be "
        "'keyset' or 'offset', got 'fast'"
    )
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_api_ignoring_page_numbers_stops_with_an_error() -> None:
    page = {
        "data": {
            "pageSize": 2,
            "rows": [{"id": 1, "updated_at": 100}, {"id": 2, "updated_at": 100}],
        }
    }
    paginator = KeysetPaginator(2, "updated_at", 100, ["id"], context="stream 's'")
    assert len(paginator.take(page)) == 2
    assert (paginator.anchor, paginator.current_value) == (100, 2)
    with pytest.raises(TransportError, match="ignore pageNum") as caught:
        paginator.take(page)
    assert "stream 's', page 2" in str(caught.value)
