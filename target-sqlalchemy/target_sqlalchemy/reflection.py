"""Read what a table the target loads already has: columns, keys, JSON columns."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

import sqlalchemy as sa

from target_sqlalchemy import evolution

if t.TYPE_CHECKING:
    from target_sqlalchemy.evolution import Existing


@dataclass
class TableInfo:
    """What the target knows about a table it loads.

    Attributes:
        schema: Schema (database on MySQL) or None for the default.
        name: Table name.
        columns: Column name -> what the column is in the database.
        unique_sets: Column sets backed by a primary key or unique index.
        created: Whether this run created the table.
    """

    schema: str | None
    name: str
    columns: dict[str, Existing] = field(default_factory=dict)
    unique_sets: list[frozenset[str]] = field(default_factory=list)
    created: bool = False

    def has_unique(self, keys: t.Sequence[str]) -> bool:
        """Whether a unique constraint covers exactly these key columns.

        Args:
            keys: Key column names.

        Returns:
            True when an upsert can target the keys with ON CONFLICT.
        """
        return frozenset(keys) in self.unique_sets

    @property
    def label(self) -> str:
        """Human-readable ``schema.table`` for messages."""
        return f"{self.schema}.{self.name}" if self.schema else self.name


def _mysql_name(name: str) -> str:
    # SQLAlchemy's MySQL reflection parses SHOW CREATE TABLE and returns a
    # name with a backtick as the quoted form, backtick doubled.
    return name.replace("``", "`")


def reflect_table(
    engine: sa.Engine, family: str, schema: str | None, name: str
) -> TableInfo | None:
    """Read a table's columns and unique keys, or None if it does not exist.

    Args:
        engine: The database.
        family: Dialect family name (``mysql`` for MariaDB too).
        schema: Schema name or None.
        name: Table name.

    Returns:
        The table's description, or None.
    """
    inspector = sa.inspect(engine)
    if not inspector.has_table(name, schema=schema):
        return None
    fix = _mysql_name if family == "mysql" else str
    json_columns = _mariadb_json_columns(engine, schema, name)
    info = TableInfo(schema=schema, name=name)
    for column in inspector.get_columns(name, schema=schema):
        column_name = fix(column["name"])
        info.columns[column_name] = evolution.classify(
            column, engine.dialect, is_json=column_name in json_columns
        )
    sets: list[t.Sequence[str | None]] = []
    pk = inspector.get_pk_constraint(name, schema=schema)
    if pk and pk.get("constrained_columns"):
        sets.append(list(pk["constrained_columns"]))
    sets.extend(
        u["column_names"] for u in inspector.get_unique_constraints(name, schema)
    )
    sets.extend(
        i["column_names"]
        for i in inspector.get_indexes(name, schema=schema)
        if i.get("unique")
    )
    for names in sets:
        if names and all(names):
            info.unique_sets.append(frozenset(fix(str(n)) for n in names))
    return info


def _mariadb_json_columns(engine: sa.Engine, schema: str | None, name: str) -> set[str]:
    # MariaDB's JSON is LONGTEXT with a json_valid() check, and reflection
    # reports plain LONGTEXT. A text value in it fails the check, so the
    # target must know the column holds JSON.
    if not getattr(engine.dialect, "is_mariadb", False):
        return set()
    query = sa.text(
        "SELECT CONSTRAINT_NAME, CHECK_CLAUSE "
        "FROM information_schema.CHECK_CONSTRAINTS "
        "WHERE CONSTRAINT_SCHEMA = COALESCE(:schema, DATABASE()) "
        "AND TABLE_NAME = :name"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {"schema": schema, "name": name}).all()
    found = set()
    for column, clause in rows:
        quoted = "`" + str(column).replace("`", "``") + "`"
        if str(clause).strip().lower() == f"json_valid({quoted})".lower():
            found.add(str(column))
    return found
