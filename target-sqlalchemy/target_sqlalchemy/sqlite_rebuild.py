"""Change column types on SQLite by rebuilding the table.

SQLite cannot alter a column's type. It stores any value in any column, but
the declared type decides how SQLAlchemy (and other typed readers) read the
values back: an integer in a BOOLEAN column reads as ``True``. So a column
that widens is changed the way SQLite's documentation describes: in one
transaction, create the new table, copy the rows, drop the old table, rename
the new one, and recreate the old table's indexes and triggers. Keys, unique
constraints, CHECK constraints, defaults and NOT NULL are kept (they come from
reflection); views stay valid because the name comes back.
"""

from __future__ import annotations

import typing as t
import uuid

import sqlalchemy as sa
from sqlalchemy.schema import CreateTable

from target_sqlalchemy import ddl
from target_sqlalchemy.errors import UnsupportedChangeError
from target_sqlalchemy.typemap import Kind


def rebuild(
    conn: sa.Connection,
    schema: str | None,
    name: str,
    changes: dict[str, tuple[Kind, sa.types.TypeEngine[t.Any]]],
) -> None:
    """Give columns new types by rebuilding the table, in one transaction.

    Args:
        conn: A connection with no transaction begun yet.
        schema: Attached database name, or None.
        name: Table name.
        changes: Column name -> (its old kind, its new type).

    Raises:
        UnsupportedChangeError: If foreign keys are enforced on the connection.
    """
    dialect = conn.dialect
    table = ddl.qualified(dialect, schema, name)
    where = (
        "sqlite_master" if not schema else f"{ddl.quote(dialect, schema)}.sqlite_master"
    )
    if conn.exec_driver_sql("PRAGMA foreign_keys").scalar():
        # Dropping the old table would cascade to tables referencing it.
        msg = "SQLite rebuilds a table to change a type, which needs foreign_keys off"
        raise UnsupportedChangeError(msg)
    # pysqlite does not begin a transaction before DDL; do it explicitly so the
    # rebuild is all or nothing.
    conn.exec_driver_sql("BEGIN")
    try:
        extras: list[str] = list(
            conn.exec_driver_sql(
                f"SELECT sql FROM {where} WHERE tbl_name = ? "
                "AND type IN ('index', 'trigger') AND sql IS NOT NULL",
                (name,),
            ).scalars()
        )
        old = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=conn)
        temp = f"_tsa_rebuild_{uuid.uuid4().hex[:12]}"
        new = old.to_metadata(sa.MetaData(), name=temp)
        new.indexes.clear()  # recreated from their own SQL below
        _keep_unique_constraints(conn, schema, name, new)
        for column, (_, new_type) in changes.items():
            new.c[column].type = new_type
        conn.execute(CreateTable(new))
        names = [ddl.quote(dialect, c.name) for c in old.columns]
        values = [
            _copy_expression(ddl.quote(dialect, c.name), changes.get(c.name))
            for c in old.columns
        ]
        conn.exec_driver_sql(
            f"INSERT INTO {ddl.qualified(dialect, schema, temp)} "
            f"({', '.join(names)}) SELECT {', '.join(values)} FROM {table}"
        )
        _replace(conn, schema, name, temp)
        for sql in extras:
            conn.exec_driver_sql(sql)
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def _keep_unique_constraints(
    conn: sa.Connection, schema: str | None, name: str, new: sa.Table
) -> None:
    # Reflection misses column-level UNIQUE (no parentheses to parse); SQLite
    # lists every UNIQUE constraint as an index of origin "u".
    prefix = f"{ddl.quote(conn.dialect, schema)}." if schema else ""
    have = {
        frozenset(c.name for c in constraint.columns)
        for constraint in new.constraints
        if isinstance(constraint, sa.UniqueConstraint)
    }
    table = ddl.quote(conn.dialect, name)
    for row in conn.exec_driver_sql(f"PRAGMA {prefix}index_list({table})").all():
        index, origin = row[1], row[3]
        if origin != "u":
            continue
        info = conn.exec_driver_sql(
            f"PRAGMA {prefix}index_info({ddl.quote(conn.dialect, index)})"
        ).all()
        columns = [r[2] for r in info]
        if frozenset(columns) not in have:
            new.append_constraint(sa.UniqueConstraint(*columns))
            have.add(frozenset(columns))


def _replace(conn: sa.Connection, schema: str | None, name: str, temp: str) -> None:
    dialect = conn.dialect
    conn.exec_driver_sql(f"DROP TABLE {ddl.qualified(dialect, schema, name)}")
    # The legacy rename neither checks nor rewrites views that name the
    # table: they name the old table, which is back under its name.
    conn.exec_driver_sql("PRAGMA legacy_alter_table = ON")
    conn.exec_driver_sql(
        f"ALTER TABLE {ddl.qualified(dialect, schema, temp)} "
        f"RENAME TO {ddl.quote(dialect, name)}"
    )
    conn.exec_driver_sql("PRAGMA legacy_alter_table = OFF")


def _copy_expression(
    column: str, change: tuple[Kind, sa.types.TypeEngine[t.Any]] | None
) -> str:
    if change is None:
        return column
    old_kind, new_type = change
    if old_kind is Kind.BOOLEAN and isinstance(new_type, sa.String):
        # Text columns hold booleans as 'true'/'false', as new rows arrive.
        return f"CASE {column} WHEN 1 THEN 'true' WHEN 0 THEN 'false' ELSE {column} END"
    return column
