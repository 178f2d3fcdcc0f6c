"""Fetch pages concurrently and hand them back in page order.

Wire latency dominates a paged API; a few requests in flight hide it. Results
come back strictly in the order of the page numbers, and at most ``workers``
pages wait in memory at any time, so memory stays flat however long the
stream.
"""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import itertools
import logging
import os
import sys
import typing as t
from concurrent.futures import Future, ThreadPoolExecutor

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

T = t.TypeVar("T")

logger = logging.getLogger(__name__)

#: glibc's mallopt() parameter number for the arena count.
_M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas, unless ``MALLOC_ARENA_MAX`` is already set.

    Pages are decoded on worker threads, and glibc gives each thread its own
    arena; freed page memory stays in those arenas, which adds ~5 MB of
    resident memory per worker. Two arenas keep RSS flat with no measurable
    cost in speed. Elsewhere than glibc this does nothing.

    Args:
        arenas: The arena cap.

    Returns:
        True if the cap was applied.
    """
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    applied = bool(mallopt(_M_ARENA_MAX, arenas))
    logger.debug("malloc arenas capped at %d: %s", arenas, applied)
    return applied


def fetch_in_order(
    fetch: Callable[[int], T],
    pages: Iterable[int],
    *,
    workers: int,
    name: str = "page",
) -> Iterator[T]:
    """Call ``fetch(page)`` for every page on a thread pool, yield in order.

    Args:
        fetch: Fetches and decodes one page; runs on a worker thread.
        pages: Page numbers, in the order the results must come out.
        workers: Requests in flight at once (and pages buffered at most).
        name: Thread name prefix, for logs and debuggers.

    Yields:
        ``fetch(page)`` for each page, in the order of ``pages``.

    An exception raised by ``fetch`` surfaces when its page's turn comes;
    pages not yet started are then cancelled. Closing the generator early
    cancels them too.
    """
    workers = max(1, workers)
    todo = iter(pages)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        pending: collections.deque[Future[T]] = collections.deque(
            pool.submit(fetch, page) for page in itertools.islice(todo, workers)
        )
        try:
            while pending:
                result = pending.popleft().result()
                # Refill before yielding so the pool works while the caller
                # emits this page's rows.
                for page in itertools.islice(todo, 1):
                    pending.append(pool.submit(fetch, page))
                yield result
        finally:
            for future in pending:
                future.cancel()
