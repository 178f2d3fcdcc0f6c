"""Convert decoded JSON values to what each loader hands its database driver.

Records arrive as decoded JSON (str, int, float, bool, dict, list, None). Each
column gets one converter, built once per sink, so the per-record path is a
single call per value. ``None`` never reaches a converter.
"""

from __future__ import annotations

import datetime
import decimal
import json
import re
import typing as t

import orjson

from target_sqlalchemy.typemap import Kind

Converter = t.Callable[[t.Any], t.Any]

_UTC = datetime.timezone.utc


def _json_text(value: t.Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        # orjson refuses integers wider than 64 bits; the stdlib does not.
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def parse_datetime(value: t.Any) -> datetime.datetime:
    """Parse a date-time value to a naive UTC datetime.

    Accepts the platform's ``YYYY-MM-DD HH:MM:SS``, ISO 8601 (``T``, fractions,
    ``Z`` or an offset) and Unix epoch seconds.

    Args:
        value: A string, a number of seconds since the epoch or a datetime.

    Returns:
        A datetime without tzinfo, in UTC when the input had an offset.

    Raises:
        ValueError: If the value is not a date-time.
    """
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(_bad_datetime(value, exc)) from None
    elif isinstance(value, datetime.datetime):
        parsed = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        parsed = datetime.datetime.fromtimestamp(value, tz=_UTC)
    else:
        msg = f"not a date-time: {value!r}"
        raise ValueError(msg)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(_UTC).replace(tzinfo=None)
    return parsed


def parse_date(value: t.Any) -> datetime.date:
    """Parse a date (a date-time's date part is accepted).

    Args:
        value: An ISO date string or a date.

    Returns:
        The date.

    Raises:
        ValueError: If the value is not a date.
    """
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        if len(value) == 10:
            return datetime.date.fromisoformat(value)
        return parse_datetime(value).date()
    msg = f"not a date: {value!r}"
    raise ValueError(msg)


def parse_time(value: t.Any) -> datetime.time:
    """Parse a time of day.

    Args:
        value: An ISO time string or a time.

    Returns:
        The time.

    Raises:
        ValueError: If the value is not a time.
    """
    if isinstance(value, datetime.time):
        return value
    if isinstance(value, str):
        return datetime.time.fromisoformat(value)
    msg = f"not a time: {value!r}"
    raise ValueError(msg)


def to_int(value: t.Any) -> int:
    """Return an exact integer.

    Args:
        value: An int, an integral float, a bool or a numeric string.

    Returns:
        The integer.

    Raises:
        ValueError: If the value has a fractional part or is not a number.
    """
    if type(value) is int:
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        msg = f"not an integer: {value!r}"
        raise ValueError(msg)
    if isinstance(value, (str, decimal.Decimal)):
        try:
            number = decimal.Decimal(value)
        except decimal.InvalidOperation:
            msg = f"not an integer: {value!r}"
            raise ValueError(msg) from None
        if not number.is_finite() or number != number.to_integral_value():
            msg = f"not an integer: {value!r}"
            raise ValueError(msg)
        return int(number)
    msg = f"not an integer: {value!r}"
    raise ValueError(msg)


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def to_float(value: t.Any) -> float | int:
    """Return a number the driver binds as a double.

    Args:
        value: An int, a float or a numeric string.

    Returns:
        Floats as they are; ints as they are while they fit 64 bits (drivers
        and exact columns keep them exact), as floats beyond (drivers cannot
        bind them as integers, and a double holds them rounded anyway).

    Raises:
        ValueError: If the value is not a number.
    """
    if type(value) is float:
        return value
    if type(value) is int:
        return value if _INT64_MIN <= value <= _INT64_MAX else float(value)
    if isinstance(value, (bool, dict, list)):
        msg = f"not a number: {value!r}"
        raise ValueError(msg)
    return float(value)


def to_decimal_text(value: t.Any) -> str:
    """Return the exact decimal text of a number.

    Args:
        value: An int, a float (its shortest repr is used) or a numeric string.

    Returns:
        The number as text, e.g. ``"12.34"``.

    Raises:
        ValueError: If the value is not a number.
    """
    if isinstance(value, bool) or not isinstance(
        value, (int, float, str, decimal.Decimal)
    ):
        msg = f"not a number: {value!r}"
        raise ValueError(msg)
    try:
        return str(decimal.Decimal(repr(value) if isinstance(value, float) else value))
    except decimal.InvalidOperation as exc:
        msg = f"not a number: {value!r}"
        raise ValueError(msg) from exc


def to_bool(value: t.Any) -> bool:
    """Return a boolean.

    Args:
        value: A bool, 0/1 or a string such as ``"true"``/``"false"``.

    Returns:
        The boolean.

    Raises:
        ValueError: If the value is not a boolean.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in {"true", "false", "1", "0"}:
        return value.lower() in {"true", "1"}
    msg = f"not a boolean: {value!r}"
    raise ValueError(msg)


def to_text(value: t.Any) -> str:
    """Return a string column's text.

    Args:
        value: Any decoded JSON value.

    Returns:
        Strings as they are, objects/arrays as JSON, scalars via ``str``.
    """
    if type(value) is str:
        return value
    if isinstance(value, (dict, list)):
        return _json_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_json_text(value: t.Any) -> str:
    """Return JSON text for a JSON column.

    Args:
        value: Any decoded JSON value.

    Returns:
        The JSON encoding of the value.
    """
    return _json_text(value)


_PLAIN_DATETIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\Z").match
_parse_iso = datetime.datetime.fromisoformat


def _iso_datetime_fast(value: t.Any) -> t.Any:
    # The platform's "YYYY-MM-DD HH:MM:SS" is what both PostgreSQL and MySQL
    # parse natively, so it is passed on as text once Python has checked it:
    # MariaDB would store the zero date "0000-00-00 00:00:00" and others that
    # PostgreSQL and SQLite reject.
    if type(value) is str and _PLAIN_DATETIME(value):
        try:
            _parse_iso(value)
        except ValueError as exc:
            raise ValueError(_bad_datetime(value, exc)) from None
        return value
    return parse_datetime(value).isoformat(sep=" ")


def _bad_datetime(value: str, exc: ValueError) -> str:
    if value.startswith("0000-00-00"):
        return f"not a date-time: {value!r} is a zero date; send null for no date"
    return f"not a date-time: {value!r} ({exc})"


def _sqlite_datetime(value: t.Any) -> str:
    # SQLAlchemy's SQLite DATETIME storage format, so ORM reads return datetimes.
    return parse_datetime(value).isoformat(sep=" ", timespec="microseconds")


def python_converter(kind: Kind, dialect: str) -> Converter:
    """Converter to the value a DBAPI driver binds (SQLite, MySQL, others).

    Args:
        kind: The column's kind.
        dialect: The SQLAlchemy dialect name.

    Returns:
        A function of one non-null value.
    """
    sqlite = dialect == "sqlite"
    if kind is Kind.INTEGER:
        return to_int
    if kind is Kind.NUMBER:
        return to_float
    if kind is Kind.DECIMAL:
        return (lambda v: float(to_decimal_text(v))) if sqlite else to_decimal_text
    if kind is Kind.BOOLEAN:
        return (lambda v: int(to_bool(v))) if sqlite else to_bool
    if kind is Kind.DATETIME:
        if sqlite:
            return _sqlite_datetime
        if dialect == "mysql":
            return _iso_datetime_fast
        return parse_datetime
    if kind is Kind.DATE:
        return (lambda v: parse_date(v).isoformat()) if sqlite else parse_date
    if kind is Kind.TIME:
        if sqlite or dialect == "oracle":
            return lambda v: parse_time(v).isoformat()
        return parse_time
    if kind is Kind.JSON:
        return to_json_text
    return to_text


def key_converter(kind: Kind, dialect: str) -> Converter:
    """Converter to a key value as the driver binds it (to delete by key).

    Args:
        kind: The key column's kind.
        dialect: The SQLAlchemy dialect name.

    Returns:
        A function of one non-null value.
    """
    convert = python_converter(kind, dialect)
    if dialect == "postgresql" and kind in (Kind.STRING, Kind.JSON):
        # COPY drops U+0000 from text (see _copy_escape), so the key loaded
        # for "a\x00" is "a" (and psycopg2 cannot bind U+0000 anyway).
        return lambda v: convert(v).replace("\x00", "")
    return convert


def whole_numbers_as_int(convert: Converter) -> Converter:
    """Wrap a number converter so that integral floats arrive as ints.

    A DOUBLE key column holds ``1`` and ``1.0`` as one value; written as
    COPY or SQL literal text they would differ, and so would their rows'
    keys in a batch.

    Args:
        convert: The column's converter.

    Returns:
        A converter giving ``1.0`` the form of ``1``.
    """

    def whole(value: t.Any) -> t.Any:
        number = to_float(value)
        if (
            type(number) is float
            and number.is_integer()
            and _INT64_MIN <= number <= _INT64_MAX
        ):
            number = int(number)
        return convert(number)

    return whole


def length_checked(convert: Converter, limit: int, where: str, note: str) -> Converter:
    """Wrap a string key converter with a check of the column's length.

    Args:
        convert: The column's converter.
        limit: The most characters the column holds.
        where: What the column is, for the message.
        note: Extra text for the message (why the limit is what it is).

    Returns:
        A converter raising ValueError for longer values.
    """

    def checked(value: t.Any) -> t.Any:
        text = value if type(value) is str else to_text(value)
        if len(text) > limit:
            msg = (
                f"{len(text)} characters are more than the {limit} that {where} "
                f"holds{note}"
            )
            raise ValueError(msg)
        return convert(value)

    return checked


def _copy_escape(text: str) -> str:
    # COPY text format: backslash escapes for the delimiter, row separators and
    # the escape character itself; everything else (quotes, unicode) is literal.
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if "\t" in text:
        text = text.replace("\t", "\\t")
    if "\n" in text:
        text = text.replace("\n", "\\n")
    if "\r" in text:
        text = text.replace("\r", "\\r")
    if "\x00" in text:
        # PostgreSQL text cannot hold U+0000; it is dropped (see README).
        text = text.replace("\x00", "")
    return text


def _copy_int(value: t.Any) -> str:
    return str(value if type(value) is int else to_int(value))


def _copy_float(value: t.Any) -> str:
    return repr(value if type(value) is float else to_float(value))


def _copy_text(value: t.Any) -> str:
    return _copy_escape(value if type(value) is str else to_text(value))


def copy_converter(kind: Kind) -> Converter:
    """Converter to a field of PostgreSQL's COPY text format.

    Args:
        kind: The column's kind.

    Returns:
        A function of one non-null value returning the escaped field.
    """
    if kind is Kind.INTEGER:
        return _copy_int
    if kind is Kind.NUMBER:
        return _copy_float
    if kind is Kind.DECIMAL:
        return to_decimal_text
    if kind is Kind.BOOLEAN:
        return lambda v: "t" if to_bool(v) else "f"
    if kind is Kind.DATETIME:
        return _iso_datetime_fast
    if kind is Kind.DATE:
        return lambda v: parse_date(v).isoformat()
    if kind is Kind.TIME:
        return lambda v: parse_time(v).isoformat()
    if kind is Kind.JSON:
        return _copy_json
    return _copy_text


def _without_nul(value: t.Any) -> t.Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _copy_json(value: t.Any) -> str:
    text = _json_text(value)
    if "\\u0000" in text:
        # jsonb rejects U+0000 as text does; drop it from the strings (the
        # check above also matches an escaped backslash, which is harmless).
        text = _json_text(_without_nul(value))
    return _copy_escape(text)


# MySQL literals: the loader writes multi-row INSERT text itself, so each value
# is rendered once, here, instead of by the driver's per-item escaping.
_MYSQL_SPECIAL = re.compile("[\x00\n\r\x1a'\"\\\\]").search
_MYSQL_ESCAPES = str.maketrans(
    {
        "\x00": "\\0",
        "\n": "\\n",
        "\r": "\\r",
        "\x1a": "\\Z",
        "'": "\\'",
        '"': '\\"',
        "\\": "\\\\",
    }
)


def mysql_quote(text: str) -> str:
    """Quote a string as a MySQL literal (backslash escapes).

    Args:
        text: The string.

    Returns:
        The quoted literal.
    """
    if _MYSQL_SPECIAL(text):
        text = text.translate(_MYSQL_ESCAPES)
    return "'" + text + "'"


def _mysql_int(value: t.Any) -> str:
    return str(value if type(value) is int else to_int(value))


def _mysql_float(value: t.Any) -> str:
    number = value if type(value) is float else to_float(value)
    text = repr(number)
    if text in {"inf", "-inf", "nan"}:
        msg = f"MySQL cannot store {text}"
        raise ValueError(msg)
    return text


def _mysql_text(value: t.Any) -> str:
    return mysql_quote(value if type(value) is str else to_text(value))


def _mysql_datetime(value: t.Any) -> str:
    return mysql_quote(_iso_datetime_fast(value))


def mysql_literal_converter(kind: Kind) -> Converter:
    """Converter to a MySQL SQL literal.

    Args:
        kind: The column's kind.

    Returns:
        A function of one non-null value returning the literal's text.
    """
    if kind is Kind.INTEGER:
        return _mysql_int
    if kind is Kind.NUMBER:
        return _mysql_float
    if kind is Kind.DECIMAL:
        return to_decimal_text
    if kind is Kind.BOOLEAN:
        return lambda v: "1" if to_bool(v) else "0"
    if kind is Kind.DATETIME:
        return _mysql_datetime
    if kind is Kind.DATE:
        return lambda v: mysql_quote(parse_date(v).isoformat())
    if kind is Kind.TIME:
        return lambda v: mysql_quote(parse_time(v).isoformat())
    if kind is Kind.JSON:
        return lambda v: mysql_quote(_json_text(v))
    return _mysql_text
