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
    from target_files.staging import FinalPaths

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

    def __init__(
        self, stream_name: str, settings: FileSettings, paths: FinalPaths
    ) -> None:
        """Prepare the writer; the first file opens with the first schema.

        Args:
            stream_name: The stream.
            settings: The target's settings.
            paths: The run's final paths, so no two files share a name.
        """
        super().__init__(stream_name, settings, paths)
        self._files: list[OutputFile] = []
        self._handle: t.TextIO | None = None
        self._csv: t.Any = None  # the csv module exposes no writer class
        self._plan: list[tuple[str, Renderer]] = []
        self._warned_null_clash = False

    @property
    def files(self) -> list[OutputFile]:
        """The stream's files: the first one, then one per header change."""
        return self._files

    def _use_columns(self, columns: list[Column], *, new_header: bool) -> None:
        renderers = csv_renderers(
            columns, self.settings.null_value, self._warn_null_clash
        )
        self._plan = list(zip([c.name for c in columns], renderers, strict=True))
        if not new_header:
            return
        self._close_handle()
        output = self._new_file(len(self._files) + 1)
        self._files.append(output)
        settings = self.settings
        try:
            self._handle = open(  # noqa: SIM115 - closed by finish/discard
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
            try:
                handle.close()  # flushes the last buffered rows
            except OSError as exc:
                msg = (
                    f"Stream '{self.stream_name}': cannot finish "
                    f"{self._files[-1].staged.temp_path}: {exc}"
                )
                raise OutputError(msg) from exc
            self._files[-1].finish_writing()

    def _warn_null_clash(self, column: str) -> None:
        if not self._warned_null_clash:
            self._warned_null_clash = True
            logger.warning(
                "Stream '%s': a text value in column '%s' equals setting "
                "null_value %r, so readers will take it for null; choose a "
                "null_value the data does not contain (further cases are not "
                "reported)",
                self.stream_name,
                column,
                self.settings.null_value,
            )

    def _finish_files(self) -> None:
        self._close_handle()

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
