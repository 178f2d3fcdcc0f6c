"""What every stream writer does: stage files, count rows, log, commit."""

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

logger = logging.getLogger(__name__)

PROGRESS_EVERY_ROWS = 100_000
"""A progress line (rows, rows/s) is logged each time a file gets this many more."""


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

    def commit(self) -> None:
        """Move the file into place and log rows, seconds and rows/s."""
        self.finish_writing()
        self.staged.commit()
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
    Nothing appears under a final name before :meth:`commit`.
    """

    def __init__(self, stream_name: str, settings: FileSettings) -> None:
        """Prepare a writer; files are opened by :meth:`start`.

        Args:
            stream_name: The stream (or stream map alias).
            settings: The target's settings.
        """
        self.stream_name = stream_name
        self.settings = settings
        self.columns: list[Column] = []
        self._column_names: frozenset[str] = frozenset()
        self._warned_keys: set[str] = set()

    def start(self, columns: list[Column]) -> None:
        """Use a (new) schema: later records are written with these columns.

        Args:
            columns: The columns of the stream's latest schema.
        """
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
            record: The record; keys missing from the schema are dropped (a
                warning names each once), missing keys are empty cells.
        """
        if not self._column_names.issuperset(record):
            self._warn_unknown_keys(record)
        self._write_row(record)

    def _warn_unknown_keys(self, record: t.Mapping[str, t.Any]) -> None:
        for key in record.keys() - self._column_names - self._warned_keys:
            logger.warning(
                "Stream '%s': record field '%s' is not in the schema; not written",
                self.stream_name,
                key,
            )
            self._warned_keys.add(key)

    def _new_file(self, suffix: str = "") -> OutputFile:
        return OutputFile(
            self.stream_name,
            self.settings.final_path(self.stream_name, suffix),
            overwrite=self.settings.overwrite,
        )

    @abc.abstractmethod
    def _use_columns(self, columns: list[Column], *, new_header: bool) -> None:
        """Switch to new columns; ``new_header`` if the names or order changed."""

    @abc.abstractmethod
    def _write_row(self, record: t.Mapping[str, t.Any]) -> None:
        """Write one record with the current columns."""

    @abc.abstractmethod
    def commit(self) -> None:
        """Finish every file of the stream and move each to its final name."""

    @abc.abstractmethod
    def discard(self) -> None:
        """Close and remove every temporary file; final names stay untouched."""
