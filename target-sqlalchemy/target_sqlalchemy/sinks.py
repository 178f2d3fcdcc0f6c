"""The sink: buffers a stream's records as encoded rows and loads them in batches."""

from __future__ import annotations

import contextlib
import datetime
import logging
import time
import typing as t

import sqlalchemy as sa
from singer_sdk.exceptions import InvalidRecord, MissingKeyPropertiesError
from singer_sdk.sinks.core import BaseJSONSchemaValidator
from singer_sdk.sql import SQLSink

from target_sqlalchemy import typemap, values
from target_sqlalchemy.connector import SQLAlchemyConnector, TableInfo
from target_sqlalchemy.errors import (
    BatchLoadError,
    RecordValueError,
    SchemaMappingError,
    TableChangeError,
    database_message,
    redact,
)
from target_sqlalchemy.loaders import Loader, loader_for
from target_sqlalchemy.typemap import ColumnSpec, Kind, column_kind

if t.TYPE_CHECKING:
    from singer_sdk.target_base import Target

logger = logging.getLogger(__name__)

DELETED_AT = "_sdc_deleted_at"
TABLE_VERSION = "_sdc_table_version"
_LAZY_COLUMNS = {
    DELETED_AT: ColumnSpec(DELETED_AT, Kind.DATETIME),
    TABLE_VERSION: ColumnSpec(TABLE_VERSION, Kind.INTEGER),
}

#: Default bound on the raw JSON size of one batch, so memory stays flat.
DEFAULT_BATCH_SIZE_BYTES = 32 * 1024 * 1024


class MissingKeyError(RecordValueError, MissingKeyPropertiesError):
    """A record has no value for one of its stream's key properties."""


class FastJSONSchemaValidator(BaseJSONSchemaValidator):
    """Record validation with a compiled ``fastjsonschema`` validator."""

    def __init__(self, schema: dict[str, t.Any]) -> None:
        """Compile the validator.

        Args:
            schema: The stream's JSON Schema.
        """
        import fastjsonschema  # a cost paid only when validating

        super().__init__(schema)
        self._errors = (fastjsonschema.JsonSchemaValueException,)
        self._validate = fastjsonschema.compile(schema, formats={})

    def validate(self, record: dict[str, t.Any]) -> None:
        """Validate one record.

        Args:
            record: The record.

        Raises:
            InvalidRecord: If the record violates the schema.
        """
        try:
            self._validate(record)
        except self._errors as exc:
            raise InvalidRecord(str(exc), record) from None


class SQLAlchemySink(SQLSink[SQLAlchemyConnector]):
    """Loads one stream into one table, a batch per transaction."""

    connector_class = SQLAlchemyConnector
    soft_delete_column_name = DELETED_AT
    version_column_name = TABLE_VERSION

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict[str, t.Any],
        key_properties: t.Sequence[str] | None,
        connector: SQLAlchemyConnector | None = None,
    ) -> None:
        """Create the sink (the table is prepared in ``setup``).

        Args:
            target: The target.
            stream_name: The stream's name.
            schema: The stream's JSON Schema.
            key_properties: The stream's key properties.
            connector: The shared connector.
        """
        super().__init__(target, stream_name, schema, key_properties, connector)
        self._target = target
        self._stats: dict[str, list[float]] = getattr(target, "load_stats", {})
        self._rows: list[t.Any] = []
        self._by_key: dict[tuple[t.Any, ...], t.Any] = {}
        self._deleted: dict[tuple[t.Any, ...], tuple[t.Any, ...]] = {}
        self.batch_bytes = 0
        self.first_line = 0
        self.last_line = 0
        self.versions_seen: set[int] = set()
        self.records_seen = 0
        self._dupes = 0
        self.add_metadata = self.include_sdc_metadata_properties
        self.track_versions = self.process_activate_version_messages
        self._max_bytes = int(
            self.config.get("batch_size_bytes") or DEFAULT_BATCH_SIZE_BYTES
        )
        self._max_rows = self.max_size

    # Settings

    @property
    def load_method(self) -> str:
        """``upsert``, ``append-only`` or ``overwrite``."""
        return str(self.config.get("load_method") or "upsert")

    @property
    def hard_delete(self) -> bool:
        """Whether deleted rows are removed rather than flagged."""
        return bool(self.config.get("hard_delete", False))

    @property
    def snake_case(self) -> bool:
        """Whether names are converted to snake_case."""
        return bool(self.config.get("snake_case_names", False))

    def conform_name(self, name: str, object_type: str | None = None) -> str:
        """Keep names as they are, unless ``snake_case_names`` is set.

        Args:
            name: A stream or property name.
            object_type: ``table``, ``column`` or ``schema``.

        Returns:
            The database name.
        """
        if self.snake_case:
            return super().conform_name(name, object_type)
        return name

    @property
    def table_name(self) -> str:
        """The stream name as is (or the SDK's snake_case form)."""
        if self.snake_case:
            return super().table_name
        return self.stream_name

    @property
    def schema_name(self) -> str | None:
        """``default_target_schema`` or the database default."""
        if self.snake_case:
            return super().schema_name
        return self.default_target_schema

    # Validation: only when asked for, and compiled.

    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """Return a compiled validator when ``validate_records`` is on.

        Returns:
            The validator, or None.
        """
        if not self.config.get("validate_records", False):
            return None
        return FastJSONSchemaValidator(self.schema)

    def _remove_sdc_metadata_from_schema(self) -> None:
        # Keep metadata columns the tap declares (e.g. _sdc_deleted_at).
        return

    # Setup

    def _specs_from_schema(self) -> list[ColumnSpec]:
        properties: dict[str, t.Any] = self.schema.get("properties") or {}
        keys = set(self.key_properties)
        specs = []
        self._prop_names: list[str] = []
        for prop, prop_schema in properties.items():
            name = self.conform_name(prop, "column")
            kind, max_length, scale = column_kind(prop_schema or {})
            specs.append(ColumnSpec(name, kind, max_length, scale, name in keys))
            self._prop_names.append(prop)
        names = [s.name for s in specs]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            msg = (
                f"stream '{self.stream_name}': properties map to the same column "
                f"name(s) {duplicates}"
            )
            raise SchemaMappingError(msg)
        missing = [k for k in self.key_properties if k not in names]
        if missing:
            msg = (
                f"stream '{self.stream_name}': key properties {missing} are not "
                "in the stream's schema"
            )
            raise SchemaMappingError(msg)
        connector = self.connector
        return typemap.key_specs(connector.dialect_name, specs, connector.key_collation)

    def setup(self) -> None:
        """Create or evolve the table and build the row encoder."""
        connector = self.connector
        connector.check_reachable()
        self._specs = self._specs_from_schema()
        label = f"stream '{self.stream_name}'"
        connector.check_identifier(self.table_name, f"{label}: table")
        for spec in self._specs:
            connector.check_identifier(spec.name, f"{label}: column")
        upsert_keys = [] if self.load_method == "append-only" else self.key_properties
        self._upsert_keys = list(upsert_keys)
        with self._naming_stream():
            self._info: TableInfo = connector.prepare(
                self.schema_name, self.table_name, self._specs, self._upsert_keys
            )
        declared = {spec.name for spec in self._specs}
        for name, spec in _LAZY_COLUMNS.items():
            # Metadata columns the table already has are always written, so a
            # row that comes back after a soft delete loses its _sdc_deleted_at.
            if name in self._info.columns and name not in declared:
                self._specs.append(spec)
                self._prop_names.append(name)
        self._build_encoder()

    @contextlib.contextmanager
    def _naming_stream(self) -> t.Iterator[None]:
        # Table changes fail in the connector, which knows the table and the
        # column but not the stream.
        try:
            yield
        except TableChangeError as exc:
            raise type(exc)(f"stream '{self.stream_name}': {exc}") from None

    def _build_encoder(self) -> None:
        specs = self.connector.loading_specs(self._info, self._specs)
        self._loader: Loader = loader_for(
            self.connector, self._info, specs, self._upsert_keys
        )
        loader = self._loader
        self._columns = [
            (prop, self._key_field(spec, loader.converter(spec)))
            for prop, spec in zip(self._prop_names, specs, strict=True)
        ]
        self._null = loader.null
        self._pack = loader.pack
        names = [s.name for s in specs]
        # Duplicates are found on the converted key fields, the values as the
        # database compares them (1 and "1" are one integer key), not on the
        # raw JSON.
        self._key_index = [names.index(k) for k in self._upsert_keys]
        self._key_props = [self._prop_names[i] for i in self._key_index]
        dialect = self.connector.dialect_name
        # Deleted keys are bound as parameters, so they take the driver's form.
        self._key_converters = [
            values.key_converter(specs[i].kind, dialect) for i in self._key_index
        ]
        self._lazy = {
            name: spec
            for name, spec in _LAZY_COLUMNS.items()
            if name not in {s.name for s in self._specs}
        }
        self._lazy_names = tuple(self._lazy)
        self._hard_delete = self.hard_delete
        driver_error = getattr(
            self.connector._engine.dialect.loaded_dbapi,
            "Error",
            sa.exc.DBAPIError,
        )
        self._load_errors: tuple[type[BaseException], ...] = (
            sa.exc.SQLAlchemyError,
            driver_error,
            OverflowError,
            ValueError,
            TypeError,
        )

    def _key_field(
        self, spec: ColumnSpec, convert: values.Converter
    ) -> values.Converter:
        if not spec.is_key:
            return convert
        if spec.kind is Kind.NUMBER:
            # 1 and 1.0 are one DOUBLE key, so they must be one key field
            # (COPY and MySQL literal rows would write "1" and "1.0").
            return values.whole_numbers_as_int(convert)
        # A key longer than its VARCHAR would fail the whole batch with a
        # database message naming neither stream nor limit: check it here.
        limit = self._info.columns[spec.name].length
        dialect = self.connector.dialect_name
        if spec.kind is not Kind.STRING or limit is None:
            return convert
        if dialect == "sqlite":
            return convert  # SQLite does not enforce VARCHAR lengths
        where = f"key column '{spec.name}' of table {self._info.label}"
        note = ""
        if dialect == "mysql":
            note = (
                f"; MySQL indexes at most {typemap.MYSQL_KEY_BYTES} bytes per key, "
                "shared by its columns (declare maxLength to size them)"
            )
        return values.length_checked(convert, limit, where, note)

    def _add_lazy_column(self, name: str) -> None:
        # A metadata column first seen in a record (not declared by the schema):
        # load what is buffered with the old layout, then add the column.
        self._target.drain_one(self)
        spec = self._lazy[name]
        if spec.name not in self._info.columns:
            with self._naming_stream():
                self.connector.add_column(self._info, spec)
        self._specs.append(spec)
        self._prop_names.append(name)
        self._build_encoder()

    # Records

    def process_record(
        self, record: dict[str, t.Any], context: dict[str, t.Any]
    ) -> None:
        """Encode a record and buffer it, last record per key wins.

        Args:
            record: The record.
            context: Unused stream context.

        Raises:
            RecordValueError: If a value cannot be converted for its column.
            MissingKeyError: If a key property has no value.
        """
        for name in self._lazy_names:
            if record.get(name) is not None:
                self._add_lazy_column(name)
        null = self._null
        try:
            fields = [
                null if (v := record.get(p)) is None else c(v) for p, c in self._columns
            ]
        except (ValueError, TypeError, OverflowError, ArithmeticError) as exc:
            raise self._value_error(record, exc) from None
        self.records_seen += 1
        if not self._key_props:
            self._rows.append(self._pack(fields))
            return
        key = tuple([fields[i] for i in self._key_index])
        if null in key:
            msg = (
                f"stream '{self.stream_name}': record has no value for key "
                f"properties {self._key_props}"
            )
            raise MissingKeyError(msg)
        if key in self._by_key or key in self._deleted:
            self._dupes += 1
        if self._hard_delete and record.get(DELETED_AT) is not None:
            self._by_key.pop(key, None)
            self._deleted[key] = self._bound_key(record)
        else:
            if self._deleted:
                self._deleted.pop(key, None)
            self._by_key[key] = self._pack(fields)

    def _bound_key(self, record: dict[str, t.Any]) -> tuple[t.Any, ...]:
        pairs = zip(self._key_converters, self._key_props, strict=True)
        try:
            return tuple([convert(record[prop]) for convert, prop in pairs])
        except (ValueError, TypeError, OverflowError, ArithmeticError) as exc:
            raise self._value_error(record, exc) from None

    def add(self, record: dict[str, t.Any], line: int, size: int) -> None:
        """Buffer a record read from input line ``line`` of ``size`` characters.

        The target's record path calls this instead of singer-sdk's
        per-record bookkeeping.

        Args:
            record: The record (after stream maps and metadata).
            line: Input line number.
            size: Length of the input line.
        """
        self.process_record(record, {})
        if not self.first_line:
            self.first_line = line
        self.last_line = line
        self.batch_bytes += size
        self._total_records_read += 1
        self._batch_records_read += 1

    def _value_error(
        self, record: dict[str, t.Any], exc: Exception
    ) -> RecordValueError:
        for prop, convert in self._columns:
            value = record.get(prop)
            if value is None:
                continue
            try:
                convert(value)
            except (ValueError, TypeError, OverflowError) as err:
                shown = repr(value)
                shown = shown if len(shown) <= 80 else shown[:77] + "..."
                return RecordValueError(
                    f"stream '{self.stream_name}': property '{prop}' value {shown} "
                    f"is invalid: {err}"
                )
        return RecordValueError(f"stream '{self.stream_name}': {exc}")

    @property
    def is_full(self) -> bool:
        """Full by rows (``batch_size_rows``) or raw size (``batch_size_bytes``)."""
        return self._batch_records_read >= self._max_rows or (
            self.batch_bytes >= self._max_bytes
        )

    # Batches

    def process_batch(self, context: dict[str, t.Any]) -> None:
        """Load the buffered rows in one transaction.

        Args:
            context: Unused batch context.

        Raises:
            BatchLoadError: If the database rejects the batch (rolled back).
        """
        rows = list(self._by_key.values()) if self._key_props else self._rows
        deleted = list(self._deleted.values())
        if self._dupes:
            self.tally_duplicate_merged(self._dupes)
            self._dupes = 0
        self.record_counter_metric.increment(self._batch_records_read)
        self._rows, self._by_key, self._deleted = [], {}, {}
        lines = (self.first_line, self.last_line)
        self.batch_bytes = 0
        self.first_line = 0
        if not rows and not deleted:
            return
        overwrite = self.load_method == "overwrite"
        label = self._info.label
        started = time.perf_counter()
        try:
            with self.connector.begin() as conn:
                if overwrite and label not in self.connector.truncated:
                    self._loader.truncate(conn)
                if deleted:
                    self._loader.delete_keys(conn, deleted)
                self._loader.load(conn, rows)
        except self._load_errors as exc:
            # Raw-cursor paths (COPY, multi-row INSERT) raise the driver's own
            # errors; drivers raise OverflowError/ValueError for values they
            # cannot bind (SQLite and integers beyond 64 bits).
            where = f" (input lines {lines[0]}-{lines[1]})" if lines[0] else ""
            msg = (
                f"stream '{self.stream_name}': table {label} rejected a batch of "
                f"{len(rows) + len(deleted)} rows{where}; the batch was rolled back: "
                f"{database_message(exc)}"
            )
            raise BatchLoadError(redact(msg, self.connector.sqlalchemy_url)) from None
        if overwrite:
            self.connector.truncated.add(label)
        seconds = time.perf_counter() - started
        total = self._stats.setdefault(self.stream_name, [0, 0, 0.0])
        total[0] += len(rows)
        total[1] += len(deleted)
        total[2] += seconds
        logger.info(
            "Loaded batch: stream=%s table=%s rows=%d deleted=%d seconds=%.2f "
            "rows/s=%.0f",
            self.stream_name,
            label,
            len(rows),
            len(deleted),
            seconds,
            (len(rows) + len(deleted)) / seconds if seconds else 0.0,
        )

    def clean_up(self) -> None:
        """Empty the table for ``overwrite`` streams that sent no records."""
        if (
            self.load_method == "overwrite"
            and self._info.label not in self.connector.truncated
        ):
            with self.connector.begin() as conn:
                self._loader.truncate(conn)
            self.connector.truncated.add(self._info.label)
        super().clean_up()

    # ACTIVATE_VERSION

    def _retire_statement(self, table: sa.Table, new_version: int) -> t.Any:
        version = table.c[TABLE_VERSION]
        # Any other version is an older sync: versions are not compared by
        # size, so a clock step back or a change of unit (seconds to
        # milliseconds) cannot keep old rows or delete new ones.
        old = sa.or_(version != new_version, version.is_(None))
        if self.hard_delete:
            return sa.delete(table).where(old)
        deleted_at = table.c[DELETED_AT]
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        return (
            sa.update(table).where(old, deleted_at.is_(None)).values({DELETED_AT: now})
        )

    def activate_version(self, new_version: int) -> None:
        """Remove (or soft-delete) rows not loaded with version ``new_version``.

        Rows with another or no ``_sdc_table_version`` are deleted when
        ``hard_delete`` is on, else get ``_sdc_deleted_at`` set. The target calls
        this at the end of the input, after every record has been committed.

        Args:
            new_version: The version of the completed full sync.
        """
        if self.records_seen and not self.versions_seen:
            logger.warning(
                "Stream %s: ACTIVATE_VERSION %s ignored: its records carried no "
                "version, so old rows cannot be told from new ones",
                self.stream_name,
                new_version,
            )
            return
        info = self._info
        needed = [_LAZY_COLUMNS[TABLE_VERSION]]
        if not self.hard_delete:
            needed.append(_LAZY_COLUMNS[DELETED_AT])
        for spec in needed:
            if spec.name not in info.columns:
                with self._naming_stream():
                    self.connector.add_column(info, spec)
        stmt = self._retire_statement(self.connector.table(info, needed), new_version)
        try:
            with self.connector.begin() as conn:
                count = conn.execute(stmt).rowcount
        except sa.exc.DBAPIError as exc:
            msg = (
                f"stream '{self.stream_name}': ACTIVATE_VERSION {new_version} on "
                f"table {info.label} failed: {database_message(exc)}"
            )
            raise BatchLoadError(redact(msg, self.connector.sqlalchemy_url)) from None
        logger.info(
            "Activated version %s: stream=%s table=%s rows %s=%d",
            new_version,
            self.stream_name,
            info.label,
            "deleted" if self.hard_delete else "soft-deleted",
            count,
        )
