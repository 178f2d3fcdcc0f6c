"""The sample tables of the mock platform: deterministic rows and a change log.

A row is a pure function of ``(id, version)``: untouched ids are computed on the
fly, so a table of a million rows needs no memory. :class:`SampleTable` keeps
only the rows changed since start-up (touched or soft-deleted) as a small dict
of overrides, and answers the two sample APIs' queries with arithmetic.
"""

from __future__ import annotations

import bisect
import hashlib
import struct
import threading
import typing as t
from dataclasses import dataclass
from datetime import date, timedelta

#: ``updated_at`` of id 1 at version 1; ids share a second in groups of ten.
BASE_TS = 1_700_000_000
#: How many consecutive ids share one ``updated_at`` second at version 1.
ROWS_PER_SECOND = 10
#: ``colSqlTime*`` values lie within this many days after 2020-01-01.
_SQL_TIME_DAYS = 3650

_KEY = struct.Struct("<qq")
_FOUR_WORDS = struct.Struct("<4Q")
_blake2b = hashlib.blake2b
# Lookup tables (independent of the row count: about 5,000 short strings)
# make the four timestamps per row several times cheaper than strftime.
_DAYS = tuple(
    (date(2020, 1, 1) + timedelta(days=d)).isoformat() + " "
    for d in range(_SQL_TIME_DAYS)
)
_HOUR_MINUTES = tuple(f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60))
_SECONDS = tuple(f"{s:02d}" for s in range(60))

Row = dict[str, t.Any]

#: Column names of ``/api/v1/sync/fake``, in the order rows carry them.
FAKE_COLUMNS = (
    "id",
    *(f"colString{k}" for k in range(1, 5)),
    *(f"colInt{k}" for k in range(1, 5)),
    *(f"colFloat{k}" for k in range(1, 5)),
    *(f"colSqlTime{k}" for k in range(1, 5)),
)
#: Column names of ``/api/v1/sync/fakewithts``.
FAKEWITHTS_COLUMNS = (*FAKE_COLUMNS, "updated_at", "deleted_mark")


def column_hashes(row_id: int, version: int = 1) -> tuple[int, int, int, int]:
    """Return four well-spread non-negative 63-bit integers for a row version.

    One BLAKE2b digest gives all four, about twice as fast in CPython as four
    rounds of integer mixing, and the same on every platform and version.
    """
    digest = _blake2b(_KEY.pack(row_id, version), digest_size=32).digest()
    a, b, c, d = _FOUR_WORDS.unpack(digest)
    # Drop the top bit: every value fits a signed 64-bit column.
    return a >> 1, b >> 1, c >> 1, d >> 1


def _sql_time(h: int) -> str:
    minute, second = divmod(h % 86_400, 60)
    return (
        f"{_DAYS[(h >> 17) % _SQL_TIME_DAYS]}{_HOUR_MINUTES[minute]}{_SECONDS[second]}"
    )


def make_row(row_id: int, version: int = 1) -> Row:
    """Build the ``/api/v1/sync/fake`` columns of ``row_id`` at ``version``.

    Version 1 is the state at start-up; :meth:`SampleTable.touch` moves a row
    to the next version, which changes every column but ``id``.
    """
    h1, h2, h3, h4 = column_hashes(row_id, version)
    suffix = f"-v{version}" if version > 1 else ""
    # Some rows carry a comma and a quote (CSV quoting) or non-ASCII text.
    s2 = f'str-{row_id}-2, "q"' if row_id % 5 == 0 else f"str-{row_id}-2"
    s4 = f"数据-{row_id}-4" if row_id % 7 == 0 else f"str-{row_id}-4"
    # Floats are a 24-bit integer over a power of two: exact in binary, so
    # repr() round-trips and every database stores them unchanged.
    return {
        "id": row_id,
        "colString1": f"str-{row_id}-1{suffix}",
        "colString2": s2,
        "colString3": f"{h3 & 0xFFFFFFFF:08x}{suffix}",
        "colString4": s4,
        "colInt1": h1,
        "colInt2": h2,
        "colInt3": h3,
        "colInt4": h4,
        "colFloat1": ((h1 >> 7) & 0xFFFFFF) / 1024 - 8192.0,
        "colFloat2": ((h2 >> 7) & 0xFFFFFF) / 65536,
        "colFloat3": ((h3 >> 7) & 0xFFFFFF) / 16 - 524288.0,
        "colFloat4": ((h4 >> 7) & 0xFFFFFF) / 8,
        "colSqlTime1": _sql_time(h1),
        "colSqlTime2": _sql_time(h2),
        "colSqlTime3": _sql_time(h3),
        "colSqlTime4": _sql_time(h4),
    }


def base_updated_at(row_id: int) -> int:
    """Return ``updated_at`` of an untouched row: ten ids share each second."""
    return BASE_TS + (row_id - 1) // ROWS_PER_SECOND


@dataclass(frozen=True)
class Change:
    """The state of a row changed since start-up."""

    version: int
    updated_at: int
    deleted: bool


@dataclass(frozen=True)
class Page:
    """One page of a query: the rows and the size of the whole result."""

    rows: list[Row]
    total: int


class SampleTable:
    """The sample data set: ``rows`` deterministic rows plus a change log.

    Thread-safe: the server reads it from many threads while tests change it.
    """

    def __init__(self, rows: int) -> None:
        if rows < 0:
            msg = f"rows must be >= 0, got {rows}"
            raise ValueError(msg)
        self.size = rows
        self._lock = threading.Lock()
        self._changes: dict[int, Change] = {}
        # Derived views of _changes, rebuilt on each change (they stay small).
        self._changed_ids: list[int] = []
        self._deleted_ids: list[int] = []
        self._changed_order: list[tuple[int, int]] = []

    # -- changes ---------------------------------------------------------

    def _check_ids(self, ids: t.Iterable[int]) -> list[int]:
        checked = sorted({int(i) for i in ids})
        bad = [i for i in checked if not 1 <= i <= self.size]
        if bad:
            msg = f"ids out of range 1..{self.size}: {bad[:10]}"
            raise ValueError(msg)
        return checked

    def _max_updated_at(self) -> int:
        top = base_updated_at(self.size) if self.size else BASE_TS
        if self._changed_order:
            top = max(top, self._changed_order[-1][0])
        return top

    def _rebuild(self) -> None:
        self._changed_ids = sorted(self._changes)
        self._deleted_ids = [i for i in self._changed_ids if self._changes[i].deleted]
        self._changed_order = sorted(
            (c.updated_at, i) for i, c in self._changes.items()
        )

    def touch(self, ids: t.Iterable[int]) -> int:
        """Move rows to a new version with new values and a new ``updated_at``.

        Args:
            ids: Row ids to change. A deleted row stays deleted.

        Returns:
            The new ``updated_at`` (one second past the newest row).
        """
        return self._change(ids, delete=False)

    def delete(self, ids: t.Iterable[int]) -> int:
        """Soft-delete rows: ``deleted_mark=1`` and a new ``updated_at``.

        Returns:
            The new ``updated_at`` (one second past the newest row).
        """
        return self._change(ids, delete=True)

    def _change(self, ids: t.Iterable[int], *, delete: bool) -> int:
        checked = self._check_ids(ids)
        with self._lock:
            stamp = self._max_updated_at() + 1
            # Copy on write: a page being served keeps a consistent snapshot.
            changes = dict(self._changes)
            for i in checked:
                old = changes.get(i)
                version = old.version if old else 1
                if not delete:
                    version += 1
                deleted = delete or (old is not None and old.deleted)
                changes[i] = Change(version, stamp, deleted)
            self._changes = changes
            self._rebuild()
        return stamp

    def state_of(self, row_id: int) -> Change:
        """Return the version, ``updated_at`` and deletion state of a row."""
        with self._lock:
            change = self._changes.get(row_id)
        if change is not None:
            return change
        return Change(1, base_updated_at(row_id), False)

    # -- rows ----------------------------------------------------------------

    def row(self, row_id: int, *, with_ts: bool) -> Row:
        """Return the current row ``row_id`` as the API shows it."""
        state = self.state_of(row_id)
        row = make_row(row_id, state.version)
        if with_ts:
            row["updated_at"] = state.updated_at
            row["deleted_mark"] = 1 if state.deleted else 0
        return row

    def fake_page(self, offset: int, limit: int) -> Page:
        """Page of ``/fake``: live rows in id order."""
        with self._lock:
            changes = self._changes
            deleted = self._deleted_ids
        total = self.size - len(deleted)
        ids = _ids_skipping(1, self.size, deleted, offset, limit)
        rows = []
        for i in ids:
            change = changes.get(i)
            rows.append(make_row(i, change.version if change else 1))
        return Page(rows, total)

    def fakewithts_page(self, ts: int, full: bool, offset: int, limit: int) -> Page:
        """Page of ``/fakewithts``: rows with ``updated_at >= ts``, in order.

        Untouched rows come first, in id order (their ``updated_at`` grows with
        the id); changed rows follow by ``(updated_at, id)``: each change
        stamps a time past every other row, so the order is global.
        """
        with self._lock:
            changes = self._changes
            changed_ids = self._changed_ids
            order = self._changed_order
        first = max(1, (ts - BASE_TS) * ROWS_PER_SECOND + 1)
        skip_from = bisect.bisect_left(changed_ids, first)
        untouched_total = max(0, self.size - first + 1) - (len(changed_ids) - skip_from)
        changed = [
            i
            for stamp, i in order[bisect.bisect_left(order, (ts, 0)) :]
            if full or not changes[i].deleted
        ]
        total = untouched_total + len(changed)
        rows: list[Row] = []
        if offset < untouched_total:
            for i in _ids_skipping(
                first, self.size, changed_ids[skip_from:], offset, limit
            ):
                row = make_row(i)
                row["updated_at"] = BASE_TS + (i - 1) // ROWS_PER_SECOND
                row["deleted_mark"] = 0
                rows.append(row)
        start = max(0, offset - untouched_total)
        for i in changed[start : start + limit - len(rows)]:
            change = changes[i]
            row = make_row(i, change.version)
            row["updated_at"] = change.updated_at
            row["deleted_mark"] = 1 if change.deleted else 0
            rows.append(row)
        return Page(rows, total)


def _ids_skipping(
    first: int, last: int, skipped: list[int], offset: int, limit: int
) -> list[int]:
    """Ids ``first..last`` minus sorted ``skipped``, from ``offset``, ``limit``."""
    # Find the id at position ``offset``: every skipped id at or before the
    # candidate pushes it one further.
    candidate = first + offset
    k = bisect.bisect_left(skipped, first)
    while k < len(skipped) and skipped[k] <= candidate:
        candidate += 1
        k += 1
    ids: list[int] = []
    i = candidate
    while i <= last and len(ids) < limit:
        if k < len(skipped) and skipped[k] == i:
            k += 1
        else:
            ids.append(i)
        i += 1
    return ids
