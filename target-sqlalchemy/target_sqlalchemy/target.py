"""target-sqlalchemy: the Singer target and its settings."""

from __future__ import annotations

import copy
import difflib
import json
import logging
import sys
import typing as t

from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError, InvalidRecord
from singer_sdk.plugin_base import JSONSchemaValidator
from singer_sdk.sql import SQLTarget

from target_sqlalchemy.connector import DEFAULT_URL
from target_sqlalchemy.errors import (
    InputLineError,
    RecordValueError,
    TargetSQLAlchemyError,
    redact,
)
from target_sqlalchemy.reader import SingerLineReader
from target_sqlalchemy.sinks import TABLE_VERSION, SQLAlchemySink

if t.TYPE_CHECKING:
    from singer_sdk.sinks import Sink

logger = logging.getLogger(__name__)

LOAD_METHODS = ["upsert", "append-only", "overwrite"]


class TargetSQLAlchemy(SQLTarget):
    """Singer target that batch-upserts into any SQLAlchemy database."""

    name = "target-sqlalchemy"
    default_sink_class = SQLAlchemySink
    message_reader_class = SingerLineReader

    config_jsonschema = th.PropertiesList(
        th.Property(
            "sqlalchemy_url",
            th.StringType,
            default=DEFAULT_URL,
            secret=True,
            title="SQLAlchemy URL",
            description=(
                "Database URL, e.g. postgresql+psycopg2://user:pass@host/db, "
                "mysql+pymysql://user:pass@host/db or sqlite:///path/file.db. "
                "The folder of an SQLite file is created. Passwords are redacted "
                "from logs and errors."
            ),
        ),
        th.Property(
            "default_target_schema",
            th.StringType,
            title="Default target schema",
            description=(
                "Schema (database on MySQL) for the tables; created if missing. "
                "Default: the connection's default schema."
            ),
        ),
        th.Property(
            "load_method",
            th.StringType,
            default="upsert",
            allowed_values=LOAD_METHODS,
            title="Load method",
            description=(
                "upsert: insert or update by key properties (streams without keys "
                "append); append-only: insert every record, no primary key; "
                "overwrite: empty each table once per run, then upsert."
            ),
        ),
        th.Property(
            "batch_size_rows",
            th.IntegerType,
            default=10000,
            title="Batch size (rows)",
            description="Maximum records per batch; one batch is one transaction.",
        ),
        th.Property(
            "batch_size_bytes",
            th.IntegerType,
            default=32 * 1024 * 1024,
            title="Batch size (bytes)",
            description=(
                "Maximum raw input bytes per batch, so memory stays flat with "
                "wide records."
            ),
        ),
        th.Property(
            "hard_delete",
            th.BooleanType,
            default=False,
            title="Hard delete",
            description=(
                "Delete rows whose record has _sdc_deleted_at set, and rows an "
                "ACTIVATE_VERSION retires. Off: keep them with _sdc_deleted_at set."
            ),
        ),
        th.Property(
            "add_record_metadata",
            th.BooleanType,
            default=False,
            title="Add record metadata",
            description="Add _sdc_* metadata columns (extracted/received/batched at).",
        ),
        th.Property(
            "validate_records",
            th.BooleanType,
            default=False,
            title="Validate records",
            description=(
                "Validate each record against its stream's JSON Schema (compiled "
                "with fastjsonschema). Off by default for speed."
            ),
        ),
        th.Property(
            "snake_case_names",
            th.BooleanType,
            default=False,
            title="snake_case names",
            description=(
                "Convert table and column names to snake_case. Off: keep the "
                "stream and property names as they are (always quoted)."
            ),
        ),
        th.Property(
            "process_activate_version_messages",
            th.BooleanType,
            default=True,
            title="Process ACTIVATE_VERSION",
            description=(
                "Remove (or soft-delete) rows a completed full-table sync did not "
                "send, tracked in _sdc_table_version."
            ),
        ),
    ).to_dict()

    def __init__(self, **kwargs: t.Any) -> None:
        """Create the target.

        Args:
            **kwargs: Passed to singer-sdk's ``Target``.
        """
        super().__init__(**kwargs)
        #: stream -> [rows loaded, rows deleted, seconds in the database]
        self.load_stats: dict[str, list[float]] = {}
        self._pending_versions: dict[str, int] = {}
        self._emitted_state: str | None = None
        self._records_since_check = 0
        # Drain sinks one after another: singer-sdk's thread pool costs more
        # than it overlaps for a few streams, and SQLite locks the whole file.
        self.max_parallelism = 1

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Validate as singer-sdk does, reject misspelled settings, hide secrets.

        jsonschema messages quote the offending value, which for a mistyped
        ``sqlalchemy_url`` would print its password.

        Args:
            raise_errors: Raise ``ConfigValidationError`` on errors.

        Returns:
            The list of errors.

        Raises:
            ConfigValidationError: If a setting is unknown (with a did-you-mean
                hint) or invalid, and ``raise_errors`` is set.
        """
        self.append_builtin_config(self.config_jsonschema)
        properties = self.config_jsonschema.get("properties", {})
        known = sorted(properties)
        errors = [
            _unknown_setting(key, known) for key in self.config if key not in known
        ]
        if self.config_jsonschema:
            validator = JSONSchemaValidator(self.config_jsonschema)
            for error in validator.iter_errors(self._config):
                where = "".join(f"[{index!r}]" for index in error.path)
                errors.append(f"{error.message} in config{where}")
        secrets = [
            value
            for key, prop in properties.items()
            if prop.get("secret") and (value := self.config.get(key)) is not None
        ]
        errors = [_hide(error, secrets) for error in errors]
        if errors and raise_errors:
            raise ConfigValidationError(
                "Config validation failed", errors=errors, schema=self.config_jsonschema
            )
        return errors

    @property
    def line_number(self) -> int:
        """Number of the input line being processed."""
        return int(getattr(self.message_reader, "line_number", 0))

    # Messages

    def _process_record_message(self, message_dict: dict[str, t.Any]) -> None:
        # A lean version of singer-sdk's record path: no per-record timestamp
        # parsing or Decimal handling (the sink converts per column), no
        # validation unless asked for, and a drain of every sink when one is
        # full so the latest STATE can follow the commit.
        try:
            stream_name = message_dict["stream"]
            record = message_dict["record"]
        except KeyError:
            self._assert_line_requires(message_dict, requires={"stream", "record"})
            raise
        if not isinstance(record, dict):
            msg = (
                f"input line {self.line_number}: stream '{stream_name}': the "
                f"RECORD's record is {_json_kind(record)}, not a JSON object"
            )
            raise InputLineError(msg)
        maps = self.mapper.stream_maps.get(stream_name)
        if maps is None:
            self._assert_sink_exists(stream_name)
            return
        reader = self.message_reader
        line = getattr(reader, "line_number", 0)
        size = getattr(reader, "line_size", 0)
        version = message_dict.get("version")
        for stream_map in maps:
            raw = copy.copy(record) if len(maps) > 1 else record
            transformed = stream_map.transform(raw)
            if transformed is None:
                continue
            sink = self._sinks_active.get(stream_map.stream_alias)
            if sink is None:
                self._assert_sink_exists(stream_map.stream_alias)
                continue
            sink = t.cast("SQLAlchemySink", sink)
            if sink.add_metadata:
                sink._add_sdc_metadata_to_record(transformed, message_dict, {})
            if version is not None and sink.track_versions:
                transformed[TABLE_VERSION] = version
                sink.versions_seen.add(version)
            if sink._validator is not None:
                try:
                    sink._validator.validate(transformed)
                except InvalidRecord as exc:
                    msg = (
                        f"stream '{sink.stream_name}': record violates its schema: "
                        f"{exc.error_message}"
                    )
                    raise RecordValueError(msg) from None
            sink.add(transformed, line, size)
            if sink.is_full:
                self.logger.debug("Sink for '%s' is full; draining", sink.stream_name)
                self.drain_all()
        self._records_since_check += 1
        if self._records_since_check >= 1000:
            self._records_since_check = 0
            self._handle_max_record_age()

    def _process_state_message(self, message_dict: dict[str, t.Any]) -> None:
        super()._process_state_message(message_dict)
        # With nothing buffered, every record before this STATE is committed.
        if self._latest_state and not any(
            s.current_size
            for s in (*self._sinks_to_clear, *self._sinks_active.values())
        ):
            self._write_state_message(copy.deepcopy(self._latest_state))

    def _process_activate_version_message(self, message_dict: dict[str, t.Any]) -> None:
        # Deferred to the end of the input: SDK taps send ACTIVATE_VERSION before
        # a full sync's records, others after; either way the old rows may only
        # go once every record of the new version is committed.
        self._assert_line_requires(message_dict, requires={"stream", "version"})
        stream_name = message_dict["stream"]
        if stream_name not in self.mapper.stream_maps:
            self._assert_sink_exists(stream_name)
        for stream_map in self.mapper.stream_maps[stream_name]:
            sink = self.get_sink(stream_map.stream_alias)
            if not sink.process_activate_version_messages:
                self.logger.warning(
                    "ACTIVATE_VERSION for '%s' ignored: "
                    "process_activate_version_messages is off",
                    stream_map.stream_alias,
                )
                continue
            self._pending_versions[stream_map.stream_alias] = int(
                message_dict["version"]
            )

    def _write_state_message(self, state: dict[str, t.Any]) -> None:
        text = json.dumps(state)
        if text == self._emitted_state:
            return
        self._emitted_state = text
        super()._write_state_message(state)

    def get_sink(
        self,
        stream_name: str,
        *,
        record: dict[str, t.Any] | None = None,
        schema: dict[str, t.Any] | None = None,
        key_properties: t.Sequence[str] | None = None,
    ) -> Sink:
        """Return the stream's sink; a changed schema first loads what is buffered.

        Args:
            stream_name: The stream.
            record: Unused.
            schema: The stream's schema from a SCHEMA message, if any.
            key_properties: The stream's key properties.

        Returns:
            The sink.
        """
        old = self._sinks_active.get(stream_name)
        if old is not None and schema is not None:
            # Load the old sink's rows before the table changes, so records stay
            # in input order across the schema change.
            self.drain_one(old)
        sink = super().get_sink(
            stream_name, record=record, schema=schema, key_properties=key_properties
        )
        if old is not None and sink is not old:
            new = t.cast("SQLAlchemySink", sink)
            previous = t.cast("SQLAlchemySink", old)
            new.records_seen += previous.records_seen
            new.versions_seen |= previous.versions_seen
        return sink

    def process_endofpipe(self) -> None:
        """Load everything, apply pending ACTIVATE_VERSIONs, emit the last STATE."""
        for sink in [*self._sinks_to_clear, *self._sinks_active.values()]:
            self.drain_one(sink)
        for stream_name, version in self._pending_versions.items():
            active = self._sinks_active.get(stream_name)
            if active is not None:
                active.activate_version(version)
        self._pending_versions.clear()
        super().process_endofpipe()
        # Close pooled connections now: an in-process caller (tests, a script
        # looping over runs) would otherwise hold them until exit.
        self.target_connector._engine.dispose()
        for stream_name, (rows, deleted, seconds) in sorted(self.load_stats.items()):
            self.logger.info(
                "Total: stream=%s rows=%d deleted=%d seconds=%.2f rows/s=%.0f",
                stream_name,
                rows,
                deleted,
                seconds,
                (rows + deleted) / seconds if seconds else 0.0,
            )

    # Command line

    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: t.Any = None,
        file_input: t.IO[str] | None = None,
    ) -> None:
        """Run the target; expected failures end with one ERROR line and exit 1.

        Args:
            about: Print metadata and exit.
            about_format: Format of ``--about``.
            config: Configuration input.
            file_input: Input file instead of standard input.
        """
        try:
            super().invoke(
                about=about,
                about_format=about_format,
                config=config,
                file_input=file_input,
            )
        except KeyboardInterrupt:
            raise
        except ConfigValidationError as exc:
            # singer-sdk would log each error and then a bare "Config
            # validation failed" last; the last line must say what is wrong.
            cls.logger.error("%s", describe_config_failure(exc))
            sys.exit(1)
        except Exception as exc:  # any failure ends as one ERROR line
            cls.logger.debug("Failure details", exc_info=True)
            cls.logger.error("%s", describe_failure(exc))
            sys.exit(1)


def _hide(message: str, secrets: list[t.Any]) -> str:
    for secret in secrets:
        parts = secret if isinstance(secret, list) else [secret]
        for text in [repr(secret), *(str(p) for p in parts if p)]:
            message = message.replace(text, "***")
    return redact(message)


def _unknown_setting(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown setting '{key}'{hint}"


def _json_kind(value: t.Any) -> str:
    if isinstance(value, list):
        return "a JSON array"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "a JSON string"
    if isinstance(value, bool):
        return "a JSON boolean"
    return "a JSON number"


def describe_config_failure(exc: ConfigValidationError) -> str:
    """One line listing every invalid setting (secrets already hidden).

    Args:
        exc: The validation error.

    Returns:
        The message for the last line of the log.
    """
    errors = [" ".join(str(e).split()) for e in exc.errors] or [str(exc)]
    details = "; ".join(errors)
    return f"target-sqlalchemy failed: invalid settings: {redact(details)}"


def describe_failure(exc: BaseException) -> str:
    """One line saying what failed and where, with passwords redacted.

    Args:
        exc: The exception that stopped the target.

    Returns:
        The message for the last line of the log.
    """
    text = str(exc).strip() or type(exc).__name__
    text = " ".join(text.split("\n")[0].split())
    if not isinstance(exc, TargetSQLAlchemyError):
        text = f"{type(exc).__name__}: {text}"
    line = getattr(exc, "input_line", None)
    if line is not None and "input line" not in text:
        text = f"{text} (input line {line})"
    return f"target-sqlalchemy failed: {redact(text)}"
