"""Connection, table creation and schema evolution for target-sqlalchemy."""

from __future__ import annotations

import logging
import threading
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from singer_sdk.sql import SQLConnector
from sqlalchemy.schema import CreateColumn

from target_sqlalchemy import typemap
from target_sqlalchemy.errors import (
    DatabaseConnectionError,
    SchemaMappingError,
    database_message,
    redact,
)
from target_sqlalchemy.typemap import ColumnSpec, Kind

logger = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///output/warehouse.db"

_IDENTIFIER_LIMITS = {"mysql": 64, "postgresql": 63}


@dataclass
class TableInfo:
    """What the target knows about a table it loads.

    Attributes:
        schema: Schema (database on MySQL) or None for the default.
        name: Table name.
        columns: Reflected column name -> (kind, string length).
        unique_sets: Column sets backed by a primary key or unique index.
        created: Whether this run created the table.
    """

    schema: str | None
    name: str
    columns: dict[str, tuple[Kind, int | None]] = field(default_factory=dict)
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


def build_table(
    dialect: str,
    schema: str | None,
    name: str,
    specs: t.Sequence[ColumnSpec],
    *,
    primary_key: t.Sequence[str] = (),
    types: dict[str, sa.types.TypeEngine[t.Any]] | None = None,
) -> sa.Table:
    """Build a Table for a dialect, every name quoted, without a connection.

    Args:
        dialect: Dialect family name (``postgresql``, ``mysql``, ``mssql``...).
        schema: Schema name or None.
        name: Table name.
        specs: The columns.
        primary_key: Columns of the primary key, if any.
        types: Optional column types by name; default: the dialect mapping.

    Returns:
        A Table bound to a fresh MetaData.
    """
    types = types or {}
    columns = [
        sa.Column(
            spec.name,
            types.get(spec.name) or typemap.sql_type(dialect, spec),
            quote=True,
            # Keys come from the source: never SERIAL/AUTO_INCREMENT.
            autoincrement=False,
        )
        for spec in specs
    ]
    table = sa.Table(
        name, sa.MetaData(), *columns, schema=schema, quote=True, quote_schema=True
    )
    if primary_key:
        table.append_constraint(
            sa.PrimaryKeyConstraint(*[table.c[k] for k in primary_key])
        )
    return table


class SQLAlchemyConnector(SQLConnector):
    """Connector for any SQLAlchemy URL, with dialect-aware DDL."""

    allow_column_add = True
    allow_column_alter = True
    allow_merge_upsert = True
    allow_overwrite = True
    allow_temp_tables = True

    def __init__(
        self, config: dict[str, t.Any] | None = None, sqlalchemy_url: str | None = None
    ) -> None:
        """Create the connector.

        Args:
            config: The target's settings.
            sqlalchemy_url: Optional URL overriding the setting.
        """
        super().__init__(config=config, sqlalchemy_url=sqlalchemy_url)
        self._ddl_lock = threading.Lock()
        self.truncated: set[str] = set()

    def get_sqlalchemy_url(self, config: dict[str, t.Any]) -> str:
        """Return the configured URL, defaulting to an SQLite file.

        Args:
            config: The target's settings.

        Returns:
            The URL as a string.
        """
        return str(config.get("sqlalchemy_url") or DEFAULT_URL)

    @property
    def redacted_url(self) -> str:
        """The URL with its password hidden, for messages."""
        try:
            return sa.make_url(self.sqlalchemy_url).render_as_string(hide_password=True)
        except sa.exc.ArgumentError:
            return redact(self.sqlalchemy_url)

    def create_engine(self) -> sa.Engine:
        """Create the engine; for SQLite files, create the folder first.

        Returns:
            A new engine.

        Raises:
            DatabaseConnectionError: If the URL cannot be used.
        """
        try:
            url = sa.make_url(self.sqlalchemy_url)
        except sa.exc.ArgumentError as exc:
            msg = f"setting sqlalchemy_url is not a valid SQLAlchemy URL: {exc}"
            raise DatabaseConnectionError(redact(msg, self.sqlalchemy_url)) from None
        if url.get_backend_name() == "sqlite" and url.database not in (
            None,
            "",
            ":memory:",
        ):
            Path(str(url.database)).parent.mkdir(parents=True, exist_ok=True)
        try:
            return sa.create_engine(
                url,
                pool_pre_ping=True,
                json_serializer=self.serialize_json,
                json_deserializer=self.deserialize_json,
            )
        except (ImportError, sa.exc.ArgumentError) as exc:
            msg = f"cannot use database {self.redacted_url}: {exc}"
            raise DatabaseConnectionError(redact(msg, self.sqlalchemy_url)) from None

    @property
    def dialect_name(self) -> str:
        """Dialect family name; MariaDB reports as ``mysql``."""
        name = self._engine.dialect.name
        return "mysql" if name == "mariadb" else name

    def begin(self) -> t.ContextManager[sa.Connection]:
        """Open a connection inside one transaction (commit on success).

        Returns:
            A context manager yielding the connection.
        """
        return self._engine.begin()

    def check_reachable(self) -> None:
        """Connect once so a bad URL fails early with a clear message.

        Raises:
            DatabaseConnectionError: If the database cannot be reached.
        """
        try:
            with self._engine.connect():
                pass
        except sa.exc.DBAPIError as exc:
            msg = (
                f"cannot connect to database {self.redacted_url}: "
                f"{database_message(exc)}"
            )
            raise DatabaseConnectionError(redact(msg, self.sqlalchemy_url)) from None

    def create_schema(self, schema_name: str) -> None:
        """Create a schema (a database on MySQL).

        singer-sdk's version runs DDL on a streaming (server-side cursor)
        connection, which PostgreSQL rejects.

        Args:
            schema_name: The schema to create.
        """
        logger.info("Creating schema %s", schema_name)
        with self.begin() as conn:
            conn.execute(sa.schema.CreateSchema(schema_name))

    # Names

    def check_identifier(self, name: str, what: str) -> None:
        """Reject names the database would refuse or silently truncate.

        Args:
            name: The identifier.
            what: What it names, for the message (e.g. ``column 'x' of stream``).

        Raises:
            SchemaMappingError: If the name is empty or too long.
        """
        if not name:
            msg = f"{what} has an empty name"
            raise SchemaMappingError(msg)
        dialect = self._engine.dialect
        # SQLAlchemy's MySQL dialect reports 255 (its alias limit); tables and
        # columns are limited to 64 characters.
        limit = _IDENTIFIER_LIMITS.get(self.dialect_name, dialect.max_identifier_length)
        # PostgreSQL counts bytes and truncates silently; MySQL counts characters.
        size = len(name.encode()) if self.dialect_name == "postgresql" else len(name)
        if limit and size > limit:
            unit = "bytes" if self.dialect_name == "postgresql" else "characters"
            msg = (
                f"{what} name {name!r} is {size} {unit} long; "
                f"{dialect.name} allows at most {limit}"
            )
            raise SchemaMappingError(msg)

    def table(
        self,
        info: TableInfo | tuple[str | None, str],
        specs: t.Sequence[ColumnSpec],
        types: dict[str, sa.types.TypeEngine[t.Any]] | None = None,
    ) -> sa.Table:
        """Build a Table object for statements (names always quoted).

        Args:
            info: The table (or its schema and name).
            specs: The columns to declare.
            types: Optional column types by name; defaults to the dialect mapping.

        Returns:
            A Table bound to a fresh MetaData.
        """
        schema, name = (info.schema, info.name) if isinstance(info, TableInfo) else info
        return build_table(self.dialect_name, schema, name, specs, types=types)

    def sql_type(self, spec: ColumnSpec) -> sa.types.TypeEngine[t.Any]:
        """Return the SQL type for a column on this database.

        Args:
            spec: The column.

        Returns:
            A SQLAlchemy type.
        """
        return typemap.sql_type(self.dialect_name, spec)

    # Reflection and DDL

    def reflect(self, schema: str | None, name: str) -> TableInfo | None:
        """Read a table's columns and unique keys, or None if it does not exist.

        Args:
            schema: Schema name or None.
            name: Table name.

        Returns:
            The table's description, or None.
        """
        inspector = sa.inspect(self._engine)
        if not inspector.has_table(name, schema=schema):
            return None
        info = TableInfo(schema=schema, name=name)
        for column in inspector.get_columns(name, schema=schema):
            info.columns[column["name"]] = typemap.reflected_kind(column["type"])
        pk = inspector.get_pk_constraint(name, schema=schema)
        if pk and pk.get("constrained_columns"):
            info.unique_sets.append(frozenset(pk["constrained_columns"]))
        for unique in inspector.get_unique_constraints(name, schema=schema):
            info.unique_sets.append(frozenset(unique["column_names"]))
        for index in inspector.get_indexes(name, schema=schema):
            if index.get("unique") and all(index["column_names"]):
                info.unique_sets.append(
                    frozenset(t.cast("list[str]", index["column_names"]))
                )
        return info

    def prepare(
        self,
        schema: str | None,
        name: str,
        specs: t.Sequence[ColumnSpec],
        primary_key: t.Sequence[str],
    ) -> TableInfo:
        """Create the table, or add missing columns and widen existing ones.

        Columns the table has beyond ``specs`` are left alone; nothing is dropped.

        Args:
            schema: Schema name or None.
            name: Table name.
            specs: Columns the stream loads.
            primary_key: Columns of the primary key for a new table.

        Returns:
            The table's description after the changes.
        """
        with self._ddl_lock:
            if schema:
                self.prepare_schema(schema)
            info = self.reflect(schema, name)
            if info is None:
                table = build_table(
                    self.dialect_name, schema, name, specs, primary_key=primary_key
                )
                logger.info("Creating table %s", table.fullname)
                table.create(self._engine)
                info = self.reflect(schema, name)
                assert info is not None  # noqa: S101 - created just above
                info.created = True
                return info
            for spec in specs:
                if spec.name not in info.columns:
                    self.add_column(info, spec)
                else:
                    self._widen(info, spec)
            return info

    def add_column(self, info: TableInfo, spec: ColumnSpec) -> None:
        """Add a nullable column to an existing table.

        Args:
            info: The table.
            spec: The new column.
        """
        column = sa.Column(spec.name, self.sql_type(spec), quote=True)
        clause = CreateColumn(column).compile(dialect=self._engine.dialect)
        table = self._quoted_table(info)
        keyword = {"mssql": "ADD", "oracle": "ADD"}.get(self.dialect_name, "ADD COLUMN")
        ddl = f"ALTER TABLE {table} {keyword} {clause}"
        logger.info("Adding column %s to %s", spec.name, info.label)
        logger.debug("DDL: %s", ddl)
        with self.begin() as conn:
            conn.exec_driver_sql(ddl)
        info.columns[spec.name] = (spec.kind, spec.max_length)

    def _quoted_table(self, info: TableInfo) -> str:
        return str(
            self._engine.dialect.identifier_preparer.format_table(
                sa.Table(
                    info.name,
                    sa.MetaData(),
                    schema=info.schema,
                    quote=True,
                    quote_schema=True,
                )
            )
        )

    def alter_column_ddl(
        self, info: TableInfo, spec: ColumnSpec, *, nullable: bool = True
    ) -> str | None:
        """Return DDL that changes a column's type, or None if unsupported.

        Args:
            info: The table.
            spec: The column with its new kind.
            nullable: Whether the column accepts NULL (MySQL restates it).

        Returns:
            The statement, or None where the dialect cannot alter types (SQLite,
            which stores any value in any column anyway).
        """
        dialect = self._engine.dialect
        prep = dialect.identifier_preparer
        table = self._quoted_table(info)
        column = prep.quote_identifier(spec.name)
        new_type = self.sql_type(spec).compile(dialect=dialect)
        name = self.dialect_name
        if name == "postgresql":
            return (
                f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {new_type} "
                f"USING {column}::{new_type}"
            )
        if name == "mysql":
            null = "NULL" if nullable else "NOT NULL"
            return f"ALTER TABLE {table} MODIFY COLUMN {column} {new_type} {null}"
        if name == "mssql":
            return f"ALTER TABLE {table} ALTER COLUMN {column} {new_type}"
        if name == "oracle":
            return f"ALTER TABLE {table} MODIFY ({column} {new_type})"
        return None

    def _widen(self, info: TableInfo, spec: ColumnSpec) -> None:
        target = typemap.widened(info.columns[spec.name], spec)
        if target is None:
            return
        in_key = any(spec.name in keys for keys in info.unique_sets)
        ddl = self.alter_column_ddl(info, target, nullable=not in_key)
        if ddl is None:
            logger.debug(
                "Column %s of %s keeps its type: %s cannot alter types",
                spec.name,
                info.label,
                self.dialect_name,
            )
            return
        logger.info(
            "Widening column %s of %s to %s",
            spec.name,
            info.label,
            self.sql_type(target).compile(dialect=self._engine.dialect),
        )
        logger.debug("DDL: %s", ddl)
        with self.begin() as conn:
            conn.exec_driver_sql(ddl)
        info.columns[spec.name] = (target.kind, target.max_length)

    def quoted_table(self, info: TableInfo) -> str:
        """The table's fully qualified, quoted name.

        Args:
            info: The table.

        Returns:
            The name as it appears in SQL.
        """
        return self._quoted_table(info)
