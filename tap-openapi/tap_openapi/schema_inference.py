"""Infer a stream's JSON Schema from sample rows, and check rows against one.

The platform's rows arrive typed (JSON ints, floats, strings, booleans), so a
sample page is enough to tell the columns' types. Rules:

- ``int`` -> ``integer``, ``float`` (or ints mixed with floats) -> ``number``,
  ``bool`` -> ``boolean``, ``str`` -> ``string``;
- strings shaped ``YYYY-MM-DD HH:MM:SS`` in every sampled row -> ``string``
  with ``format: date-time``;
- objects -> ``object`` with inferred properties, lists -> ``array`` with
  inferred ``items``;
- every type is nullable; a column that is null in every sampled row becomes
  a nullable string; incompatible mixes keep every type seen.
"""

from __future__ import annotations

import re
import typing as t

#: The platform's timestamp shape (naive, second precision).
SQL_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")

_JSON_TYPE_ORDER = ("boolean", "integer", "number", "string", "object", "array")


class _Column:
    """What the sample said about one column (or one array's items)."""

    __slots__ = ("datetime_only", "items", "properties", "types")

    def __init__(self) -> None:
        self.types: set[str] = set()
        self.datetime_only = True
        self.properties: dict[str, _Column] | None = None
        self.items: _Column | None = None

    def add(self, value: t.Any) -> None:
        if value is None:
            return
        if isinstance(value, bool):
            self.types.add("boolean")
        elif isinstance(value, int):
            self.types.add("integer")
        elif isinstance(value, float):
            self.types.add("number")
        elif isinstance(value, str):
            self.types.add("string")
            if self.datetime_only and not SQL_DATETIME.fullmatch(value):
                self.datetime_only = False
        elif isinstance(value, dict):
            self.types.add("object")
            if self.properties is None:
                self.properties = {}
            for key, item in value.items():
                self.properties.setdefault(key, _Column()).add(item)
        elif isinstance(value, list):
            self.types.add("array")
            if self.items is None:
                self.items = _Column()
            for item in value:
                self.items.add(item)
        else:
            self.types.add("string")
            self.datetime_only = False

    def schema(self) -> dict[str, t.Any]:
        types = set(self.types)
        if {"integer", "number"} <= types:
            types.discard("integer")
        if not types:
            return {"type": ["string", "null"]}
        ordered = [name for name in _JSON_TYPE_ORDER if name in types]
        result: dict[str, t.Any] = {"type": [*ordered, "null"]}
        if ordered == ["string"] and self.datetime_only:
            result["format"] = "date-time"
        if "object" in types:
            result["properties"] = {
                key: column.schema() for key, column in (self.properties or {}).items()
            }
        if "array" in types:
            result["items"] = self.items.schema() if self.items else {}
        return result


def infer_schema(rows: t.Iterable[t.Mapping[str, t.Any]]) -> dict[str, t.Any]:
    """Infer an object schema from sample rows, keeping the API's field names.

    Args:
        rows: Sample rows (decoded JSON objects).

    Returns:
        A JSON Schema ``{"type": "object", "properties": {...}}`` whose
        properties appear in the order first seen.

    >>> infer_schema([{"id": 1, "at": "2024-01-02 03:04:05", "x": None}])
    ... # doctest: +NORMALIZE_WHITESPACE
    {'type': 'object', 'properties': {'id': {'type': ['integer', 'null']},
     'at': {'type': ['string', 'null'], 'format': 'date-time'},
     'x': {'type': ['string', 'null']}}}
    """
    columns: dict[str, _Column] = {}
    for row in rows:
        for key, value in row.items():
            column = columns.get(key)
            if column is None:
                column = columns[key] = _Column()
            column.add(value)
    return {
        "type": "object",
        "properties": {key: column.schema() for key, column in columns.items()},
    }


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def _accepts(property_schema: t.Mapping[str, t.Any], value: t.Any) -> bool:
    if value is None:
        return True  # a null is left as is by conforming too
    declared = property_schema.get("type")
    if declared is None:
        return "anyOf" not in property_schema  # unions: let the SDK decide
    names = [declared] if isinstance(declared, str) else list(declared)
    for name in names:
        allowed = _PY_TYPES.get(name)
        if allowed is None or not isinstance(value, allowed):
            continue
        if isinstance(value, bool) and name != "boolean":
            continue  # bool is an int subclass, but not a JSON integer
        if isinstance(value, float) and value != value:  # NaN: conform nulls it
            return False
        if isinstance(value, dict):
            return rows_match_schema([value], property_schema)
        if isinstance(value, list):
            items = property_schema.get("items") or {}
            return all(_accepts(items, item) for item in value)
        return True
    return False


def rows_match_schema(
    rows: t.Iterable[t.Mapping[str, t.Any]], schema: t.Mapping[str, t.Any]
) -> bool:
    """Tell whether rows already have the JSON types ``schema`` declares.

    When they do, singer-sdk's per-record type conforming would change
    nothing and can be skipped. Properties absent from the schema make the
    answer False (the SDK drops them and warns).

    Args:
        rows: Sample rows.
        schema: An object schema with ``properties``.

    Returns:
        True if every value fits its property's declared type.
    """
    properties = schema.get("properties") or {}
    for row in rows:
        for key, value in row.items():
            property_schema = properties.get(key)
            if property_schema is None or not _accepts(property_schema, value):
                return False
    return True
