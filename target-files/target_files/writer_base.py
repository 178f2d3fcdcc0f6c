"""What every stream writer does: stage files, count rows, log, publish."""

from __future__ import annotations

import abc
import logging
import time
import typing as t

from target_files.staging import StagedFile

if t.TYPE_CHECKING:
    from pathlib import Path

    from target_files.columns import Column
    from target_files.settings import FileSettings
    from target_files.staging import FinalPaths

logger = logging.getLogger(__name__)

PROGRESS_EVERY_ROWS = 100_000
"""A progress line (rows, rows/s) is logged each time a file gets this many more."""

NAMED_UNKNOWN_FIELDS = 20
"""Record fields outside the schema named one by one in WARNINGs, per stream."""


class OutputFile:
    """One staged file with its row count and timing, for the log lines.

    Attributes:
        staged: The file's temporary and final names.
        rows: Data rows written so far.
    """

    def __init__(self, stream_name: str, final_path: Path, *, overwrite: bool) -> None:
        """Stage the file and log that it is open.

        Args:
            stream_name: The stream, for the log.
            final_path: Where the file ends up.
            overwrite: Whether an existing final file may be replaced.
        """
        self.staged = StagedFile(final_path, overwrite=overwrite)
        self.rows = 0
        self._stream_name = stream_name
        self._opened_at = time.perf_counter()
        self._seconds: float | None = None
        logger.info(
            "Stream '%s': writing %s (moved to %s at the end of input)",
            stream_name,
            self.staged.temp_path,
            final_path,
        )

    def add_row(self) -> None:
        """Count one data row; log progress every :data:`PROGRESS_EVERY_ROWS`."""
        self.rows += 1
        if self.rows % PROGRESS_EVERY_ROWS == 0:
            seconds = time.perf_counter() - self._opened_at
            logger.info(
                "Stream '%s': %d rows written to %s (%.0f rows/s)",
                self._stream_name,
                self.rows,
                self.staged.temp_path,
                self.rows / seconds if seconds > 0 else 0.0,
            )

    def finish_writing(self) -> None:
        """Stop the clock: no more rows go to this file."""
        if self._seconds is None:
            self._seconds = time.perf_counter() - self._opened_at

    def publish(self) -> None:
        """Move the file into place and log rows, seconds and rows/s."""
        self.finish_writing()
        self.staged.publish()
        seconds = self._seconds or 0.0
        logger.info(
            "Stream '%s': finished %s: %d rows in %.2f s (%.0f rows/s)",
            self._stream_name,
            self.staged.final_path,
            self.rows,
            seconds,
            self.rows / seconds if seconds > 0 else 0.0,
        )


class StreamWriter(abc.ABC):
    """Writes one stream's records to its file(s), in constant memory.

    A writer outlives singer-sdk sinks: when a stream's schema changes, the SDK
    makes a new sink, which calls :meth:`start` again on the same writer.
    :meth:`finish` completes the files under their temporary names; the target
    then publishes :attr:`files`, or calls :meth:`discard`.

    Record fields that the schema does not declare are not written: the schema
    is the file's header. They are not dropped silently: the first
    :data:`NAMED_UNKNOWN_FIELDS` distinct names each get a WARNING, and when
    the stream finishes a WARNING counts the values left out.

    Attributes:
        stream_name: The stream (or stream map alias).
        settings: The target's settings.
        columns: The columns of the current schema.
        messages: SCHEMA and RECORD messages handled so far; the target
            compares it with its value at the last STATE to tell whether the
            stream ended cleanly.
    """

    def __init__(
        self, stream_name: str, settings: FileSettings, paths: FinalPaths
    ) -> None:
        """Prepare a writer; files are opened by :meth:`start`.

        Args:
            stream_name: The stream (or stream map alias).
            settings: The target's settings.
            paths: The run's final paths, so no two files share a name.
        """
        self.stream_name = stream_name
        self.settings = settings
        self.columns: list[Column] = []
        self.messages = 0
        self._paths = paths
        self._column_names: frozenset[str] = frozenset()
        self._warned_keys: set[str] = set()
        self._more_unknown_keys = False
        self._dropped_values = 0

    @property
    @abc.abstractmethod
    def files(self) -> list[OutputFile]:
        """Every file of the stream, in the order they were opened."""

    def start(self, columns: list[Column]) -> None:
        """Use a (new) schema: later records are written with these columns.

        Args:
            columns: The columns of the stream's latest schema.
        """
        self.messages += 1
        same_header = [c.name for c in columns] == [c.name for c in self.columns]
        if self.columns and not same_header:
            logger.info(
                "Stream '%s': schema changed (columns now: %s)",
                self.stream_name,
                ", ".join(c.name for c in columns),
            )
        self._use_columns(columns, new_header=not same_header or not self.columns)
        self.columns = list(columns)
        self._column_names = frozenset(c.name for c in columns)

    def write(self, record: t.Mapping[str, t.Any]) -> None:
        """Write one record as one row.

        Args:
            record: The record; keys missing from the schema are not written
                (see the class notes), missing keys are empty cells.
        """
        self.messages += 1
        if not self._column_names.issuperset(record):
            self._note_unknown_keys(record)
        self._write_row(record)

    def _note_unknown_keys(self, record: t.Mapping[str, t.Any]) -> None:
        unknown = record.keys() - self._column_names
        self._dropped_values += len(unknown)
        if self._more_unknown_keys:
            return
        for key in sorted(unknown - self._warned_keys):
            if len(self._warned_keys) < NAMED_UNKNOWN_FIELDS:
                logger.warning(
                    "Stream '%s': record field '%s' is not in the schema; its "
                    "values are not written",
                    self.stream_name,
                    key,
                )
                self._warned_keys.add(key)
            elif not self._more_unknown_keys:
                # Keep memory and the log bounded for records with ever-new keys.
                self._more_unknown_keys = True
                logger.warning(
                    "Stream '%s': more record fields are not in the schema (such "
                    "as '%s'); they are not written and no longer named",
                    self.stream_name,
                    key,
                )

    def _new_file(self, part: int = 1) -> OutputFile:
        path = self.settings.final_path(
            self.stream_name, "" if part == 1 else f"-part{part}"
        )
        self._paths.claim(self.stream_name, path, part)
        return OutputFile(self.stream_name, path, overwrite=self.settings.overwrite)

    def finish(self) -> None:
        """Complete every file under its temporary name; nothing is published."""
        self._finish_files()
        if self._dropped_values:
            logger.warning(
                "Stream '%s': %d values of record fields outside the schema were "
                "not written (fields: %s%s)",
                self.stream_name,
                self._dropped_values,
                ", ".join(sorted(self._warned_keys)),
                " and others" if self._more_unknown_keys else "",
            )

    @abc.abstractmethod
    def _use_columns(self, columns: list[Column], *, new_header: bool) -> None:
        """Switch to new columns; ``new_header`` if the names or order changed."""

    @abc.abstractmethod
    def _write_row(self, record: t.Mapping[str, t.Any]) -> None:
        """Write one record with the current columns."""

    @abc.abstractmethod
    def _finish_files(self) -> None:
        """Close (CSV) or assemble (XLSX) the stream's temporary files."""

    @abc.abstractmethod
    def discard(self) -> None:
        """Close and remove every temporary file; final names stay untouched."""
