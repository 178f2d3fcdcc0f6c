"""The ``/api/v1/items`` resource: a small in-memory CRUD store."""

from __future__ import annotations

import itertools
import threading
import typing as t

Item = dict[str, t.Any]


class ItemStore:
    """JSON objects keyed by a server-assigned integer ``id``. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[int, Item] = {}
        self._ids = itertools.count(1)

    def create(self, fields: t.Mapping[str, t.Any]) -> Item:
        """Store a new item; a client-sent ``id`` is ignored."""
        with self._lock:
            item_id = next(self._ids)
            item = {**fields, "id": item_id}
            self._items[item_id] = item
        return dict(item)

    def get(self, item_id: int) -> Item | None:
        """Return the item, or None if there is none with that id."""
        with self._lock:
            item = self._items.get(item_id)
        return None if item is None else dict(item)

    def replace(self, item_id: int, fields: t.Mapping[str, t.Any]) -> Item | None:
        """Replace an item's fields (PUT semantics); None if it does not exist."""
        with self._lock:
            if item_id not in self._items:
                return None
            item = {**fields, "id": item_id}
            self._items[item_id] = item
        return dict(item)

    def delete(self, item_id: int) -> Item | None:
        """Remove and return an item; None if it does not exist."""
        with self._lock:
            return self._items.pop(item_id, None)

    def page(self, offset: int, limit: int) -> tuple[list[Item], int]:
        """Return items in id order from ``offset`` and the total count."""
        with self._lock:
            ordered = sorted(self._items)
            chosen = [dict(self._items[i]) for i in ordered[offset : offset + limit]]
        return chosen, len(ordered)
