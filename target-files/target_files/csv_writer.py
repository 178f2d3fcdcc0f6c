"""CSV output: one file per stream, a new file part per schema change."""

from __future__ import annotations

import csv
import logging
import typing as t

from target_files.cells import csv_renderers
from target_files.errors import OutputError
from target_files.writer_base import OutputFile, StreamWriter

if t.TYPE_CHECKING:
    from target_files.cells import Renderer
    from target_files.columns import Column
    from target_files.settings import FileSettings

logger = logging.getLogger(__name__)

# Bigger than the default 8 KiB so the disk sees fewer, larger writes.
_BUFFER_BYTES = 1 << 18


class CsvStreamWriter(StreamWriter):
    """Write a stream to ``<name>.csv``, row by row.

    A schema whose column names or order differ from the current header closes
    the current file and opens ``<name>-part2.csv`` (then ``-part3``...) with
    the new header, so every file has one consistent header and no value is
    lost. A schema change that keeps the columns (a new type, say) continues
    in the same file.
    """

    def __init__(self, stream_name: str, settings: FileSettings) -> None:
        """Prepare the writer; the first file opens with the first schema.

        Args:
            stream_name: The stream.
            settings: The target's settings.
        """
        super().__init__(stream_name, settings)
        self._files: list[OutputFile] = []
        self._handle: t.TextIO | None = None
        self._csv: t.Any = None  # the csv module exposes no writer class
        self._plan: list[tuple[str, Renderer]] = []

    def _use_columns(self, columns: list[Column], *, new_header: bool) -> None:
        self._plan = list(
            zip([c.name for c in columns], csv_renderers(columns), strict=True)
        )
        if not new_header:
            return
        self._close_handle()
        suffix = f"-part{len(self._files) + 1}" if self._files else ""
        output = self._new_file(suffix)
        self._files.append(output)
        settings = self.settings
        try:
            self._handle = open(  # noqa: SIM115 - closed by commit/discard
                output.staged.temp_path,
                "w",
                encoding=settings.encoding,
                newline="",
                buffering=_BUFFER_BYTES,
            )
        except OSError as exc:
            msg = (
                f"Stream '{self.stream_name}': cannot create "
                f"{output.staged.temp_path}: {exc}"
            )
            raise OutputError(msg) from exc
        self._csv = csv.writer(
            self._handle, delimiter=settings.delimiter, quoting=settings.quoting
        )
        self._write_fields([c.name for c in columns])

    def _write_row(self, record: t.Mapping[str, t.Any]) -> None:
        get = record.get
        self._write_fields([render(get(name)) for name, render in self._plan])
        self._files[-1].add_row()

    def _write_fields(self, fields: list[t.Any]) -> None:
        try:
            self._csv.writerow(fields)
        except UnicodeEncodeError as exc:
            msg = (
                f"Stream '{self.stream_name}': text {exc.object[exc.start : exc.end]!r}"
                f" cannot be written in encoding {self.settings.encoding!r} "
                "(setting encoding); use utf-8 or utf-8-sig"
            )
            raise OutputError(msg) from exc
        except OSError as exc:
            msg = (
                f"Stream '{self.stream_name}': cannot write "
                f"{self._files[-1].staged.temp_path}: {exc}"
            )
            raise OutputError(msg) from exc

    def _close_handle(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            handle.close()
            self._files[-1].finish_writing()

    def commit(self) -> None:
        """Close the current file and move every part to its final name."""
        self._close_handle()
        for output in self._files:
            output.commit()

    def discard(self) -> None:
        """Close the current file and remove every temporary part."""
        try:
            self._close_handle()
        except OSError as exc:
            logger.debug(
                "Closing %s failed while discarding: %s", self.stream_name, exc
            )
        for output in self._files:
            output.staged.discard()
