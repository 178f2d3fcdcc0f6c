"""Render record values for CSV files, and parse date-times for XLSX.

The rules, for every CSV column:

- strings, integers (exact, any width) and floats (``repr``, which round-trips)
  are written as they are; ``null`` is an empty field, or the ``null_value``
  setting;
- booleans are ``true`` / ``false``;
- objects and arrays are compact JSON;
- date-times keep their text, so no digit is lost: the only change is that
  ``2024-05-06 07:08:09`` (the platform's form: a valid date and time, space
  separated, with optional fraction and offset) becomes
  ``2024-05-06T07:08:09`` in columns whose schema says ``format: date-time``.

Date-times are parsed by this module, not by ``datetime.fromisoformat`` alone,
whose accepted forms differ between Python 3.10 (no ``Z``, fractions of 3 or
6 digits only) and 3.11+ (basic and week-date forms too): the files must not
depend on the Python version. ``fromisoformat`` (in C, several times faster)
still reads the forms on which every version agrees, the platform's among them.
"""

from __future__ import annotations

import datetime
import re
import typing as t

import msgspec

from target_files.columns import Column, Kind

Cell = str | int | float | None
Renderer = t.Callable[[t.Any], Cell]

_PLAIN = (str, int, float)
# msgspec keeps integers of any width exact (orjson stops at 64 bits).
_encode = msgspec.json.Encoder(enc_hook=str).encode

# "YYYY-MM-DD[T ]HH:MM[:SS[.fraction]][Z|±HH[:MM]]" (RFC 3339 plus the space
# separator, optional seconds and short offsets), or a date alone.
_DATETIME = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)"
    r"(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?"
    r"(?:(Z)|([+-])(\d\d)(?::?(\d\d))?)?)?",
    re.ASCII,
)
# The forms fromisoformat reads alike on Python 3.10 and later: seconds, no
# fraction or one of 3 or 6 digits, no offset or "±HH:MM" (not Z). Ranges are
# checked here because newer versions take hour 24 for the next midnight.
_ISO_COMMON = re.compile(
    r"\d{4}-\d\d-\d\d[T ](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{3}(?:\d{3})?)?"
    r"(?:[+-](?:[01]\d|2[0-3]):[0-5]\d)?",
    re.ASCII,
)
# The only form whose text changes in CSV files: the platform's, space separated.
_SPACED_DATETIME = re.compile(
    r"\d{4}-\d\d-\d\d (?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?"
    r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?",
    re.ASCII,
)
_SEPARATOR_AT = len("YYYY-MM-DD")
_DATE = re.compile(r"\d{4}-\d\d-\d\d", re.ASCII)


def json_text(value: t.Any) -> str:
    """Return compact JSON for an object or array.

    Args:
        value: Any JSON-like value.

    Returns:
        The JSON text, with non-ASCII characters kept as they are.
    """
    return _encode(value).decode()


def csv_cell(value: t.Any) -> Cell:
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


def csv_datetime_cell(value: t.Any) -> Cell:
    """Render a value of a ``date-time`` column, losing nothing.

    Args:
        value: A string such as ``"2024-05-06 07:08:09"`` or a datetime.

    Returns:
        ``"2024-05-06T07:08:09"`` for the platform's space-separated form;
        any other string unchanged (``...09.123456789Z`` keeps its digits).
    """
    if type(value) is str:
        # The separator first: most strings of other forms go no further.
        if (
            len(value) > _SEPARATOR_AT
            and value[_SEPARATOR_AT] == " "
            and _SPACED_DATETIME.fullmatch(value)
        ):
            try:
                datetime.date.fromisoformat(value[:10])  # does the day exist?
            except ValueError:
                return value
            return value.replace(" ", "T", 1)
        return value
    return csv_cell(value)


def csv_renderers(
    columns: t.Sequence[Column],
    null_value: str = "",
    on_null_clash: t.Callable[[str], None] | None = None,
) -> list[Renderer]:
    """Return one renderer per column.

    Args:
        columns: The file's columns.
        null_value: Text for null; empty means an empty field.
        on_null_clash: Called with the column name when a text value equals a
            non-empty ``null_value`` (readers cannot tell it from null).

    Returns:
        Functions turning a value into a CSV field, in column order.
    """
    special: dict[Kind, Renderer] = {Kind.DATETIME: csv_datetime_cell}
    renderers = [special.get(column.kind, csv_cell) for column in columns]
    if not null_value:
        return renderers  # csv.writer writes None as an empty field
    return [
        _with_null_value(render, null_value, column.name, on_null_clash)
        for render, column in zip(renderers, columns, strict=True)
    ]


def _with_null_value(
    render: Renderer,
    null_value: str,
    column: str,
    on_clash: t.Callable[[str], None] | None,
) -> Renderer:
    def render_or_null(value: t.Any) -> Cell:
        if value is None:
            return null_value
        if value == null_value and on_clash is not None:
            on_clash(column)
        return render(value)

    return render_or_null


def parse_datetime(value: str) -> datetime.datetime | None:
    """Parse ``YYYY-MM-DD[T ]HH:MM[:SS[.f]][Z|±HH[:MM]]``, or a date alone.

    The same on every Python version. Fractions beyond microseconds are cut
    (Excel keeps milliseconds at best).

    Args:
        value: The text.

    Returns:
        The datetime (aware if the text has an offset), or None when the text
        is not such a date-time or names no real day and time.
    """
    if _ISO_COMMON.fullmatch(value):  # per cell: the fast path first
        try:
            return datetime.datetime.fromisoformat(value)
        except ValueError:  # day 31 of April
            return None
    match = _DATETIME.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, oh, om = (
        match.groups()
    )
    tzinfo: datetime.tzinfo | None = None
    try:
        if zulu:
            tzinfo = datetime.timezone.utc
        elif sign:
            offset = datetime.timedelta(hours=int(oh), minutes=int(om or 0))
            tzinfo = datetime.timezone(-offset if sign == "-" else offset)
        return datetime.datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=tzinfo,
        )
    except ValueError:  # day 31 of April, hour 24, offset of a day or more
        return None


def parse_date(value: str) -> datetime.date | None:
    """Parse ``YYYY-MM-DD`` (only that form, on every Python version).

    Args:
        value: The text.

    Returns:
        The date, or None when the text is not a real ``YYYY-MM-DD`` date.
    """
    if _DATE.fullmatch(value) is None:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None
