"""XLSX output: one workbook per stream, typed cells, constant memory.

Cells are typed by the Python type of each value, with the column's schema
``format`` deciding whether a string is a date:

- integers are numbers, except those Excel cannot hold exactly (15 significant
  digits: ``abs(n) >= 10**15``), which are written as text;
- floats are numbers, stored with every digit ``repr`` gives, so they read
  back exactly (Excel displays 15 digits); NaN and infinities are text;
- booleans are Excel booleans; ``null`` is an empty cell;
- ``date-time`` strings (``YYYY-MM-DD[T ]HH:MM[:SS[.f]][Z|±HH:MM]`` or a
  date alone, see :func:`target_files.cells.parse_datetime`) become Excel
  date-times shown as ``yyyy-mm-dd hh:mm:ss`` (time-zone aware values are
  converted to UTC, since Excel has no time zones), ``date`` strings
  (``YYYY-MM-DD``) dates shown as ``yyyy-mm-dd``; strings that do not parse,
  and dates before 1900, stay text;
- objects and arrays are JSON text, other strings are text (never formulas).

xlsxwriter's ``constant_memory`` mode writes each row to a temporary file as
soon as the next row starts, so memory stays flat; the price is that rows must
be written in order and finished rows cannot change.
"""

from __future__ import annotations

import datetime
import logging
import math
import shutil
import tempfile
import typing as t

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from target_files.cells import json_text, parse_date, parse_datetime
from target_files.columns import Column, Kind
from target_files.errors import OutputError
from target_files.naming import sheet_name
from target_files.writer_base import OutputFile, StreamWriter

if t.TYPE_CHECKING:
    from xlsxwriter.format import Format

    from target_files.settings import FileSettings
    from target_files.staging import FinalPaths

logger = logging.getLogger(__name__)

SHEET_DATA_ROW_LIMIT = 1_048_575
"""Data rows per sheet: Excel's 1,048,576 rows minus the header row."""

EXACT_INTEGER_LIMIT = 10**15
"""Excel keeps 15 significant digits; integers this large or larger are text."""

MAX_COLUMNS = 16_384
"""Excel's column limit."""

_MAX_TEXT = 32_767  # characters per cell, Excel's limit
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
_DATE_FORMAT = "yyyy-mm-dd"
_TIME_FORMAT = "hh:mm:ss"
# Wide enough for "yyyy-mm-dd hh:mm:ss"; Excel shows "####" when it is not.
_DATETIME_WIDTH = 19
_DATE_WIDTH = 11
# Short, so the folder name fits whatever the length of the stream name.
_TMPDIR_PREFIX = ".target-files-"

CellWriter = t.Callable[[int, int, t.Any], None]


class ExactNumberWorksheet(Worksheet):
    """A worksheet that stores floats exactly.

    xlsxwriter writes numbers with 16 significant digits (``%.16G``), which
    changes floats that need 17, such as 0.30000000000000004. ``repr`` gives
    the shortest text that reads back as the same float.
    """

    def _xml_number_element(
        self,
        number: float,
        attributes: t.Sequence[tuple[str, t.Any]] = (),
    ) -> None:
        # Overrides xlsxwriter's inner-loop writer (private, pinned <4; the
        # tests check the round-trip). Same markup, more digits.
        attrs = "".join(
            f' {key}="{self._escape_attributes(value)}"' for key, value in attributes
        )
        self.fh.write(f"<c{attrs}><v>{number!r}</v></c>")


class XlsxStreamWriter(StreamWriter):
    """Write a stream to ``<name>.xlsx``, one sheet after another.

    The first sheet is named after the stream. A new sheet (``<stream>_2``,
    ``<stream>_3``...) starts, with the header repeated, when a sheet holds
    :data:`SHEET_DATA_ROW_LIMIT` data rows, and when a schema change alters
    the column names or order (constant-memory mode cannot rewrite a header
    that is already written).
    """

    def __init__(
        self, stream_name: str, settings: FileSettings, paths: FinalPaths
    ) -> None:
        """Prepare the writer; the workbook opens with the first schema.

        Args:
            stream_name: The stream.
            settings: The target's settings.
            paths: The run's final paths, so no two files share a name.
        """
        super().__init__(stream_name, settings, paths)
        self._output: OutputFile | None = None
        self._workbook: xlsxwriter.Workbook | None = None
        self._tmpdir: str | None = None
        self._sheet: Worksheet | None = None
        self._sheet_rows = 0
        self._plan: list[tuple[int, str, CellWriter]] = []
        self._formats: dict[str, Format] = {}
        self._warned_truncation = False

    @property
    def files(self) -> list[OutputFile]:
        """The stream's workbook, once its first sheet has started."""
        return [] if self._output is None else [self._output]

    # Workbook and sheets

    def _open_workbook(self) -> xlsxwriter.Workbook:
        output = self._new_file()
        folder = output.staged.temp_path.parent
        # Keep xlsxwriter's per-sheet row files beside the output rather than in
        # /tmp, which may be a RAM-backed tmpfs; one folder per workbook so a
        # failed run can remove them all.
        try:
            self._tmpdir = tempfile.mkdtemp(
                prefix=_TMPDIR_PREFIX, suffix=".tmp", dir=folder
            )
        except OSError as exc:
            msg = (
                f"Stream '{self.stream_name}': cannot create a temporary folder "
                f"in {folder} for the sheets of {output.staged.final_path.name}: "
                f"{exc}"
            )
            raise OutputError(msg) from exc
        logger.debug(
            "Stream '%s': sheet row files go to %s", self.stream_name, self._tmpdir
        )
        workbook = xlsxwriter.Workbook(
            str(output.staged.temp_path),
            {
                "constant_memory": True,
                "tmpdir": self._tmpdir,
                # Python's zipfile adds ZIP64 records only when a part needs them.
                "use_zip64": True,
            },
        )
        self._formats = {
            "header": workbook.add_format({"bold": True}),
            "datetime": workbook.add_format({"num_format": _DATETIME_FORMAT}),
            "date": workbook.add_format({"num_format": _DATE_FORMAT}),
            "time": workbook.add_format({"num_format": _TIME_FORMAT}),
        }
        self._output = output
        self._workbook = workbook
        return workbook

    def _new_sheet(self) -> None:
        workbook = self._workbook or self._open_workbook()
        used = [existing.name for existing in workbook.worksheets()]
        name = sheet_name(self.stream_name, len(used) + 1, used)
        sheet = workbook.add_worksheet(name, worksheet_class=ExactNumberWorksheet)
        sheet.freeze_panes(1, 0)
        for index, column in enumerate(self.columns):
            if column.kind is Kind.DATETIME:
                sheet.set_column(index, index, _DATETIME_WIDTH)
            elif column.kind is Kind.DATE:
                sheet.set_column(index, index, _DATE_WIDTH)
        header = self._formats["header"]
        for index, column in enumerate(self.columns):
            sheet.write_string(0, index, column.name, header)
        self._sheet = sheet
        self._sheet_rows = 0
        logger.debug("Stream '%s': started sheet '%s'", self.stream_name, name)

    def _use_columns(self, columns: list[Column], *, new_header: bool) -> None:
        if len(columns) > MAX_COLUMNS:
            msg = (
                f"Stream '{self.stream_name}' has {len(columns)} properties; an "
                f"Excel sheet holds at most {MAX_COLUMNS} columns (use format csv)"
            )
            raise OutputError(msg)
        # The base class sets self.columns after this call; sheets need it now.
        self.columns = list(columns)
        self._plan = [
            (index, column.name, self._cell_writer(column.kind))
            for index, column in enumerate(columns)
        ]
        if new_header:
            self._new_sheet()

    # Rows and cells

    def _write_row(self, record: t.Mapping[str, t.Any]) -> None:
        if self._sheet_rows >= SHEET_DATA_ROW_LIMIT:
            self._new_sheet()
        self._sheet_rows += 1
        row = self._sheet_rows
        get = record.get
        for index, name, write in self._plan:
            value = get(name)
            if value is not None:
                write(row, index, value)
        if self._output is not None:
            self._output.add_row()

    def _cell_writer(self, kind: Kind) -> CellWriter:
        if kind is Kind.DATETIME:
            return self._write_datetime_value
        if kind is Kind.DATE:
            return self._write_date_value
        return self._write_value

    def _write_value(self, row: int, col: int, value: t.Any) -> None:
        sheet = t.cast("Worksheet", self._sheet)
        cls = type(value)
        if cls is str:
            self._write_text(row, col, value)
        elif cls is int:
            if -EXACT_INTEGER_LIMIT < value < EXACT_INTEGER_LIMIT:
                sheet.write_number(row, col, value)
            else:
                self._write_text(row, col, str(value))
        elif cls is float:
            if math.isfinite(value):
                sheet.write_number(row, col, value)
            else:
                self._write_text(row, col, repr(value))
        elif cls is bool:
            sheet.write_boolean(row, col, value)
        elif isinstance(value, (dict, list, tuple)):
            self._write_text(row, col, json_text(value))
        elif isinstance(value, datetime.datetime):
            self._write_datetime(row, col, value)
        elif isinstance(value, datetime.date):
            self._write_date(row, col, value)
        elif isinstance(value, datetime.time) and value.tzinfo is None:
            sheet.write_datetime(row, col, value, self._formats["time"])
        else:
            self._write_text(row, col, str(value))

    def _write_datetime_value(self, row: int, col: int, value: t.Any) -> None:
        if type(value) is str:
            parsed = parse_datetime(value)
            if parsed is not None:
                self._write_datetime(row, col, parsed)
                return
        self._write_value(row, col, value)

    def _write_date_value(self, row: int, col: int, value: t.Any) -> None:
        if type(value) is str:
            parsed = parse_date(value)
            if parsed is not None:
                self._write_date(row, col, parsed)
                return
        self._write_value(row, col, value)

    def _write_datetime(self, row: int, col: int, value: datetime.datetime) -> None:
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        if value.year < 1900:  # Excel's calendar starts in 1900
            self._write_text(row, col, value.isoformat())
            return
        t.cast("Worksheet", self._sheet).write_datetime(
            row, col, value, self._formats["datetime"]
        )

    def _write_date(self, row: int, col: int, value: datetime.date) -> None:
        if value.year < 1900:
            self._write_text(row, col, value.isoformat())
            return
        t.cast("Worksheet", self._sheet).write_datetime(
            row, col, value, self._formats["date"]
        )

    def _write_text(self, row: int, col: int, text: str) -> None:
        result = t.cast("Worksheet", self._sheet).write_string(row, col, text)
        if result == -2 and not self._warned_truncation:
            self._warned_truncation = True
            logger.warning(
                "Stream '%s': a value in column '%s' is longer than Excel's %d "
                "characters per cell and was truncated (use format csv to keep "
                "it whole); further truncations are not reported",
                self.stream_name,
                self.columns[col].name,
                _MAX_TEXT,
            )

    # End of stream

    def _finish_files(self) -> None:
        """Assemble the workbook under its temporary name."""
        if self._workbook is None or self._output is None:
            return
        self._output.finish_writing()
        workbook, self._workbook = self._workbook, None
        try:
            workbook.close()
        except Exception as exc:  # xlsxwriter wraps OSError in its own types
            msg = (
                f"Stream '{self.stream_name}': cannot assemble "
                f"{self._output.staged.temp_path}: {exc}"
            )
            raise OutputError(msg) from exc
        finally:
            self._remove_tmpdir()

    def discard(self) -> None:
        """Drop the workbook unassembled and remove its temporary files."""
        if self._workbook is not None:
            for sheet in self._workbook.worksheets():
                # Public close() would first assemble the whole workbook; only
                # the per-sheet row files need closing. Private, hence getattr.
                close_row_file = getattr(sheet, "_opt_close", None)
                if close_row_file is not None:
                    close_row_file()
        self._remove_tmpdir()
        if self._output is not None:
            self._output.staged.discard()
        self._workbook = None

    def _remove_tmpdir(self) -> None:
        if self._tmpdir is not None:
            tmpdir, self._tmpdir = self._tmpdir, None
            try:
                shutil.rmtree(tmpdir)
            except OSError as exc:
                # Cleaning up, maybe after another failure: report, go on.
                logger.warning("Cannot remove temporary folder %s: %s", tmpdir, exc)
