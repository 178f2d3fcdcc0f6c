"""Page-number and keyset pagination over the platform's envelope.

Every list API answers ``{"data": {"pageNum", "pageSize", "totalNum", "rows"}}``.
:class:`PageNumberPaginator` stops after page ``ceil(totalNum / pageSize)`` when
``totalNum`` is known, so no empty page is requested past the end; on a short
page (fewer rows than the page size), which can only be the last; and on an
empty page. :class:`KeysetPaginator` pages incremental APIs from the last row
read instead, so rows changing mid-sync cannot be skipped.

The page size a short page is measured against is the ``pageSize`` the
envelope echoes (the size the platform really used, which a server may cap
below the one asked for), else the one requested.
"""

from __future__ import annotations

import json
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

#: How to fix a page whose rows are not where ``records_path`` says.
RECORDS_PATH_HINT = (
    "check the stream's records_path setting (the dotted path of the rows "
    "list in the response, default data.rows)"
)

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


def shape_error(
    owner: str, path: str, expected: str, value: t.Any, hint: str = ""
) -> TransportError:
    """Build the error for a page whose ``path`` does not hold what it should.

    Args:
        owner: Who expected the value (paginator class or stream).
        path: The dotted path looked up.
        expected: What should have been there (``"a list"``).
        value: What was found (the sentinel for "missing").
        hint: How to fix it, appended after a semicolon.

    Returns:
        A fatal error naming the owner, the JSON path and the value found.
    """
    found = "nothing (the key is missing)" if is_missing(value) else repr(value)
    if len(found) > 120:
        found = found[:117] + "..."
    msg = f"{owner}: expected {expected} at $.{path.removeprefix('$.')}, "
    msg += f"found {found}"
    if hint:
        msg += f"; {hint}"
    return TransportError(msg)


def served_page_size(payload: t.Mapping[str, t.Any], requested: int) -> int:
    """Return the page size the platform used: the envelope's, else ``requested``.

    Args:
        payload: The decoded envelope of a page.
        requested: The ``pageSize`` the request asked for.

    Returns:
        ``data.pageSize`` if it is a positive integer, else ``requested``.
    """
    size = lookup(payload, PAGE_SIZE_PATH)
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        return requested
    return int(size)


class PageNumberPaginator(BaseAPIPaginator[int]):
    """Counts pages from 1; stops at ``totalNum``, on a short or an empty page.

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
        #: The page size the last page was served with (see
        #: :func:`served_page_size`); fewer rows than this ends the paging.
        self.served_size = page_size

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
            raise shape_error(
                owner, self.records_path, "a list of rows", rows, RECORDS_PATH_HINT
            )
        # The platform echoes the size it used; fall back to what we asked.
        size = self.served_size = served_page_size(payload, self.page_size)
        total = lookup(payload, TOTAL_PATH)
        if is_missing(total) or total is None:
            return rows
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise shape_error(owner, TOTAL_PATH, "a row count", total)
        self.total = total
        self.last_page = math.ceil(total / size)
        return rows

    def has_more_rows(self, rows: t.Sized) -> bool:
        """Apply the stop rule to a page already read with :meth:`read`.

        Args:
            rows: The rows of the current page.

        Returns:
            False after an empty page, a short page, or the last page of
            ``totalNum``.
        """
        # A short page ends the result even when totalNum promises more: a
        # server that overstates it would otherwise be read to empty pages.
        if len(rows) < self.served_size:
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
            False after an empty page, a short page, or the last page of
            ``totalNum``.
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


class KeysetPaginator(PageNumberPaginator):
    """Pages an incremental API from the last row read ("keyset" paging).

    The API returns the rows whose replication value is at or after the
    anchor, in that order. A row changed mid-sync moves to the end of that
    result; with page numbers over a fixed anchor, every row after it would
    shift down one place and one row would fall between two pages, below the
    final bookmark, lost for good. So each request after a full page asks
    again from page 1, anchored at the last row's value: changes behind the
    anchor cannot move rows ahead of it.

    The rows at the anchor value come again (the API's ``>=``); those already
    emitted, the "ties", are recognised by their primary key values (the
    whole row when the stream has none) and dropped. A full page whose rows
    all share the anchor value cannot move the anchor, so the next request
    reads the next page number from the same anchor; within such a block of
    more rows than a page sharing one value, a row changed mid-sync can still
    shift another out of reach.

    ``totalNum`` counts the rows from the current anchor, so it gives no last
    page number: paging stops on a short page, or on a page that reached
    the end of the result its own ``totalNum`` describes.

    Args:
        page_size: The ``pageSize`` the requests ask for.
        replication_key: The column the API orders and filters by.
        start: The first anchor (the bookmark or ``start_ts``).
        primary_keys: Columns that identify a row; empty means the whole row.
        records_path: Dotted path of the rows in the envelope.
        context: Extra words for error messages, e.g. ``"stream 'orders'"``.

    Example:
        >>> paginator = KeysetPaginator(2, "updated_at", 100, ["id"])
        >>> page = {"data": {"rows": [{"id": 1, "updated_at": 100},
        ...                           {"id": 2, "updated_at": 105}]}}
        >>> [row["id"] for row in paginator.take(page)]
        [1, 2]
        >>> paginator.anchor, paginator.current_value
        (105, 1)
        >>> page = {"data": {"rows": [{"id": 2, "updated_at": 105},
        ...                           {"id": 3, "updated_at": 105}]}}
        >>> [row["id"] for row in paginator.take(page)]
        [3]
    """

    def __init__(
        self,
        page_size: int,
        replication_key: str,
        start: t.Any,
        primary_keys: t.Sequence[str] = (),
        records_path: str = "data.rows",
        context: str = "",
    ) -> None:
        super().__init__(page_size, records_path, 1, context)
        self.replication_key = replication_key
        self.primary_keys = tuple(primary_keys)
        #: The replication value the next request starts from (rows >= it).
        self.anchor: t.Any = start
        self._tie_value: t.Any = _MISSING
        self._ties: set[t.Hashable] = set()

    @override
    def read(self, payload: t.Mapping[str, t.Any]) -> list[t.Any]:
        """Return a page's rows and its ``totalNum``, but plan no last page.

        Args:
            payload: The decoded envelope of the current page.

        Returns:
            The page's rows, repeated ties included.
        """
        self.total = None
        rows = super().read(payload)
        # totalNum counts from the moving anchor: no page count to plan by.
        self.last_page = None
        return rows

    def identity(self, row: t.Mapping[str, t.Any]) -> t.Hashable:
        """Tell rows apart: by primary key values, else by the whole row.

        Args:
            row: A row as the API returned it (before any post-processing).

        Returns:
            A hashable value equal for two copies of the same row.
        """
        if self.primary_keys:
            key = tuple(row.get(name) for name in self.primary_keys)
            try:
                hash(key)
            except TypeError:
                return json.dumps(key, sort_keys=True, default=str)
            return key
        return json.dumps(row, sort_keys=True, default=str)

    def take(self, payload: t.Mapping[str, t.Any]) -> list[t.Any]:
        """Read a page, drop the ties already emitted, and plan the next request.

        Args:
            payload: The decoded envelope of the request for
                (:attr:`anchor`, :attr:`current_value`).

        Returns:
            The page's rows not emitted before, in order.

        Raises:
            TransportError: If a page past the rows already read at the anchor
                brings nothing new (the API seems to ignore ``pageNum``).
        """
        rows = self.read(payload)
        fresh = self._fresh(rows)
        self._page_count += 1
        size = self.served_size
        page_num = self.current_value
        if len(rows) < size or (
            self.total is not None and page_num * size >= self.total
        ):
            self._finished = True
            return fresh
        last = rows[-1].get(self.replication_key)
        # Tie identities come from the page as served: the stream changes
        # rows (e.g. _sdc_deleted_at) once they are emitted.
        self._remember_ties(rows, last)
        if self._moves_anchor(last):
            self.anchor = last
            self._value = 1
            return fresh
        if not fresh and (page_num - 1) * size >= len(self._ties):
            owner = type(self).__name__
            if self.context:
                owner += f" ({self.context}, page {page_num})"
            msg = f"{owner}: a full page at {self.replication_key}={self.anchor!r} "
            msg += "brought only rows already read; the API seems to ignore pageNum"
            raise TransportError(msg)
        # More rows share the anchor value than a page holds: read on by
        # page number within them.
        self._value = page_num + 1
        return fresh

    def _fresh(self, rows: list[t.Any]) -> list[t.Any]:
        if not self._ties:
            return rows
        key, tie_value = self.replication_key, self._tie_value
        # Rows are in replication order: ties can only lead the page.
        head = 0
        while head < len(rows) and rows[head].get(key) == tie_value:
            head += 1
        if head == 0:
            return rows
        ties = self._ties
        new = [row for row in rows[:head] if self.identity(row) not in ties]
        return new + rows[head:] if new else rows[head:]

    def _remember_ties(self, rows: list[t.Any], last: t.Any) -> None:
        key = self.replication_key
        run: list[t.Hashable] = []
        for row in reversed(rows):
            if row.get(key) != last:
                break
            run.append(self.identity(row))
        if last == self._tie_value:
            self._ties.update(run)
        else:
            self._tie_value = last
            self._ties = set(run)

    def _moves_anchor(self, last: t.Any) -> bool:
        if last is None or last == self.anchor:
            return False
        try:
            return bool(last > self.anchor)
        except TypeError:
            # Incomparable (e.g. a start_ts number, string values): trust the
            # API's order.
            return True
