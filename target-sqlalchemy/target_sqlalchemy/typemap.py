"""Map JSON Schema properties to column kinds and dialect-specific SQL types.

singer-sdk's generic mapping emits types some databases lack (``DATETIME`` on
PostgreSQL) and binds ``decimal.Decimal`` where drivers cannot take it, so the
mapping lives here, one decision per dialect.
"""

from __future__ import annotations

import decimal
import enum
import typing as t
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import mssql, mysql, oracle, postgresql


class Kind(str, enum.Enum):
    """What a column holds, independent of the database."""

    INTEGER = "integer"
    NUMBER = "number"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    STRING = "string"
    DATETIME = "date-time"
    DATE = "date"
    TIME = "time"
    JSON = "json"


#: Kinds ordered from narrowest to widest; a column only ever widens.
_WIDTH = {
    Kind.BOOLEAN: 0,
    Kind.INTEGER: 1,
    Kind.DECIMAL: 2,
    Kind.NUMBER: 3,
    Kind.DATE: 1,
    Kind.DATETIME: 2,
    Kind.TIME: 1,
    Kind.STRING: 9,
    Kind.JSON: 5,
}

#: Length of VARCHAR used where a database cannot index unbounded text.
KEY_VARCHAR_LENGTH = 255
_MYSQL_MAX_VARCHAR = 16383  # 65,535-byte row limit over 4-byte utf8mb4


@dataclass(frozen=True)
class ColumnSpec:
    """A column the target loads: its name, kind and SQL details.

    Attributes:
        name: Column name as written to the database.
        kind: What the column holds.
        max_length: ``maxLength`` of a string property, if any.
        scale: Decimal places of a ``multipleOf`` number, if any.
        is_key: Whether the column is one of the stream's key properties.
    """

    name: str
    kind: Kind
    max_length: int | None = None
    scale: int | None = None
    is_key: bool = False


def _types_of(prop: dict[str, t.Any]) -> list[str]:
    declared = prop.get("type")
    if isinstance(declared, str):
        types = [declared]
    elif isinstance(declared, list):
        types = [str(x) for x in declared]
    else:
        types = []
    for option in prop.get("anyOf", []) + prop.get("oneOf", []):
        if isinstance(option, dict):
            types.extend(_types_of(option))
    return [x for x in types if x != "null"]


def _formats_of(prop: dict[str, t.Any]) -> set[str]:
    formats = {prop["format"]} if isinstance(prop.get("format"), str) else set()
    for option in prop.get("anyOf", []) + prop.get("oneOf", []):
        if isinstance(option, dict):
            formats |= _formats_of(option)
    return formats


def _scale_of(multiple_of: t.Any) -> int | None:
    if multiple_of is None or isinstance(multiple_of, bool):
        return None
    exponent = decimal.Decimal(str(multiple_of)).normalize().as_tuple().exponent
    if not isinstance(exponent, int):
        return None
    return max(0, -exponent)


def column_kind(prop: dict[str, t.Any]) -> tuple[Kind, int | None, int | None]:
    """Classify a JSON Schema property.

    Args:
        prop: The property's JSON Schema.

    Returns:
        The kind, the string ``maxLength`` (or None) and the decimal scale (or
        None).
    """
    types = set(_types_of(prop))
    formats = _formats_of(prop)
    if not types or len(types - {"integer", "number"}) > 1:
        # Untyped or a union of unrelated types: keep the value as JSON text.
        return (Kind.STRING if types == {"string"} else Kind.JSON), None, None
    if types & {"object", "array"}:
        return Kind.JSON, None, None
    if "string" in types:
        if "date-time" in formats:
            return Kind.DATETIME, None, None
        if "date" in formats:
            return Kind.DATE, None, None
        if "time" in formats:
            return Kind.TIME, None, None
        max_length = prop.get("maxLength")
        if isinstance(max_length, bool) or not isinstance(max_length, int):
            max_length = None
        return Kind.STRING, max_length, None
    if "boolean" in types:
        return Kind.BOOLEAN, None, None
    if "number" in types:
        scale = _scale_of(prop.get("multipleOf"))
        if scale is not None:
            return Kind.DECIMAL, None, scale
        return Kind.NUMBER, None, None
    if "integer" in types:
        return Kind.INTEGER, None, None
    return Kind.JSON, None, None


def _string_type(dialect: str, spec: ColumnSpec) -> sa.types.TypeEngine[t.Any]:
    length = spec.max_length
    if dialect == "mysql":
        if spec.is_key:
            return sa.VARCHAR(min(length or KEY_VARCHAR_LENGTH, 768))
        if length is not None and length <= _MYSQL_MAX_VARCHAR:
            return sa.VARCHAR(length)
        return mysql.LONGTEXT()
    if dialect == "mssql":
        if spec.is_key or (length is not None and length <= 4000):  # noqa: PLR2004
            return mssql.NVARCHAR(length or KEY_VARCHAR_LENGTH)
        return mssql.NVARCHAR(None)
    if dialect == "oracle":
        if spec.is_key or (length is not None and length <= 4000):  # noqa: PLR2004
            return sa.VARCHAR(length or KEY_VARCHAR_LENGTH)
        return oracle.NCLOB()
    if length is not None:
        return sa.VARCHAR(length)
    return sa.Text()


def sql_type(dialect: str, spec: ColumnSpec) -> sa.types.TypeEngine[t.Any]:
    """Return the SQL type to create for a column on a dialect.

    Args:
        dialect: SQLAlchemy dialect name (``mariadb`` is given as ``mysql``).
        spec: The column.

    Returns:
        A SQLAlchemy type object.
    """
    kind = spec.kind
    if kind is Kind.INTEGER:
        return sa.BigInteger()
    if kind is Kind.NUMBER:
        if dialect == "mssql":
            return mssql.FLOAT(53)
        if dialect == "oracle":
            return oracle.BINARY_DOUBLE()
        return sa.Double()
    if kind is Kind.DECIMAL:
        return sa.Numeric(38, min(spec.scale or 0, 30))
    if kind is Kind.BOOLEAN:
        if dialect == "oracle":
            return sa.SmallInteger()
        return sa.Boolean()
    if kind is Kind.DATETIME:
        if dialect == "mysql":
            return mysql.DATETIME(fsp=6)
        if dialect == "mssql":
            return mssql.DATETIME2(precision=6)
        if dialect == "oracle":
            return oracle.TIMESTAMP()
        return sa.DateTime()
    if kind is Kind.DATE:
        # The SQL Server dialect renders the generic Date as DATETIME when it
        # does not know the server version (compiling offline); be explicit.
        return sa.DATE()
    if kind is Kind.TIME:
        if dialect == "mssql":
            return mssql.TIME(6)
        if dialect == "mysql":
            return mysql.TIME(fsp=6)
        if dialect == "oracle":
            return sa.VARCHAR(15)
        return sa.Time()
    if kind is Kind.JSON:
        if dialect == "postgresql":
            return postgresql.JSONB()
        if dialect == "mysql":
            return sa.JSON()
        if dialect == "mssql":
            return mssql.NVARCHAR(None)
        if dialect == "oracle":
            return oracle.NCLOB()
        return sa.Text()
    return _string_type(dialect, spec)


def reflected_kind(sql: sa.types.TypeEngine[t.Any]) -> tuple[Kind, int | None]:
    """Classify a reflected column type.

    Args:
        sql: Column type as reflected by SQLAlchemy.

    Returns:
        The kind and, for bounded strings, the length.
    """
    if isinstance(sql, sa.JSON):
        return Kind.JSON, None
    if isinstance(sql, sa.Boolean) or (
        isinstance(sql, mysql.TINYINT) and getattr(sql, "display_width", None) == 1
    ):
        return Kind.BOOLEAN, None
    if isinstance(sql, sa.Integer):
        return Kind.INTEGER, None
    if isinstance(sql, sa.Float):
        return Kind.NUMBER, None
    if isinstance(sql, sa.Numeric):
        return (Kind.INTEGER if sql.scale == 0 else Kind.DECIMAL), None
    if isinstance(sql, sa.DateTime):
        return Kind.DATETIME, None
    if isinstance(sql, sa.Date):
        return Kind.DATE, None
    if isinstance(sql, sa.Time):
        return Kind.TIME, None
    if isinstance(sql, sa.String):
        if isinstance(sql, sa.Text):
            return Kind.STRING, None
        return Kind.STRING, sql.length
    return Kind.STRING, None


def widened(existing: tuple[Kind, int | None], wanted: ColumnSpec) -> ColumnSpec | None:
    """Decide whether an existing column must widen to hold the wanted kind.

    Args:
        existing: Kind and string length of the column in the database.
        wanted: The column the stream now describes.

    Returns:
        The spec to alter the column to, or None when the column already holds
        the values (or cannot be changed safely).
    """
    kind, length = existing
    if kind is wanted.kind:
        if kind is not Kind.STRING or length is None:
            return None
        if wanted.max_length is not None and wanted.max_length <= length:
            return None
        if wanted.is_key and wanted.max_length is None:
            return None  # key VARCHAR(255) on MySQL: keep the indexable length
        return wanted
    numeric = {Kind.BOOLEAN, Kind.INTEGER, Kind.DECIMAL, Kind.NUMBER}
    if kind in numeric and wanted.kind in numeric:
        if _WIDTH[wanted.kind] > _WIDTH[kind] and kind is not Kind.BOOLEAN:
            return wanted
        return None
    if kind is Kind.DATE and wanted.kind is Kind.DATETIME:
        return wanted
    if kind is Kind.STRING:
        if length is None:
            return None
        # A bounded text column now receiving other kinds: make it unbounded.
        return ColumnSpec(wanted.name, Kind.STRING, None, None, wanted.is_key)
    if wanted.kind is Kind.STRING and kind is not Kind.JSON:
        return wanted
    return None
