"""Upsert statements built with SQLAlchemy Core, one per dialect family.

PostgreSQL and SQLite use ``INSERT ... ON CONFLICT DO UPDATE``, MySQL/MariaDB
``INSERT ... ON DUPLICATE KEY UPDATE`` (as text, see ``mysql_insert_text``);
SQL Server and Oracle get ``MERGE``
from the small ``Merge`` construct below, compiled per dialect.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable

from target_sqlalchemy import ddl

if t.TYPE_CHECKING:
    from sqlalchemy.sql.compiler import SQLCompiler


def _changed(
    table: sa.Table, source: t.Any, columns: t.Sequence[str]
) -> sa.ColumnElement[bool]:
    # Skip rewriting rows whose values are unchanged: a reload of the same data
    # then costs reads only. JSON has no equality operator, so compare as text.
    checks = []
    for name in columns:
        left: t.Any = table.c[name]
        right: t.Any = source[name]
        if isinstance(left.type, sa.JSON) and not isinstance(
            left.type, postgresql.JSONB
        ):
            left, right = sa.cast(left, sa.Text), sa.cast(right, sa.Text)
        checks.append(left.is_distinct_from(right))
    return sa.or_(*checks)


_ConflictInsert = t.TypeVar("_ConflictInsert", postgresql.Insert, sqlite.Insert)


def _on_conflict(
    stmt: _ConflictInsert,
    table: sa.Table,
    keys: t.Sequence[str],
    others: t.Sequence[str],
) -> _ConflictInsert:
    # PostgreSQL and SQLite share the ON CONFLICT grammar and SQLAlchemy API.
    index = [table.c[k] for k in keys]
    if not others:
        return stmt.on_conflict_do_nothing(index_elements=index)
    return stmt.on_conflict_do_update(
        index_elements=index,
        set_={n: stmt.excluded[n] for n in others},
        where=_changed(table, stmt.excluded, others),
    )


def postgres_upsert_from(
    table: sa.Table, stage: sa.Table, keys: t.Sequence[str]
) -> postgresql.Insert:
    """``INSERT INTO table SELECT ... FROM stage ON CONFLICT (keys) DO UPDATE``.

    Args:
        table: Target table (only the loaded columns need to be declared).
        stage: Staging table with the same loaded columns.
        keys: Key columns backed by a unique constraint.

    Returns:
        The insert statement.
    """
    names = [c.name for c in stage.columns]
    stmt = postgresql.insert(table).from_select(
        names, sa.select(*[stage.c[n] for n in names])
    )
    return _on_conflict(stmt, table, keys, [n for n in names if n not in keys])


def sqlite_upsert(table: sa.Table, keys: t.Sequence[str]) -> sqlite.Insert:
    """``INSERT ... VALUES (...) ON CONFLICT (keys) DO UPDATE`` for executemany.

    Args:
        table: Target table with the loaded columns.
        keys: Key columns backed by a unique constraint.

    Returns:
        The insert statement.
    """
    others = [c.name for c in table.columns if c.name not in keys]
    return _on_conflict(sqlite.insert(table), table, keys, others)


def mysql_insert_text(
    dialect: sa.Dialect,
    schema: str | None,
    name: str,
    names: t.Sequence[str],
    keys: t.Sequence[str] = (),
) -> tuple[str, str]:
    """The text around the VALUES rows of a MySQL/MariaDB multi-row INSERT.

    ``head + "(..),(..)" + tail`` is ``INSERT INTO t (cols) VALUES ...``, with
    ``ON DUPLICATE KEY UPDATE`` when there are keys. The text is meant to run
    without parameters: names are quoted without doubling ``%``.

    Args:
        dialect: The MySQL or MariaDB dialect (its server version decides
            between ``VALUES(col)`` and the row alias MySQL 8.0.20+ prefers).
        schema: The table's schema (database), or None.
        name: The table's name.
        names: Column names, in row order.
        keys: Key columns backed by a primary or unique key; empty to append.

    Returns:
        The head (up to and including ``VALUES``) and the tail.

    Example:
        >>> from sqlalchemy.dialects import mysql
        >>> mysql_insert_text(mysql.dialect(), None, "t", ["id", "a%"], ["id"])
        ('INSERT INTO `t` (`id`, `a%`) VALUES ', ' ON DUPLICATE KEY UPDATE `a%` = VALUES(`a%`)')
    """  # noqa: E501
    columns = ", ".join(ddl.quote(dialect, n) for n in names)
    head = f"INSERT INTO {ddl.qualified(dialect, schema, name)} ({columns}) VALUES "
    if not keys:
        return head, ""
    # Nothing else to update: assigning a key to itself makes the row a no-op.
    others = [n for n in names if n not in keys] or [keys[0]]
    quoted = [ddl.quote(dialect, n) for n in others]
    version = dialect.server_version_info or ()
    if getattr(dialect, "is_mariadb", False) or version < (8, 0, 20):
        assignments = ", ".join(f"{c} = VALUES({c})" for c in quoted)
        return head, f" ON DUPLICATE KEY UPDATE {assignments}"
    # MySQL 8.0.20+ deprecates VALUES(col) for a row alias, which must differ
    # from the table's name (as SQLAlchemy's own ON DUPLICATE KEY does).
    alias = "new_1" if name.lower() == "new" else "new"
    assignments = ", ".join(f"{c} = {alias}.{c}" for c in quoted)
    return head, f" AS {alias} ON DUPLICATE KEY UPDATE {assignments}"


class Merge(Executable, ClauseElement):
    """A ``MERGE`` of a staging table into a target table by key columns.

    Example:
        >>> import sqlalchemy as sa
        >>> from sqlalchemy.dialects import mssql
        >>> md = sa.MetaData()
        >>> t = sa.Table("t", md, sa.Column("id", sa.Integer), sa.Column("v", sa.Text))
        >>> s = sa.Table("s", md, sa.Column("id", sa.Integer), sa.Column("v", sa.Text))
        >>> print(Merge(t, s, ["id"]).compile(dialect=mssql.dialect()))
        ... # doctest: +NORMALIZE_WHITESPACE
        MERGE INTO t AS tgt USING s AS src ON (tgt.[id] = src.[id])
        WHEN MATCHED THEN UPDATE SET [v] = src.[v]
        WHEN NOT MATCHED THEN INSERT ([id], [v]) VALUES (src.[id], src.[v]);
    """

    inherit_cache = False

    def __init__(
        self, target: sa.Table, source: sa.Table, keys: t.Sequence[str]
    ) -> None:
        """Create the statement.

        Args:
            target: The table rows are merged into.
            source: The staging table holding the batch.
            keys: Columns that identify a row.
        """
        self.target = target
        self.source = source
        self.keys = list(keys)


@compiles(Merge)
def _compile_merge(element: Merge, compiler: SQLCompiler, **kw: t.Any) -> str:
    prep = compiler.preparer
    oracle = compiler.dialect.name == "oracle"
    alias_kw = " " if oracle else " AS "

    def table(tbl: sa.Table) -> str:
        return str(prep.format_table(tbl))

    def col(name: str) -> str:
        return str(prep.quote_identifier(name))

    names = [c.name for c in element.source.columns]
    others = [n for n in names if n not in element.keys]
    on = " AND ".join(f"tgt.{col(k)} = src.{col(k)}" for k in element.keys)
    sql = (
        f"MERGE INTO {table(element.target)}{alias_kw}tgt "
        f"USING {table(element.source)}{alias_kw}src ON ({on})"
    )
    if others:
        # Unqualified SET targets are valid in SQL Server, Oracle and
        # PostgreSQL 15+ (which rejects qualified ones).
        sets = ", ".join(f"{col(n)} = src.{col(n)}" for n in others)
        sql += f"\nWHEN MATCHED THEN UPDATE SET {sets}"
    inserts = ", ".join(col(n) for n in names)
    values = ", ".join(f"src.{col(n)}" for n in names)
    sql += f"\nWHEN NOT MATCHED THEN INSERT ({inserts}) VALUES ({values})"
    # SQL Server requires MERGE to end with a semicolon; Oracle rejects one.
    return sql if oracle else sql + ";"
