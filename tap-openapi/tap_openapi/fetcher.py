"""Fetch pages concurrently and hand them back in page order.

Wire latency dominates a paged API; a few requests in flight hide it. Results
come back strictly in the order of the page numbers, and at most ``workers``
pages wait in memory at any time, so memory stays flat however long the
stream.
"""

from __future__ import annotations

import collections
import itertools
import typing as t
from concurrent.futures import Future, ThreadPoolExecutor

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

T = t.TypeVar("T")


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
