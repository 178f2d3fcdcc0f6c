"""Schema evolution: what an existing column is, and what it must widen to.

Columns only ever widen, along this lattice (the join of two kinds is the
narrowest kind holding the values of both)::

    boolean < integer < decimal(s) < exact number      date < date-time
    string(n) < string(m > n) < text                   anything else < text

- ``boolean`` joins the integers as 0/1; a narrow integer column (INTEGER,
  SMALLINT) widens to BIGINT.
- ``integer``/``decimal`` with ``number`` (float) join to an exact number
  where the database has one that holds both: PostgreSQL ``NUMERIC``. MySQL,
  SQL Server and SQLite use DOUBLE, which rounds integers beyond 2**53: a
  WARNING names the column (SQLite keeps an INTEGER column as it is: its
  INTEGER affinity stores floats and 64-bit integers exactly).
- Every other pair (JSON with anything, dates with numbers, booleans with
  dates or strings...) joins to unbounded text.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from target_sqlalchemy.typemap import ColumnSpec, Kind

_NUMERIC = frozenset({Kind.BOOLEAN, Kind.INTEGER, Kind.DECIMAL, Kind.NUMBER})
#: Kinds SQLAlchemy reads back through a type-specific processor on SQLite, so
#: a column of them must be rebuilt to hold another kind.
_SQLITE_TYPED = frozenset(
    {Kind.BOOLEAN, Kind.DATE, Kind.DATETIME, Kind.TIME, Kind.JSON}
)
#: Significant digits a NUMERIC(p, 0) needs to hold every 64-bit integer.
_INT64_DIGITS = 19


@dataclass(frozen=True)
class Existing:
    """A column as the database has it.

    Attributes:
        kind: What the column holds.
        length: Length of a bounded string column.
        scale: Scale of an exact decimal column (None: unconstrained).
        int64: For integer columns, whether every 64-bit integer fits.
        nullable: Whether the column accepts NULL.
        default: SQL text of the column's default, if any.
        comment: The column's comment, if any (MySQL restates it).
        autoincrement: Whether the column is AUTO_INCREMENT (MySQL).
        type_sql: The column's type as the database names it, for messages.
    """

    kind: Kind
    length: int | None = None
    scale: int | None = None
    int64: bool = True
    nullable: bool = True
    default: str | None = None
    comment: str | None = None
    autoincrement: bool = False
    type_sql: str = ""

    def holding(self, spec: ColumnSpec, type_sql: str) -> Existing:
        """The same column after a change to hold ``spec``.

        Args:
            spec: The column's new kind, length and scale.
            type_sql: The new type's name.

        Returns:
            A new description.
        """
        return replace(
            self,
            kind=spec.kind,
            length=_length(spec) if spec.kind is Kind.STRING else None,
            scale=spec.scale,
            int64=True,
            type_sql=type_sql,
        )


def classify(
    column: t.Mapping[str, t.Any], dialect: sa.Dialect, *, is_json: bool = False
) -> Existing:
    """Describe a reflected column.

    Args:
        column: A column as ``Inspector.get_columns`` returns it.
        dialect: The database's dialect.
        is_json: Whether the column is known to hold JSON (MariaDB's JSON is
            LONGTEXT with a ``json_valid`` check, which reflection misses).

    Returns:
        The column's description.
    """
    sql = column["type"]
    kind, length, scale, int64 = _kind_of(sql, dialect.name)
    if is_json:
        kind, length = Kind.JSON, None
    default = column.get("default")
    return Existing(
        kind=kind,
        length=length,
        scale=scale,
        int64=int64,
        nullable=bool(column.get("nullable", True)),
        default=None if default is None else str(default),
        comment=column.get("comment"),
        autoincrement=column.get("autoincrement") is True,
        type_sql=_type_name(sql, dialect),
    )


def _type_name(sql: sa.types.TypeEngine[t.Any], dialect: sa.Dialect) -> str:
    try:
        return str(sql.compile(dialect=dialect))
    except sa.exc.CompileError:
        return type(sql).__name__


def _kind_of(
    sql: sa.types.TypeEngine[t.Any], dialect: str
) -> tuple[Kind, int | None, int | None, bool]:
    if isinstance(sql, sa.JSON):
        return Kind.JSON, None, None, True
    if isinstance(sql, sa.Boolean) or (
        isinstance(sql, mysql.TINYINT) and getattr(sql, "display_width", None) == 1
    ):
        return Kind.BOOLEAN, None, None, True
    if isinstance(sql, sa.Integer):
        # SQLite's integers are all 64-bit, whatever the declared name.
        wide = dialect == "sqlite" or isinstance(sql, sa.BigInteger)
        return Kind.INTEGER, None, None, wide
    if isinstance(sql, sa.Float):
        return Kind.NUMBER, None, None, True
    if isinstance(sql, sa.Numeric):
        if sql.scale == 0:
            digits = sql.precision
            return Kind.INTEGER, None, None, digits is None or digits >= _INT64_DIGITS
        return Kind.DECIMAL, None, sql.scale, True
    for base, kind in (
        (sa.DateTime, Kind.DATETIME),
        (sa.Date, Kind.DATE),
        (sa.Time, Kind.TIME),
    ):
        if isinstance(sql, base):
            return kind, None, None, True
    if isinstance(sql, sa.String) and not isinstance(sql, sa.Text):
        return Kind.STRING, sql.length, None, True
    return Kind.STRING, None, None, True


def join(existing: Existing, wanted: ColumnSpec, dialect: str) -> ColumnSpec:
    """The narrowest column holding both the existing values and the wanted kind.

    Args:
        existing: The column in the database.
        wanted: The column the stream now describes.
        dialect: Dialect family name (the exact-number join depends on it).

    Returns:
        The joined column (equal to the existing one when nothing must change).
    """
    have = replace(
        wanted, kind=existing.kind, max_length=existing.length, scale=existing.scale
    )
    kinds = {existing.kind, wanted.kind}
    if existing.kind is wanted.kind:
        return _join_same(existing, have, wanted)
    if Kind.STRING in kinds:
        return _text(existing, have)
    if kinds == {Kind.DATE, Kind.DATETIME}:
        return replace(have, kind=Kind.DATETIME)
    if kinds <= _NUMERIC:
        return _join_numeric(have, wanted, dialect)
    return _text(existing, have)


def _length(spec: ColumnSpec) -> int | None:
    # A key column's storage length is its indexable length where one is set.
    return spec.key_length if spec.is_key and spec.key_length else spec.max_length


def _text(existing: Existing, have: ColumnSpec) -> ColumnSpec:
    if existing.kind is Kind.STRING and (existing.length is None or have.is_key):
        return have  # unbounded already, or a key keeping its indexable length
    return replace(have, kind=Kind.STRING, max_length=None, scale=None)


def _join_same(existing: Existing, have: ColumnSpec, wanted: ColumnSpec) -> ColumnSpec:
    if existing.kind is Kind.INTEGER:
        return have  # BIGINT, if the column is narrower (see needs_alter)
    if existing.kind is not Kind.STRING or existing.length is None:
        return have
    length = _length(wanted)
    if length is None:
        return _text(existing, have)
    if length <= existing.length:
        return have
    return replace(have, max_length=length)


def _join_numeric(have: ColumnSpec, wanted: ColumnSpec, dialect: str) -> ColumnSpec:
    # Booleans join the integers as 0/1.
    kinds = {Kind.INTEGER if k is Kind.BOOLEAN else k for k in (have.kind, wanted.kind)}
    if kinds == {Kind.INTEGER}:
        return replace(have, kind=Kind.INTEGER, scale=None)
    if kinds == {Kind.INTEGER, Kind.DECIMAL}:
        scale = have.scale if have.kind is Kind.DECIMAL else wanted.scale
        if scale is None or scale <= 38 - _INT64_DIGITS:
            return replace(have, kind=Kind.DECIMAL, scale=scale)
    # Integers or decimals with floats: exact where the database can be.
    if dialect == "postgresql":
        return replace(have, kind=Kind.DECIMAL, scale=None)
    return replace(have, kind=Kind.NUMBER, scale=None)


def needs_alter(existing: Existing, joined: ColumnSpec, dialect: str) -> bool:
    """Whether the column's type must change to hold the joined kind.

    Args:
        existing: The column in the database.
        joined: The result of ``join``.
        dialect: Dialect family name.

    Returns:
        True when DDL is needed.
    """
    if dialect == "sqlite":
        # SQLite stores any value in any column. Types SQLAlchemy reads back
        # through a processor (booleans, dates, JSON) must change, and so does
        # a column becoming text, so typed readers see what it now holds.
        return joined.kind is not existing.kind and (
            existing.kind in _SQLITE_TYPED or joined.kind is Kind.STRING
        )
    if joined.kind is not existing.kind:
        return True
    if joined.kind is Kind.INTEGER:
        return not existing.int64
    if joined.kind is Kind.STRING:
        return _length(joined) != existing.length
    return joined.kind is Kind.DECIMAL and joined.scale != existing.scale


def precision_warning(
    existing: Existing, wanted: ColumnSpec, joined: ColumnSpec, dialect: str
) -> str | None:
    """Say how integers lose precision in a floating-point column, if they do.

    Args:
        existing: The column in the database.
        wanted: The column the stream describes.
        joined: The result of ``join``.
        dialect: Dialect family name.

    Returns:
        The warning text, or None when every value is kept exactly.
    """
    if joined.kind is not Kind.NUMBER:
        return None
    exact = {existing.kind, wanted.kind} - {Kind.NUMBER, Kind.BOOLEAN}
    if not exact:
        return None
    if dialect == "sqlite" and existing.kind is Kind.INTEGER:
        return None  # INTEGER affinity keeps both integers and floats exactly
    return (
        f"holds {' and '.join(sorted(k.value for k in exact | {Kind.NUMBER}))} "
        f"values as DOUBLE: {dialect} has no exact type for both, so integers "
        "beyond 2**53 (and decimals beyond 15 digits) are rounded"
    )


def conversion_kind(column: Kind, wanted: Kind) -> Kind:
    """The kind whose converter writes a wanted value into a column.

    Values follow the stream's kind, except where the column is of another
    kind: booleans become text ``true``/``false`` in text columns and 0/1 in
    numeric ones, and other values take the column's form.

    Args:
        column: The column's kind (after any widening).
        wanted: The kind the stream describes.

    Returns:
        The kind of the converter to use.
    """
    if column is wanted:
        return wanted
    if column is Kind.STRING:
        return Kind.STRING if wanted is Kind.BOOLEAN else wanted
    if wanted is Kind.BOOLEAN and column in _NUMERIC:
        return Kind.INTEGER
    return column
