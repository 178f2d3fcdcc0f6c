"""Page-number pagination over the platform's envelope.

Every list API answers ``{"data": {"pageNum", "pageSize", "totalNum", "rows"}}``.
The paginator stops after page ``ceil(totalNum / pageSize)`` when ``totalNum``
is known, so no empty page is requested past the end, and on the first empty
page otherwise.
"""

from __future__ import annotations

import math
import sys
import typing as t

from singer_sdk.pagination import BaseAPIPaginator

from tap_openapi.envelope import parse_body
from tap_openapi.errors import TransportError

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    import requests

#: Where the envelope keeps the row count and the page size it really used.
TOTAL_PATH = "data.totalNum"
PAGE_SIZE_PATH = "data.pageSize"

_MISSING = object()


def lookup(payload: t.Any, path: str) -> t.Any:
    """Follow a dotted ``path`` (``"data.rows"``, optionally ``"$."``-prefixed).

    Args:
        payload: The decoded response body.
        path: Keys separated by dots.

    Returns:
        The value found, or a private sentinel when a key is missing.
    """
    node = payload
    for key in path.removeprefix("$.").split("."):
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node


def is_missing(value: t.Any) -> bool:
    """Tell whether :func:`lookup` found nothing."""
    return value is _MISSING


def shape_error(owner: str, path: str, expected: str, value: t.Any) -> TransportError:
    """Build the error for a page whose ``path`` does not hold what it should.

    Args:
        owner: Who expected the value (paginator class or stream).
        path: The dotted path looked up.
        expected: What should have been there (``"a list"``).
        value: What was found (the sentinel for "missing").

    Returns:
        A fatal error naming the owner, the JSON path and the value found.
    """
    found = "nothing (the key is missing)" if is_missing(value) else repr(value)
    if len(found) > 120:
        found = found[:117] + "..."
    msg = f"{owner}: expected {expected} at $.{path.removeprefix('$.')}, "
    msg += f"found {found}"
    return TransportError(msg)


class PageNumberPaginator(BaseAPIPaginator[int]):
    """Counts pages from 1 and stops at ``totalNum`` or on an empty page.

    Args:
        page_size: The ``pageSize`` the requests ask for.
        records_path: Dotted path of the rows in the envelope.
        start_value: The first page number.
        context: Extra words for error messages, e.g. ``"stream 'fake'"``.

    Example:
        >>> paginator = PageNumberPaginator(page_size=2000)
        >>> paginator.current_value
        1
    """

    def __init__(
        self,
        page_size: int,
        records_path: str = "data.rows",
        start_value: int = 1,
        context: str = "",
    ) -> None:
        super().__init__(start_value)
        self.page_size = page_size
        self.records_path = records_path
        self.context = context
        #: The last page number, known once a page carried ``totalNum``.
        self.last_page: int | None = None
        #: ``totalNum`` of the last page read, if it had one.
        self.total: int | None = None

    def read(self, payload: t.Mapping[str, t.Any]) -> list[t.Any]:
        """Learn ``totalNum`` from a decoded page and return its rows.

        Args:
            payload: The decoded envelope of the current page.

        Returns:
            The page's rows.

        Raises:
            TransportError: If the rows are not a list or ``totalNum`` is not
                a non-negative integer.
        """
        owner = type(self).__name__
        if self.context:
            owner += f" ({self.context}, page {self.current_value})"
        rows = lookup(payload, self.records_path)
        if not isinstance(rows, list):
            raise shape_error(owner, self.records_path, "a list of rows", rows)
        total = lookup(payload, TOTAL_PATH)
        if is_missing(total) or total is None:
            return rows
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise shape_error(owner, TOTAL_PATH, "a row count", total)
        size = lookup(payload, PAGE_SIZE_PATH)
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            # The platform echoes the size it used; fall back to what we asked.
            size = self.page_size
        self.total = total
        self.last_page = math.ceil(total / size)
        return rows

    def has_more_rows(self, rows: t.Sized) -> bool:
        """Apply the stop rule to a page already read with :meth:`read`.

        Args:
            rows: The rows of the current page.

        Returns:
            False after an empty page or the last page of ``totalNum``.
        """
        if not rows:
            return False
        if self.last_page is not None:
            return self.current_value < self.last_page
        return True

    @override
    def has_more(self, response: requests.Response) -> bool:
        """Tell whether another page exists, from ``totalNum`` or the row count.

        Args:
            response: The current page.

        Returns:
            False after an empty page or the last page of ``totalNum``.
        """
        return self.has_more_rows(self.read(parse_body(response)))

    @override
    def get_next(self, response: requests.Response) -> int | None:
        """Return the next page number.

        Args:
            response: The current page.

        Returns:
            The current page number plus one.
        """
        return self.current_value + 1

    def advance_with_rows(self, rows: t.Sized) -> None:
        """Advance like :meth:`advance`, for a page the caller already decoded.

        The stream decodes each page once; this spares a second decode while
        keeping the SDK's page count and stop rule.

        Args:
            rows: The rows of the current page (after :meth:`read`).
        """
        self._page_count += 1
        if not self.has_more_rows(rows):
            self._finished = True
            return
        self._value = self.current_value + 1
