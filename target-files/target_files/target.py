"""target-files: a Singer target writing CSV or XLSX files in constant memory."""

from __future__ import annotations

import datetime
import signal
import sys
import typing as t

from singer_sdk import Target
from singer_sdk.exceptions import (
    InvalidRecord,
    MissingKeyPropertiesError,
    RecordsWithoutSchemaException,
)
from singer_sdk.singerlib.exceptions import InvalidInputLine

from target_files.csv_writer import CsvStreamWriter
from target_files.errors import SettingsError, TargetFilesError
from target_files.reader import ExactSingerReader
from target_files.settings import CONFIG_SCHEMA, FileSettings
from target_files.sinks import FileSink
from target_files.xlsx_writer import XlsxStreamWriter

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from types import FrameType

    from target_files.writer_base import StreamWriter

# Failures caused by the input or the settings: reported in one line, no
# traceback, exit code 1.
EXPECTED_ERRORS: tuple[type[Exception], ...] = (
    TargetFilesError,
    InvalidInputLine,
    RecordsWithoutSchemaException,
    MissingKeyPropertiesError,
    InvalidRecord,
)

_WRITERS: dict[str, type[StreamWriter]] = {
    "csv": CsvStreamWriter,
    "xlsx": XlsxStreamWriter,
}


class TargetFiles(Target):
    """Write each stream to a CSV or XLSX file, row by row.

    Files are written under hidden ``.<name>.part`` names and renamed when the
    input ends successfully; on any failure they are removed, so a file under
    its final name is always complete. STATE messages are passed on only after
    the files holding the records before them are in place.
    """

    name = "target-files"
    config_jsonschema = CONFIG_SCHEMA
    default_sink_class = FileSink
    message_reader_class = ExactSingerReader

    def __init__(self, **kwargs: t.Any) -> None:
        """Create the target and check the settings.

        Args:
            **kwargs: Passed to singer-sdk's ``Target``.
        """
        super().__init__(**kwargs)
        self.settings = FileSettings.from_config(
            self.config, datetime.datetime.now(datetime.timezone.utc)
        )
        self._writers: dict[str, StreamWriter] = {}
        self._pending_state: dict[str, t.Any] | None = None

    def stream_writer(self, stream_name: str) -> StreamWriter:
        """Return the writer of a stream, creating it on first use.

        Args:
            stream_name: The stream (or stream map alias).

        Returns:
            The writer, shared by every sink of the stream.
        """
        writer = self._writers.get(stream_name)
        if writer is None:
            self._check_unique_file(stream_name)
            writer_class = _WRITERS[self.settings.format]
            writer = self._writers[stream_name] = writer_class(
                stream_name, self.settings
            )
        return writer

    def _check_unique_file(self, stream_name: str) -> None:
        path = self.settings.final_path(stream_name)
        for other in self._writers:
            if self.settings.final_path(other) == path:
                msg = (
                    f"Setting file_naming {self.settings.namer.pattern!r} gives the "
                    f"same file {path} for streams '{other}' and '{stream_name}'; "
                    "include {stream_name} in it"
                )
                raise SettingsError(msg)

    def run(self, file_input: t.IO[str] | None = None) -> None:
        """Process the input; on any failure remove the temporary files.

        Args:
            file_input: Where to read messages; standard input by default.
        """
        try:
            self.listen(file_input)
        except BaseException:
            self.discard_files()
            raise

    def discard_files(self) -> None:
        """Remove every temporary file; nothing reaches a final name."""
        for writer in self._writers.values():
            writer.discard()

    @override
    def process_endofpipe(self) -> None:
        """Finish every file, move it into place, then pass on the last state."""
        super().process_endofpipe()
        for writer in self._writers.values():
            writer.commit()
        if self._pending_state is not None:
            super()._write_state_message(self._pending_state)

    @override
    def _write_state_message(self, state: dict[str, t.Any]) -> None:
        # The SDK emits state on every drain, but records are durable only once
        # their file is renamed at the end of input; hold it until then.
        self._pending_state = state

    @override
    def _process_activate_version_message(self, message_dict: dict[str, t.Any]) -> None:
        # Every run writes each stream's file whole, so a file never holds rows
        # of an older table version: nothing to activate or delete.
        self.logger.debug(
            "Stream '%s': ACTIVATE_VERSION needs no action for files",
            message_dict.get("stream"),
        )

    @classmethod
    @override
    def append_builtin_config(cls, config_jsonschema: dict[str, t.Any]) -> None:
        """Add singer-sdk's built-in settings, minus those files ignore.

        Args:
            config_jsonschema: The settings schema, changed in place.
        """
        super().append_builtin_config(config_jsonschema)
        # Rows are written one by one and files are rewritten whole each run.
        for unused in ("load_method", "batch_size_rows"):
            config_jsonschema["properties"].pop(unused, None)

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        # The SDK drains and finishes sinks on SIGTERM/SIGINT, which here would
        # publish a partial file under its final name.
        self.logger.error(
            "Stopped by signal %s before the end of input; no file was written "
            "under its final name",
            signal.Signals(signum).name,
        )
        self.discard_files()
        sys.exit(128 + signum)

    @classmethod
    @override
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: t.Any = None,  # noqa: ANN401 - singer-sdk's private _ConfigInput
        file_input: t.IO[str] | None = None,
    ) -> None:
        """Run the target from the command line.

        Args:
            about: Print the target's metadata and settings, then exit.
            about_format: Format of ``--about`` output.
            config: The parsed ``--config`` options.
            file_input: The ``--input`` file, standard input if None.
        """
        # Target.invoke would create and run the target in one call, leaving no
        # way to remove temporary files or report an input error in one line.
        super(Target, cls).invoke(about=about, about_format=about_format)
        cls.print_version(print_fn=cls.logger.info)
        try:
            target = cls(
                config=config.config if config else {},
                validate_config=True,
                parse_env_config=config.parse_env if config else False,
            )
        except TargetFilesError as exc:
            cls.logger.error("%s", exc)  # noqa: TRY400 - the message says it all
            sys.exit(1)
        try:
            target.run(file_input)
        except EXPECTED_ERRORS as exc:
            if isinstance(exc, InvalidInputLine):
                cls.logger.error("%s", exc)  # noqa: TRY400 - names the line
            else:
                reader = t.cast("ExactSingerReader", target.message_reader)
                cls.logger.error("Input line %d: %s", reader.line_number, exc)  # noqa: TRY400
            cls.logger.error(  # noqa: TRY400
                "Stopped; no file was written under its final name and the "
                "temporary files were removed"
            )
            sys.exit(1)
