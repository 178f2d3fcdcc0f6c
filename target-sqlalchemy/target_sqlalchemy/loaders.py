"""Batch loaders: one strategy per dialect for writing a batch in a transaction.

Every loader is given rows already encoded by its own converters (see
``values.py``) and runs inside the caller's transaction, so a batch either
lands whole or not at all.

- PostgreSQL: ``COPY`` (text format) into a temporary staging table, then one
  ``INSERT ... SELECT ... ON CONFLICT DO UPDATE``; plain appends COPY directly.
- MySQL/MariaDB: multi-row ``INSERT ... ON DUPLICATE KEY UPDATE`` statements
  sized below the server's ``max_allowed_packet``.
- SQLite: ``executemany`` of ``INSERT ... ON CONFLICT DO UPDATE``.
- Others (SQL Server, Oracle): a staging table and ``MERGE``.

Tables without a unique constraint on the key columns (e.g. created by a user)
get delete-then-insert by key instead of the native upsert.
"""

from __future__ import annotations

import logging
import typing as t
import uuid

import sqlalchemy as sa

from target_sqlalchemy import ddl, merge, values
from target_sqlalchemy.typemap import ColumnSpec

if t.TYPE_CHECKING:
    from target_sqlalchemy.connector import SQLAlchemyConnector, TableInfo

logger = logging.getLogger(__name__)

Row = t.Any


class Loader:
    """Writes batches of encoded rows into one table.

    Args:
        connector: The connector of the target database.
        info: The table being loaded.
        specs: The loaded columns, in row order.
        keys: Key columns; empty for append-only loads.
    """

    #: Value standing for SQL NULL in an encoded row.
    null: t.Any = None

    def __init__(
        self,
        connector: SQLAlchemyConnector,
        info: TableInfo,
        specs: t.Sequence[ColumnSpec],
        keys: t.Sequence[str],
    ) -> None:
        self.connector = connector
        self.info = info
        self.specs = list(specs)
        self.keys = list(keys)
        self.names = [s.name for s in self.specs]
        self.dialect = connector.dialect_name
        self.table = connector.table(info, self.specs)
        self.native_upsert = bool(self.keys) and info.has_unique(self.keys)
        if self.keys and not self.native_upsert:
            logger.warning(
                "Table %s has no primary key or unique index on %s; "
                "upserting by delete-then-insert",
                info.label,
                ", ".join(self.keys),
            )

    def converter(self, spec: ColumnSpec) -> values.Converter:
        """Return the value converter for a column.

        Args:
            spec: The column.

        Returns:
            A function of one non-null value.
        """
        return values.python_converter(spec.kind, self.dialect)

    def pack(self, fields: list[t.Any]) -> Row:
        """Turn converted fields into a stored row.

        Args:
            fields: One converted value (or ``null``) per column.

        Returns:
            The row as the loader stores it.
        """
        return tuple(fields)

    def load(self, conn: sa.Connection, rows: t.Sequence[Row]) -> None:
        """Upsert (or append, without keys) a batch of rows.

        Args:
            conn: Connection inside the batch's transaction.
            rows: Encoded rows, unique by key when there are keys.
        """
        if not rows:
            return
        if self.keys and not self.native_upsert:
            self.delete_keys(conn, [self.key_of(row) for row in rows])
        self._write(conn, rows, upsert=self.native_upsert)

    def key_of(self, row: Row) -> tuple[t.Any, ...]:
        """Extract the key values of an encoded row.

        Args:
            row: An encoded row.

        Returns:
            The key values, as bound by the driver.
        """
        return tuple(row[self.names.index(k)] for k in self.keys)

    def _write(
        self, conn: sa.Connection, rows: t.Sequence[Row], *, upsert: bool
    ) -> None:
        raise NotImplementedError

    def delete_keys(
        self, conn: sa.Connection, keys: t.Sequence[tuple[t.Any, ...]]
    ) -> None:
        """Delete the rows with the given keys.

        Args:
            conn: Connection inside the batch's transaction.
            keys: Key value tuples (driver-bound values).
        """
        if not keys:
            return
        condition = sa.and_(
            *[self.table.c[k] == sa.bindparam(f"k{i}") for i, k in enumerate(self.keys)]
        )
        conn.execute(
            sa.delete(self.table).where(condition),
            [{f"k{i}": v for i, v in enumerate(key)} for key in keys],
        )

    def truncate(self, conn: sa.Connection) -> None:
        """Remove every row (``overwrite``), inside the batch's transaction.

        Args:
            conn: Connection inside the batch's transaction.
        """
        conn.execute(sa.delete(self.table))


class SQLiteLoader(Loader):
    """SQLite: executemany of one compiled statement."""

    def _write(
        self, conn: sa.Connection, rows: t.Sequence[Row], *, upsert: bool
    ) -> None:
        stmt: t.Any = (
            merge.sqlite_upsert(self.table, self.keys)
            if upsert
            else (sa.insert(self.table))
        )
        compiled = stmt.compile(dialect=conn.dialect)
        order = [self.names.index(name) for name in compiled.positiontup or []]
        if order != list(range(len(self.names))):
            rows = [tuple(row[i] for i in order) for row in rows]
        conn.exec_driver_sql(str(compiled), list(rows))


class MySQLLoader(Loader):
    """MySQL/MariaDB: multi-row INSERT statements below ``max_allowed_packet``.

    The statement text is built here, not compiled by SQLAlchemy: it runs on
    a raw cursor without parameters, so names must be quoted without the
    ``%`` doubling SQLAlchemy applies for pymysql, and the VALUES list is
    placed by construction.
    """

    #: Upper bound for one statement; bigger ones gain nothing measurable.
    max_statement_chars = 2 * 1024 * 1024

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        # Rows are rendered as SQL literal text, unless the fallback upsert
        # needs key values back, or the server treats backslashes literally.
        self.literal = (not self.keys or self.native_upsert) and (
            not self._no_backslash_escapes()
        )
        if self.literal:
            self.null = "NULL"

    def _no_backslash_escapes(self) -> bool:
        with self.connector._engine.connect() as conn:
            mode = conn.exec_driver_sql("SELECT @@SESSION.sql_mode").scalar()
        return "NO_BACKSLASH_ESCAPES" in str(mode or "").upper()

    def converter(self, spec: ColumnSpec) -> values.Converter:
        """Return the literal converter (or the driver-value one).

        Args:
            spec: The column.

        Returns:
            A function of one non-null value.
        """
        if self.literal:
            return values.mysql_literal_converter(spec.kind)
        return super().converter(spec)

    def pack(self, fields: list[t.Any]) -> Row:
        """Render a row as ``(v1,v2,...)`` literal text, or keep the tuple.

        Args:
            fields: Converted fields.

        Returns:
            The row.
        """
        if self.literal:
            return "(" + ",".join(fields) + ")"
        return tuple(fields)

    def _statement_limit(self, conn: sa.Connection) -> int:
        packet = conn.exec_driver_sql("SELECT @@max_allowed_packet").scalar()
        client = getattr(conn.connection.dbapi_connection, "max_allowed_packet", None)
        limit = min(int(packet or 1 << 20), int(client or 1 << 24))
        # Characters can take 4 bytes in utf8mb4; keep headroom for the protocol.
        return max(16 * 1024, min(self.max_statement_chars, (limit - 1024) // 4))

    def _write(
        self, conn: sa.Connection, rows: t.Sequence[Row], *, upsert: bool
    ) -> None:
        head, tail = merge.mysql_insert_text(
            conn.dialect,
            self.info.schema,
            self.info.name,
            self.names,
            self.keys if upsert else (),
        )
        dbapi = conn.connection.dbapi_connection
        escape = (lambda row: row) if self.literal else dbapi.escape  # type: ignore[union-attr]
        limit = self._statement_limit(conn)
        cursor = dbapi.cursor()  # type: ignore[union-attr]
        try:
            parts: list[str] = []
            size = len(head) + len(tail)
            for row in rows:
                text = escape(row)
                if parts and size + len(text) + 1 > limit:
                    cursor.execute(head + ",".join(parts) + tail)
                    parts, size = [], len(head) + len(tail)
                parts.append(text)
                size += len(text) + 1
            if parts:
                cursor.execute(head + ",".join(parts) + tail)
        finally:
            cursor.close()


class PostgresLoader(Loader):
    """PostgreSQL: COPY into a temporary staging table, then one upsert."""

    null = "\\N"

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._stage_name = f"_stage_{uuid.uuid4().hex[:12]}"
        dialect = self.connector._engine.dialect
        self._columns = ", ".join(ddl.quote(dialect, n) for n in self.names)
        stage = self.connector.table((None, self._stage_name), self.specs)
        # Built once: the same statement object every batch keeps SQLAlchemy's
        # compiled cache from growing.
        self._upsert = (
            merge.postgres_upsert_from(self.table, stage, self.keys)
            if self.native_upsert
            else None
        )
        match = sa.and_(*[self.table.c[k] == stage.c[k] for k in self.keys])
        self._delete_matching = sa.delete(self.table).where(match)
        self._insert_all = sa.insert(self.table).from_select(
            self.names, sa.select(*stage.columns)
        )

    def converter(self, spec: ColumnSpec) -> values.Converter:
        """Return the COPY text-format converter for a column.

        Args:
            spec: The column.

        Returns:
            A function of one non-null value returning the escaped field.
        """
        return values.copy_converter(spec.kind)

    def pack(self, fields: list[t.Any]) -> Row:
        """Join fields into one line of COPY text format.

        Args:
            fields: Escaped fields, the null marker for NULL.

        Returns:
            The line, newline-terminated.
        """
        return "\t".join(fields) + "\n"

    def _copy(self, conn: sa.Connection, table: str, rows: t.Sequence[Row]) -> None:
        # COPY takes no parameters: names are quoted without %-doubling (ddl).
        statement = f"COPY {table} ({self._columns}) FROM STDIN"
        logger.debug("SQL: %s", statement)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.copy_expert(statement, _LineStream(rows), size=1 << 16)
        finally:
            cursor.close()

    def load(self, conn: sa.Connection, rows: t.Sequence[Row]) -> None:
        """COPY the batch, through a staging table when upserting.

        Args:
            conn: Connection inside the batch's transaction.
            rows: COPY text lines, unique by key when there are keys.
        """
        if not rows:
            return
        table = self.connector.quoted_table(self.info)
        if not self.keys:
            self._copy(conn, table, rows)
            return
        stage = ddl.quote(conn.dialect, self._stage_name)
        conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS "
            f"SELECT {self._columns} FROM {table} WITH NO DATA",
            execution_options={"no_parameters": True},
        )
        self._copy(conn, stage, rows)
        if self._upsert is not None:
            conn.execute(self._upsert)
            return
        conn.execute(self._delete_matching)
        conn.execute(self._insert_all)


class _LineStream:
    """A file-like view of a list of COPY lines, read in chunks.

    Joining a whole batch into one string (and copying it into a StringIO)
    costs two batch-sized allocations; streaming keeps memory flat.
    """

    def __init__(self, lines: t.Sequence[str]) -> None:
        self._lines = iter(lines)
        self._pending = ""

    def read(self, size: int = -1) -> str:
        if size < 0:
            return self._pending + "".join(self._lines)
        parts = [self._pending]
        have = len(self._pending)
        for line in self._lines:
            parts.append(line)
            have += len(line)
            if have >= size:
                break
        text = "".join(parts)
        self._pending = text[size:]
        return text[:size]

    def readline(self, size: int = -1) -> str:  # pragma: no cover - unused by COPY
        return self.read(size)


class MergeLoader(Loader):
    """SQL Server, Oracle and others: a staging table and ``MERGE``.

    Compiled and tested without a live server; see the README.
    """

    def staging_table(self) -> sa.Table:
        """The staging table's definition (same columns, no constraints).

        Returns:
            A Table named ``_stage_<random>`` in the target's schema.
        """
        name = f"_stage_{uuid.uuid4().hex[:12]}"
        types = {c.name: c.type for c in self.table.columns}
        return self.connector.table((self.info.schema, name), self.specs, types)

    def _write(
        self, conn: sa.Connection, rows: t.Sequence[Row], *, upsert: bool
    ) -> None:
        params = [dict(zip(self.names, row, strict=True)) for row in rows]
        if not upsert:
            conn.execute(sa.insert(self.table), params)
            return
        stage = self.staging_table()
        stage.create(conn)
        try:
            conn.execute(sa.insert(stage), params)
            conn.execute(merge.Merge(self.table, stage, self.keys))
        finally:
            stage.drop(conn)


#: Loader per dialect family; any other dialect gets ``MergeLoader``.
LOADERS: dict[str, type[Loader]] = {
    "postgresql": PostgresLoader,
    "mysql": MySQLLoader,
    "sqlite": SQLiteLoader,
}


def loader_for(
    connector: SQLAlchemyConnector,
    info: TableInfo,
    specs: t.Sequence[ColumnSpec],
    keys: t.Sequence[str],
) -> Loader:
    """Pick the loader for the connector's dialect.

    Args:
        connector: The connector.
        info: The table to load.
        specs: Loaded columns, in row order.
        keys: Key columns, empty for append.

    Returns:
        A loader instance.
    """
    cls = LOADERS.get(connector.dialect_name, MergeLoader)
    return cls(connector, info, specs, keys)
