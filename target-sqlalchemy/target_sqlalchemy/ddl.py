"""SQL text for the statements the target writes itself (ALTER TABLE, COPY).

SQLAlchemy's identifier quoting doubles ``%`` for drivers whose paramstyle is
``format``/``pyformat`` (psycopg2, pymysql), expecting the driver to undo it
when parameters are bound. Statements here run without parameters (raw
cursors, COPY, ``no_parameters``), so names are quoted without that doubling.
Every function is pure: it takes a dialect and returns text, so SQL Server
and Oracle statements are checked by compiling, without a server.
"""

from __future__ import annotations

import copy
import functools
import re
import typing as t

if t.TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.sql.compiler import IdentifierPreparer

    from target_sqlalchemy.evolution import Existing
    from target_sqlalchemy.typemap import ColumnSpec

from target_sqlalchemy.errors import UnsupportedChangeError
from target_sqlalchemy.typemap import Kind

#: A default MySQL can restate for a column of any type: a quoted string, a
#: number or NULL (function defaults such as ``current_timestamp()`` only fit
#: some types).
_LITERAL_DEFAULT = re.compile(r"'(?:[^']|'')*'|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|NULL\Z")


def quote(dialect: sa.Dialect, name: str) -> str:
    """Quote an identifier for SQL run without parameters.

    Args:
        dialect: The dialect.
        name: The identifier.

    Returns:
        The quoted identifier (always quoted; ``%`` kept as is).
    """
    return str(_preparer(dialect).quote_identifier(name))


@functools.lru_cache(maxsize=16)
def _preparer(dialect: sa.Dialect) -> IdentifierPreparer:
    # The dialect's own quoting rules (SQL Server escapes "]", others their
    # quote character), minus the %-doubling meant for bound statements.
    prep = copy.copy(dialect.identifier_preparer)
    prep._double_percents = False
    return prep


def qualified(dialect: sa.Dialect, schema: str | None, name: str) -> str:
    """Quote a table name, with its schema when there is one.

    Args:
        dialect: The dialect.
        schema: Schema name or None.
        name: Table name.

    Returns:
        ``"schema"."name"`` or ``"name"``.
    """
    table = quote(dialect, name)
    return f"{quote(dialect, schema)}.{table}" if schema else table


def type_sql(dialect: sa.Dialect, sql_type: sa.types.TypeEngine[t.Any]) -> str:
    """Compile a column type.

    Args:
        dialect: The dialect.
        sql_type: The type.

    Returns:
        The type as the database names it.
    """
    return str(sql_type.compile(dialect=dialect))


def add_column(dialect: sa.Dialect, table: str, name: str, column_type: str) -> str:
    """``ALTER TABLE ... ADD`` a nullable column.

    Args:
        dialect: The dialect.
        table: The quoted table name.
        name: The new column's name.
        column_type: Its compiled type.

    Returns:
        The statement.
    """
    keyword = "ADD" if dialect.name in ("mssql", "oracle") else "ADD COLUMN"
    return f"ALTER TABLE {table} {keyword} {quote(dialect, name)} {column_type}"


def alter_column(
    dialect: sa.Dialect,
    table: str,
    name: str,
    existing: Existing,
    target: ColumnSpec,
    new_type: str,
) -> list[str]:
    """Statements that change a column's type, keeping what else it has.

    Args:
        dialect: The dialect (not SQLite, which rebuilds the table instead).
        table: The quoted table name.
        name: The column.
        existing: The column as it is.
        target: The kind it widens to.
        new_type: The compiled new type.

    Returns:
        The statements to run, in order.

    Raises:
        UnsupportedChangeError: If the database cannot change the type in place.
    """
    column = quote(dialect, name)
    family = "mysql" if dialect.name == "mariadb" else dialect.name
    if family == "postgresql":
        using = _postgres_using(column, existing.kind, target.kind, new_type)
        return [f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {new_type} {using}"]
    if family == "mysql":
        return _mysql_modify(table, column, existing, target, new_type)
    if family == "mssql":
        null = "NULL" if existing.nullable else "NOT NULL"
        return [f"ALTER TABLE {table} ALTER COLUMN {column} {new_type} {null}"]
    if family == "oracle":
        _check_oracle(name, existing, new_type)
        return [f"ALTER TABLE {table} MODIFY ({column} {new_type})"]
    msg = f"{dialect.name} cannot change column types in place"
    raise UnsupportedChangeError(msg)


def _postgres_using(column: str, old: Kind, new: Kind, new_type: str) -> str:
    if old is Kind.BOOLEAN and new is not Kind.STRING:
        return f"USING {column}::integer"
    if old is Kind.NUMBER and new is Kind.DECIMAL:
        # float8::numeric keeps 15 digits; the text form keeps them all.
        return f"USING {column}::text::numeric"
    return f"USING {column}::{new_type}"


def _mysql_modify(
    table: str, column: str, existing: Existing, target: ColumnSpec, new_type: str
) -> list[str]:
    # MODIFY COLUMN restates the whole column: whatever it does not repeat
    # (NOT NULL, DEFAULT, AUTO_INCREMENT, COMMENT) is dropped.
    parts = [new_type, "NULL" if existing.nullable else "NOT NULL"]
    default = existing.default
    if default is not None and (
        target.kind is existing.kind or _LITERAL_DEFAULT.fullmatch(default)
    ):
        parts.append(f"DEFAULT {default}")
    if existing.autoincrement and target.kind is Kind.INTEGER:
        parts.append("AUTO_INCREMENT")
    if existing.comment:
        parts.append("COMMENT " + _mysql_string(existing.comment))
    statements = [f"ALTER TABLE {table} MODIFY COLUMN {column} {' '.join(parts)}"]
    if existing.kind is Kind.BOOLEAN and target.kind is Kind.STRING:
        # MySQL writes a TINYINT(1) as '1'/'0'; text columns hold booleans as
        # 'true'/'false' (as PostgreSQL casts them and new rows arrive).
        statements.append(
            f"UPDATE {table} SET {column} = CASE {column} WHEN '1' THEN 'true' "
            f"WHEN '0' THEN 'false' ELSE {column} END"
        )
    return statements


def _mysql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _check_oracle(name: str, existing: Existing, new_type: str) -> None:
    upper = new_type.upper()
    if "CLOB" in upper and "CLOB" not in existing.type_sql.upper():
        msg = (
            f"Oracle cannot change column {name!r} from {existing.type_sql} to "
            f"{new_type} in place (ORA-22858); add a new column and copy the "
            "values, or create the table with a text column"
        )
        raise UnsupportedChangeError(msg)
    if "BINARY_DOUBLE" in upper and "BINARY_DOUBLE" not in existing.type_sql.upper():
        msg = (
            f"Oracle cannot change column {name!r} from {existing.type_sql} to "
            f"{new_type} unless the column is empty (ORA-01439); declare the "
            "property as number from the start"
        )
        raise UnsupportedChangeError(msg)
