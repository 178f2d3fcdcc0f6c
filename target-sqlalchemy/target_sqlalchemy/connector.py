"""Connection, table creation and schema evolution for target-sqlalchemy."""

from __future__ import annotations

import contextlib
import logging
import threading
import typing as t
from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa
from singer_sdk.sql import SQLConnector

from target_sqlalchemy import ddl, evolution, sqlite_rebuild, typemap
from target_sqlalchemy.errors import (
    DatabaseConnectionError,
    SchemaMappingError,
    TableChangeError,
    UnsupportedChangeError,
    database_message,
    redact,
)
from target_sqlalchemy.reflection import TableInfo, reflect_table
from target_sqlalchemy.typemap import ColumnSpec

__all__ = ["DEFAULT_URL", "SQLAlchemyConnector", "TableInfo", "build_table"]

logger = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///output/warehouse.db"

_IDENTIFIER_LIMITS = {"mysql": 64, "postgresql": 63}


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
            url = sa.make_url(self.sqlalchemy_url).render_as_string(hide_password=True)
        except sa.exc.ArgumentError:
            url = self.sqlalchemy_url
        return redact(url, self.sqlalchemy_url)

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
                f"cannot connect to database {self.redacted_url} "
                f"(setting sqlalchemy_url): {database_message(exc)}"
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

    @property
    def key_collation(self) -> str | None:
        """Binary collation for string key columns on MySQL/MariaDB, else None.

        The default collations compare case- and trailing-space-insensitively,
        so keys ``abc``, ``ABC`` and ``abc `` would be one row; PostgreSQL and
        SQLite compare keys exactly. MariaDB: ``utf8mb4_nopad_bin``; MySQL 8:
        ``utf8mb4_0900_bin`` (both NO PAD); older MySQL ``utf8mb4_bin``.
        """
        if self.dialect_name != "mysql":
            return None
        dialect = self._engine.dialect
        if dialect.server_version_info is None:
            with self._engine.connect():
                pass  # the first connection reads the server's version
        if getattr(dialect, "is_mariadb", False):
            return "utf8mb4_nopad_bin"
        if (dialect.server_version_info or (0,)) >= (8, 0, 1):
            return "utf8mb4_0900_bin"
        return "utf8mb4_bin"

    # Reflection and DDL

    def reflect(self, schema: str | None, name: str) -> TableInfo | None:
        """Read a table's columns and unique keys, or None if it does not exist.

        Args:
            schema: Schema name or None.
            name: Table name.

        Returns:
            The table's description.
        """
        return reflect_table(self._engine, self.dialect_name, schema, name)

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

        Raises:
            TableChangeError: If the database refuses a change (the message
                names the table and the column).
        """
        with self._ddl_lock:
            if schema:
                with self._refused(f"schema {schema}", "creating it"):
                    self.prepare_schema(schema)
            info = self.reflect(schema, name)
            if info is None:
                return self._create(schema, name, specs, primary_key)
            for spec in specs:
                if spec.name not in info.columns:
                    self.add_column(info, spec)
                else:
                    self.widen(info, spec)
            return info

    @contextlib.contextmanager
    def _refused(self, where: str, what: str) -> t.Iterator[None]:
        # DDL errors name the table (or schema) and the column changed.
        try:
            yield
        except sa.exc.SQLAlchemyError as exc:
            msg = f"{where}: {what} failed: {database_message(exc)}"
            raise TableChangeError(redact(msg, self.sqlalchemy_url)) from None
        except UnsupportedChangeError as exc:
            msg = f"{where}: {what} is not possible: {exc}"
            raise UnsupportedChangeError(msg) from None

    def _create(
        self,
        schema: str | None,
        name: str,
        specs: t.Sequence[ColumnSpec],
        primary_key: t.Sequence[str],
    ) -> TableInfo:
        table = build_table(
            self.dialect_name, schema, name, specs, primary_key=primary_key
        )
        logger.info("Creating table %s", table.fullname)
        label = f"{schema}.{name}" if schema else name
        with self._refused(f"table {label}", "creating the table"):
            table.create(self._engine)
        info = self.reflect(schema, name)
        if info is None:  # pragma: no cover - created just above
            msg = f"table {label} was created but cannot be read back"
            raise TableChangeError(msg)
        info.created = True
        return info

    def add_column(self, info: TableInfo, spec: ColumnSpec) -> None:
        """Add a nullable column to an existing table.

        Args:
            info: The table.
            spec: The new column.
        """
        dialect = self._engine.dialect
        column_type = ddl.type_sql(dialect, self.sql_type(spec))
        statement = ddl.add_column(
            dialect, self.quoted_table(info), spec.name, column_type
        )
        logger.info("Adding column %s to %s", spec.name, info.label)
        what = f"adding column {spec.name!r} ({column_type})"
        with self._refused(f"table {info.label}", what):
            self._run([statement])
        info.columns[spec.name] = evolution.Existing(spec.kind).holding(
            spec, column_type
        )

    def _run(self, statements: t.Sequence[str]) -> None:
        # Quoted names are not %-escaped (see ddl), so no parameters are
        # passed and the driver leaves % alone.
        with self.begin() as conn:
            for statement in statements:
                logger.debug("DDL: %s", statement)
                conn.exec_driver_sql(
                    statement, execution_options={"no_parameters": True}
                )

    def widen(self, info: TableInfo, spec: ColumnSpec) -> None:
        """Widen a column, if needed, to hold the stream's kind (see evolution).

        Args:
            info: The table.
            spec: The column the stream describes.
        """
        family = self.dialect_name
        existing = info.columns[spec.name]
        joined = evolution.join(existing, spec, family)
        warning = evolution.precision_warning(existing, spec, joined, family)
        if warning:
            logger.warning("Column %s of table %s %s", spec.name, info.label, warning)
        if not evolution.needs_alter(existing, joined, family):
            info.columns[spec.name] = existing.holding(joined, existing.type_sql)
            return
        new_type = self.sql_type(joined)
        new_sql = ddl.type_sql(self._engine.dialect, new_type)
        logger.info(
            "Widening column %s of %s from %s to %s",
            spec.name,
            info.label,
            existing.type_sql,
            new_sql,
        )
        what = f"widening column {spec.name!r} from {existing.type_sql} to {new_sql}"
        with self._refused(f"table {info.label}", what):
            if family == "sqlite":
                with self._engine.connect() as conn:
                    changes = {spec.name: (existing.kind, new_type)}
                    sqlite_rebuild.rebuild(conn, info.schema, info.name, changes)
            else:
                table = self.quoted_table(info)
                alter = ddl.alter_column(
                    self._engine.dialect, table, spec.name, existing, joined, new_sql
                )
                self._run(alter)
        info.columns[spec.name] = existing.holding(joined, new_sql)

    def loading_specs(
        self, info: TableInfo, specs: t.Sequence[ColumnSpec]
    ) -> list[ColumnSpec]:
        """The columns as the loader writes them, after the table was prepared.

        A column wider than the stream's kind takes values in its own form
        (see ``evolution.conversion_kind``).

        Args:
            info: The prepared table.
            specs: The columns the stream describes.

        Returns:
            The specs with each kind replaced by the kind to convert to.
        """
        return [
            replace(
                spec,
                kind=evolution.conversion_kind(info.columns[spec.name].kind, spec.kind),
            )
            for spec in specs
        ]

    def quoted_table(self, info: TableInfo) -> str:
        """The table's fully qualified, quoted name, for SQL run without parameters.

        Args:
            info: The table.

        Returns:
            The name as it appears in SQL.
        """
        return ddl.qualified(self._engine.dialect, info.schema, info.name)
