"""The target's settings: JSON Schema for users, a typed object for the code."""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime
import typing as t
from pathlib import Path

from singer_sdk import typing as th

from target_files.errors import SettingsError
from target_files.naming import CONTROL_CHARS, FileNamer

FORMATS = ("csv", "xlsx")
QUOTE_STYLES: dict[str, t.Literal[0, 1, 2, 3]] = {
    "minimal": csv.QUOTE_MINIMAL,
    "all": csv.QUOTE_ALL,
    "nonnumeric": csv.QUOTE_NONNUMERIC,
}

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "format",
        th.StringType,
        default="csv",
        allowed_values=list(FORMATS),
        title="File format",
        description=(
            "`csv` (text, any size) or `xlsx` (Excel workbook with typed cells; "
            "a stream continues on a new sheet every 1,048,575 rows)."
        ),
    ),
    th.Property(
        "output_path",
        th.StringType,
        default="output",
        title="Output folder",
        description=(
            "Folder the files are written to, one file per stream; created if "
            "missing. Relative paths start at the working directory."
        ),
    ),
    th.Property(
        "file_naming",
        th.StringType,
        default="{stream_name}",
        title="File naming pattern",
        description=(
            "File name without extension. Placeholders: {stream_name}, "
            "{timestamp} (run start, UTC, YYYYMMDDTHHMMSS), {date} (run start, "
            "UTC, YYYY-MM-DD). A '/' makes sub-folders."
        ),
        examples=["{stream_name}", "{stream_name}-{timestamp}", "{date}/{stream_name}"],
    ),
    th.Property(
        "overwrite",
        th.BooleanType,
        default=True,
        title="Overwrite existing files",
        description=(
            "Replace a file that already exists under the final name. When "
            "false, the run fails before writing anything for that stream."
        ),
    ),
    th.Property(
        "delimiter",
        th.StringType(min_length=1, max_length=1),
        default=",",
        title="CSV delimiter",
        description="One character separating CSV fields, e.g. ',', ';' or a tab.",
    ),
    th.Property(
        "quote_style",
        th.StringType,
        default="minimal",
        allowed_values=list(QUOTE_STYLES),
        title="CSV quoting",
        description=(
            "`minimal`: quote only fields that need it; `all`: quote every field; "
            "`nonnumeric`: quote every field that is not an integer or a number."
        ),
    ),
    th.Property(
        "encoding",
        th.StringType,
        default="utf-8",
        title="CSV encoding",
        description=(
            "Text encoding of CSV files (any Python codec name). Use `utf-8-sig` "
            "(UTF-8 with a byte-order mark) for files opened by double-click in "
            "Excel, which otherwise misreads non-ASCII text such as Chinese."
        ),
    ),
    th.Property(
        "null_value",
        th.StringType,
        default="",
        title="CSV null marker",
        description=(
            "Text written for null in CSV files. Empty by default, so null and an "
            "empty string look the same; `\\N` (with quote_style minimal) is "
            "what PostgreSQL's COPY and MySQL's LOAD DATA read as NULL."
        ),
        examples=["", "\\N", "NULL"],
    ),
    th.Property(
        "require_stream_end",
        th.BooleanType,
        default=False,
        title="Publish only streams that ended cleanly",
        description=(
            "Publish a stream's files only if a STATE message, or an "
            "ACTIVATE_VERSION message of the stream, follows its last record, "
            "which shows the tap finished it. Other streams are not published, "
            "no STATE is passed on, and the run fails. Off by default: a tap "
            "that stops mid-stream closes its output like one that finished."
        ),
    ),
    th.Property(
        "validate_records",
        th.BooleanType,
        default=False,
        title="Validate records",
        description=(
            "Check each record against its stream's JSON Schema and fail on the "
            "first mismatch. Off by default: files store any value, and checking "
            "makes the target several times slower."
        ),
    ),
).to_dict()


@dataclasses.dataclass(frozen=True)
class FileSettings:
    """The settings every stream writer needs, checked and converted.

    Attributes:
        format: ``csv`` or ``xlsx``.
        output_path: The output folder.
        namer: Renders ``file_naming`` per stream.
        overwrite: Whether existing final files may be replaced.
        delimiter: CSV field delimiter.
        quoting: A ``csv.QUOTE_*`` constant.
        encoding: CSV text encoding.
        null_value: CSV text for null.
        require_stream_end: Publish only streams whose end the tap marked.
    """

    format: str
    output_path: Path
    namer: FileNamer
    overwrite: bool
    delimiter: str
    quoting: t.Literal[0, 1, 2, 3]
    encoding: str
    null_value: str = ""
    require_stream_end: bool = False

    @property
    def extension(self) -> str:
        """The file extension, with its dot."""
        return f".{self.format}"

    def final_path(self, stream_name: str, suffix: str = "") -> Path:
        """Return where a stream's file ends up.

        Args:
            stream_name: The stream.
            suffix: Appended to the name before the extension (``-part2``).

        Returns:
            The final path of the file.
        """
        stem = self.namer.relative_stem(stream_name)
        return self.output_path / f"{stem}{suffix}{self.extension}"

    @classmethod
    def from_config(
        cls, config: t.Mapping[str, t.Any], started_at: datetime.datetime
    ) -> FileSettings:
        """Build the settings from the target's config, applying defaults.

        Args:
            config: The validated config.
            started_at: When the run started, for ``{timestamp}``.

        Returns:
            The settings.

        Raises:
            SettingsError: A value passes the JSON Schema but cannot be used.
        """
        encoding = _text_encoding(config.get("encoding", "utf-8"))
        output_path = config.get("output_path", "output")
        control = CONTROL_CHARS.search(output_path)
        if control:
            msg = (
                f"Setting output_path {output_path!r} contains the control "
                f"character {control.group()!r}; remove it"
            )
            raise SettingsError(msg)
        delimiter = config.get("delimiter", ",")
        if delimiter in {"\r", "\n", '"'}:
            msg = f"Setting delimiter: {delimiter!r} cannot separate CSV fields"
            raise SettingsError(msg)
        return cls(
            format=config.get("format", "csv"),
            output_path=Path(output_path),
            namer=FileNamer(config.get("file_naming", "{stream_name}"), started_at),
            overwrite=config.get("overwrite", True),
            delimiter=delimiter,
            quoting=QUOTE_STYLES[config.get("quote_style", "minimal")],
            encoding=encoding,
            null_value=config.get("null_value", ""),
            require_stream_end=config.get("require_stream_end", False),
        )


def _text_encoding(encoding: str) -> str:
    """Return ``encoding`` if it turns text into bytes; raise otherwise."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        msg = (
            f"Setting encoding: {encoding!r} is not a known text encoding; use "
            "utf-8, utf-8-sig (for Excel) or another Python codec name such as "
            "gb18030"
        )
        raise SettingsError(msg) from None
    try:
        # codecs.lookup also knows bytes-to-bytes codecs (hex, base64, zlib)
        # and str-to-str ones (rot13), which open() refuses.
        "id".encode(encoding)
    except LookupError:
        msg = (
            f"Setting encoding: {encoding!r} is a codec but not a text encoding "
            "(it does not turn text into bytes); use utf-8, utf-8-sig (for "
            "Excel) or another text encoding such as gb18030"
        )
        raise SettingsError(msg) from None
    return encoding
