"""Paging: how many requests a sync makes, and rows come out in page order."""

from __future__ import annotations

import pytest
import requests
from tap_runs import FAKE_SCHEMA, run_tap, streams

from tap_openapi.errors import TransportError
from tap_openapi.mock_platform import MockPlatform
from tap_openapi.pagination import PageNumberPaginator

FAKE_PATH = "requests:/api/v1/sync/fake"


@pytest.mark.parametrize(
    ("rows", "page_size", "requests_made"),
    [
        pytest.param(0, 100, 1, id="no-rows"),
        pytest.param(100, 100, 1, id="exactly-one-page"),
        pytest.param(300, 100, 3, id="exact-multiple-no-empty-page"),
        pytest.param(250, 100, 3, id="last-page-short"),
        pytest.param(7, 2000, 1, id="one-short-page"),
    ],
)
def test_requests_stop_at_total(rows: int, page_size: int, requests_made: int) -> None:
    with MockPlatform(rows=rows) as platform:
        config = platform.tap_config(
            page_size=page_size, streams=streams("fake", schema=FAKE_SCHEMA)
        )
        out = run_tap(config)
        assert out.ids("fake") == list(range(1, rows + 1))
        # totalNum says where the end is: never a request past it.
        assert platform.stats[FAKE_PATH] == requests_made


@pytest.mark.parametrize(
    ("rows", "requests_made"),
    [
        pytest.param(0, 1, id="no-rows"),
        pytest.param(10, 2, id="exactly-one-page"),
        pytest.param(30, 4, id="multiple-needs-the-empty-page"),
        pytest.param(25, 3, id="short-last-page"),
        pytest.param(7, 1, id="one-short-page"),
    ],
)
def test_without_total_a_short_or_empty_page_ends_paging(
    rows: int, requests_made: int
) -> None:
    with MockPlatform(rows=rows, total_num="omit") as platform:
        config = platform.tap_config(
            page_size=10, streams=streams("fake", schema=FAKE_SCHEMA)
        )
        out = run_tap(config)
        assert out.ids("fake") == list(range(1, rows + 1))
        # A full page may have a successor; only a short (or empty) one ends.
        assert platform.stats[FAKE_PATH] == requests_made
        requested = platform.requests("/api/v1/sync/fake")
        pages = [int(r.query["pageNum"]) for r in requested]
        assert pages == list(range(1, requests_made + 1))


@pytest.mark.parametrize(
    ("rows", "requests_made"),
    [
        pytest.param(0, 1, id="no-rows"),
        pytest.param(25, 3, id="short-page-before-the-promised-end"),
        pytest.param(30, 4, id="page-past-the-end"),
    ],
)
def test_an_overstated_total_does_not_read_to_its_end(
    rows: int, requests_made: int
) -> None:
    with MockPlatform(rows=rows, total_num="overstate") as platform:
        config = platform.tap_config(
            page_size=10,
            max_concurrent_requests=1,
            streams=streams("fake", schema=FAKE_SCHEMA),
        )
        out = run_tap(config)
        assert out.ids("fake") == list(range(1, rows + 1))
        # totalNum promises 2 * rows + 10: the pages past the data are empty.
        assert platform.stats[FAKE_PATH] == requests_made


def test_an_overstated_total_read_concurrently_keeps_every_row_once() -> None:
    with MockPlatform(rows=95, total_num="overstate") as platform:
        config = platform.tap_config(
            page_size=10,
            max_concurrent_requests=4,
            streams=streams("fake", schema=FAKE_SCHEMA),
        )
        assert run_tap(config).ids("fake") == list(range(1, 96))


def test_inferred_schema_costs_one_sample_request() -> None:
    with MockPlatform(rows=250) as platform:
        out = run_tap(platform.tap_config(page_size=100, streams=streams("fake")))
        assert len(out.records("fake")) == 250
        assert platform.stats[FAKE_PATH] == 3 + 1


@pytest.mark.parametrize("workers", [pytest.param(1, id="serial"), 4, 8])
def test_concurrent_pages_come_out_in_order(workers: int) -> None:
    with MockPlatform(rows=3000, latency_ms=5) as platform:
        config = platform.tap_config(
            page_size=100,
            max_concurrent_requests=workers,
            streams=streams("fake", schema=FAKE_SCHEMA),
        )
        ids = run_tap(config).ids("fake")
        assert ids == list(range(1, 3001))
        assert platform.stats[FAKE_PATH] == 30


def test_rows_keep_api_values(platform: MockPlatform) -> None:
    config = platform.tap_config(page_size=2000, streams=streams("fake"))
    records = run_tap(config).records("fake")
    assert len(records) == platform.rows
    for record in (records[0], records[4321], records[-1]):
        assert record == platform.expected_row(record["id"], "fake")


def _response(body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = body
    response.url = "http://platform.test/api/v1/sync/fake?pageNum=1"
    return response


def test_paginator_without_total_stops_on_empty_page() -> None:
    paginator = PageNumberPaginator(page_size=2)
    page = b'{"errCode":0,"data":{"rows":[{"id":1},{"id":2}]}}'
    paginator.advance(_response(page))
    assert (paginator.current_value, paginator.finished) == (2, False)
    paginator.advance(_response(b'{"errCode":0,"data":{"rows":[]}}'))
    assert paginator.finished


@pytest.mark.parametrize(
    ("body", "finished"),
    [
        pytest.param(b'{"data":{"rows":[{"id":1}]}}', True, id="short-page"),
        pytest.param(
            b'{"data":{"pageSize":1,"rows":[{"id":1}]}}',
            False,
            id="full-page-of-a-capped-size",
        ),
        pytest.param(
            b'{"data":{"pageSize":2,"totalNum":9,"rows":[{"id":1}]}}',
            True,
            id="short-page-despite-total",
        ),
    ],
)
def test_paginator_measures_short_pages_by_the_served_size(
    body: bytes, finished: bool
) -> None:
    # Asked for 2 rows a page: a server that caps at 1 says so in pageSize.
    paginator = PageNumberPaginator(page_size=2)
    paginator.advance(_response(body))
    assert paginator.finished is finished


def test_paginator_with_total_stops_on_last_page() -> None:
    paginator = PageNumberPaginator(page_size=2)
    page = b'{"data":{"pageSize":2,"totalNum":3,"rows":[{"id":1},{"id":2}]}}'
    paginator.advance(_response(page))
    assert not paginator.finished
    assert paginator.last_page == 2
    paginator.advance(_response(b'{"data":{"totalNum":3,"rows":[{"id":3}]}}'))
    assert paginator.finished


@pytest.mark.parametrize(
    ("body", "path", "found"),
    [
        pytest.param(
            b'{"data":{"totalNum":3}}', "$.data.rows", "nothing", id="no-rows"
        ),
        pytest.param(
            b'{"data":{"rows":{"id":1}}}', "$.data.rows", "{'id': 1}", id="dict"
        ),
        pytest.param(
            b'{"data":{"rows":[{}],"totalNum":"many"}}',
            "$.data.totalNum",
            "'many'",
            id="bad-total",
        ),
    ],
)
def test_paginator_names_path_and_value(body: bytes, path: str, found: str) -> None:
    paginator = PageNumberPaginator(page_size=2, context="stream 'fake'")
    with pytest.raises(TransportError) as caught:
        paginator.advance(_response(body))
    message = str(caught.value)
    assert "PageNumberPaginator (stream 'fake', page 1)" in message
    assert f"at {path}, found {found}" in message
