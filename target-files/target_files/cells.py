"""Render record values for CSV files.

The rules, for every column:

- strings, integers (exact, any width) and floats (``repr``, which round-trips)
  are written as they are; ``null`` is an empty field;
- booleans are ``true`` / ``false``;
- objects and arrays are compact JSON;
- date-times are ISO 8601 with a ``T``: ``2024-05-06 07:08:09`` from the
  platform becomes ``2024-05-06T07:08:09`` in columns whose schema says
  ``format: date-time``; a string that does not parse is kept as it is.
"""

from __future__ import annotations

import datetime
import typing as t

import msgspec

from target_files.columns import Column, Kind

Cell = str | int | float | None
Renderer = t.Callable[[t.Any], Cell]

_PLAIN = (str, int, float)
# msgspec keeps integers of any width exact (orjson stops at 64 bits).
_encode = msgspec.json.Encoder(enc_hook=str).encode


def json_text(value: t.Any) -> str:  # noqa: ANN401
    """Return compact JSON for an object or array.

    Args:
        value: Any JSON-like value.

    Returns:
        The JSON text, with non-ASCII characters kept as they are.
    """
    return _encode(value).decode()


def csv_cell(value: t.Any) -> Cell:  # noqa: ANN401
    """Render one value for a CSV field (see the module rules).

    Args:
        value: A decoded JSON value, or a date/time object.

    Returns:
        What ``csv.writer`` should write.
    """
    cls = type(value)
    if cls in _PLAIN or value is None:
        return value  # type: ignore[no-any-return]
    if cls is bool:
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)):
        return json_text(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


def csv_datetime_cell(value: t.Any) -> Cell:  # noqa: ANN401
    """Render a value of a ``date-time`` column as ISO 8601.

    Args:
        value: A string such as ``"2024-05-06 07:08:09"`` or a datetime.

    Returns:
        ``"2024-05-06T07:08:09"``; unparseable strings unchanged.
    """
    if type(value) is str:
        try:
            return datetime.datetime.fromisoformat(value).isoformat()
        except ValueError:
            return value
    return csv_cell(value)


def csv_date_cell(value: t.Any) -> Cell:  # noqa: ANN401
    """Render a value of a ``date`` column as ISO 8601 (``YYYY-MM-DD``).

    Args:
        value: A date string or a date.

    Returns:
        The ISO date; unparseable strings unchanged.
    """
    if type(value) is str:
        try:
            return datetime.date.fromisoformat(value).isoformat()
        except ValueError:
            return value
    return csv_cell(value)


def csv_renderers(columns: t.Sequence[Column]) -> list[Renderer]:
    """Return one renderer per column.

    Args:
        columns: The file's columns.

    Returns:
        Functions turning a value into a CSV field, in column order.
    """
    special: dict[Kind, Renderer] = {
        Kind.DATETIME: csv_datetime_cell,
        Kind.DATE: csv_date_cell,
    }
    return [special.get(column.kind, csv_cell) for column in columns]


def parse_datetime(value: str) -> datetime.datetime | None:
    """Parse an ISO 8601 date-time (``T`` or space separated, ``Z`` allowed).

    Args:
        value: The text.

    Returns:
        The datetime, or None when the text is not a date-time.
    """
    try:
        return datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
