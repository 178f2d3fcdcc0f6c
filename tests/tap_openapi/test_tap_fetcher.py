"""The ordered concurrent page fetcher, on its own."""

from __future__ import annotations

import random
import threading
import time

import pytest

from tap_openapi.fetcher import fetch_in_order


def test_results_come_in_page_order_whatever_the_timing() -> None:
    delays = {page: random.uniform(0, 0.01) for page in range(1, 41)}

    def fetch(page: int) -> int:
        time.sleep(delays[page])
        return page

    assert list(fetch_in_order(fetch, range(1, 41), workers=6)) == list(range(1, 41))


def test_no_more_than_workers_pages_in_flight() -> None:
    lock = threading.Lock()
    running = 0
    peak = 0

    def fetch(page: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.002)
        with lock:
            running -= 1
        return page

    pages = fetch_in_order(fetch, range(1, 31), workers=3)
    for page in pages:
        time.sleep(0.001)  # a slow consumer must not let work pile up
        assert page
    assert peak <= 3


def test_error_surfaces_in_order_and_stops_the_rest() -> None:
    started: list[int] = []

    def fetch(page: int) -> int:
        started.append(page)
        if page == 3:
            msg = "page 3 failed"
            raise RuntimeError(msg)
        return page

    received: list[int] = []
    pages = fetch_in_order(fetch, range(1, 101), workers=2)
    with pytest.raises(RuntimeError, match="page 3 failed"):
        received.extend(pages)
    assert received == [1, 2]
    assert max(started) <= 5


def test_closing_early_cancels_pages_not_started() -> None:
    started: list[int] = []

    def fetch(page: int) -> int:
        started.append(page)
        time.sleep(0.001)
        return page

    pages = fetch_in_order(fetch, range(1, 1001), workers=4)
    assert next(pages) == 1
    pages.close()
    assert len(started) <= 6
