"""Map JSON Schema properties to column kinds and dialect-specific SQL types.

singer-sdk's generic mapping emits types some databases lack (``DATETIME`` on
PostgreSQL) and binds ``decimal.Decimal`` where drivers cannot take it, so the
mapping lives here, one decision per dialect.
"""

from __future__ import annotations

import decimal
import enum
import typing as t
from dataclasses import dataclass, replace

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


#: Length of VARCHAR used for key columns where a database cannot index
#: unbounded text (SQL Server, Oracle).
KEY_VARCHAR_LENGTH = 255
_MYSQL_MAX_VARCHAR = 16383  # 65,535-byte row limit over 4-byte utf8mb4
#: InnoDB indexes at most 3072 bytes per key: 768 four-byte utf8mb4 characters.
MYSQL_KEY_BYTES = 3072
#: Bytes a non-string key column takes in an InnoDB key (BIGINT, DATETIME(6),
#: DOUBLE: 8; DECIMAL(38,s): 17 is the worst case we create).
_MYSQL_KEY_FIXED_BYTES = 17


@dataclass(frozen=True)
class ColumnSpec:
    """A column the target loads: its name, kind and SQL details.

    Attributes:
        name: Column name as written to the database.
        kind: What the column holds.
        max_length: ``maxLength`` of a string property, if any.
        scale: Decimal places of a ``multipleOf`` number, if any.
        is_key: Whether the column is one of the stream's key properties.
        key_length: For string key columns on databases that index bounded
            text only: the VARCHAR length the key gets (see ``key_specs``).
        key_collation: For string key columns on MySQL/MariaDB: the binary
            collation that compares keys exactly as PostgreSQL and SQLite do.
    """

    name: str
    kind: Kind
    max_length: int | None = None
    scale: int | None = None
    is_key: bool = False
    key_length: int | None = None
    key_collation: str | None = None


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
            size = spec.key_length or min(length or KEY_VARCHAR_LENGTH, 768)
            if spec.key_collation:
                return mysql.VARCHAR(
                    size, charset="utf8mb4", collation=spec.key_collation
                )
            return sa.VARCHAR(size)
        if length is not None and length <= _MYSQL_MAX_VARCHAR:
            return sa.VARCHAR(length)
        return mysql.LONGTEXT()
    if dialect in ("mssql", "oracle"):
        if spec.is_key:
            length = spec.key_length or min(length or KEY_VARCHAR_LENGTH, 4000)
        elif length is None or length > 4000:
            return mssql.NVARCHAR(None) if dialect == "mssql" else oracle.NCLOB()
        return mssql.NVARCHAR(length) if dialect == "mssql" else sa.VARCHAR(length)
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
        if spec.scale is None:
            # The exact join of integers and floats (schema evolution):
            # PostgreSQL's unconstrained NUMERIC.
            return sa.Numeric()
        return sa.Numeric(38, min(spec.scale, 30))
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


def key_specs(
    dialect: str, specs: t.Sequence[ColumnSpec], collation: str | None = None
) -> list[ColumnSpec]:
    """Give string key columns the length (and collation) their index allows.

    InnoDB indexes at most 3072 bytes per key, so on MySQL/MariaDB the string
    key columns share what the other key columns leave: each gets an equal
    share of the characters, a column whose ``maxLength`` is below its share
    takes only that and leaves the rest to the others. SQL Server and Oracle
    get ``maxLength`` or 255; other databases index unbounded text.

    Args:
        dialect: Dialect family name.
        specs: The stream's columns.
        collation: Collation for string key columns (MySQL/MariaDB).

    Returns:
        The columns, string keys with ``key_length``/``key_collation`` set.
    """
    strings = [s for s in specs if s.is_key and s.kind is Kind.STRING]
    if not strings or dialect in ("postgresql", "sqlite"):
        return list(specs)
    lengths: dict[str, int] = {}
    if dialect == "mysql":
        fixed = sum(1 for s in specs if s.is_key and s.kind is not Kind.STRING)
        chars = (MYSQL_KEY_BYTES - fixed * _MYSQL_KEY_FIXED_BYTES) // 4
        # Water-filling: the shortest declared maxLength is served first.
        ordered = sorted(strings, key=lambda s: s.max_length or chars)
        for left, spec in enumerate(ordered):
            share = chars // (len(ordered) - left)
            lengths[spec.name] = max(1, min(spec.max_length or share, share))
            chars -= lengths[spec.name]
    else:
        for spec in strings:
            lengths[spec.name] = min(spec.max_length or KEY_VARCHAR_LENGTH, 4000)
    return [
        replace(s, key_length=lengths[s.name], key_collation=collation)
        if s.name in lengths
        else s
        for s in specs
    ]
