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
from target_files.errors import (
    IncompleteStreamError,
    OutputError,
    PublishError,
    TargetFilesError,
)
from target_files.reader import ExactSingerReader
from target_files.settings import CONFIG_SCHEMA, FileSettings
from target_files.sinks import FileSink
from target_files.staging import FinalPaths, remove_stale_parts
from target_files.xlsx_writer import XlsxStreamWriter

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from pathlib import Path
    from types import FrameType

    from target_files.writer_base import OutputFile, StreamWriter

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

    Files are written under hidden ``.<name>.part`` names. When the input ends,
    every file is finished first (CSV closed, XLSX assembled), then all are
    renamed to their final names, so a failure while finishing publishes
    nothing. On any failure before that the temporary files are removed. A
    published file holds every record the input had for it; whether the tap
    had finished the stream is only known with ``require_stream_end``. STATE
    messages are passed on only after every file is in place.

    Attributes:
        settings: The checked settings.
        input_ended: Whether the end of input was reached (errors after it
            name no input line).
        published: The final paths moved into place so far.
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
        namer = self.settings.namer
        self._paths = FinalPaths(namer.pattern, uses_stream_name=namer.uses_stream_name)
        self._writers: dict[str, StreamWriter] = {}
        self._pending_state: dict[str, t.Any] | None = None
        # Each writer's message count at the last STATE (or its own
        # ACTIVATE_VERSION): equal to the count at the end means it ended cleanly.
        self._messages_at_end_marker: dict[str, int] = {}
        self.input_ended = False
        self.published: list[Path] = []

    def stream_writer(self, stream_name: str) -> StreamWriter:
        """Return the writer of a stream, creating it on first use.

        Args:
            stream_name: The stream (or stream map alias).

        Returns:
            The writer, shared by every sink of the stream.
        """
        writer = self._writers.get(stream_name)
        if writer is None:
            writer_class = _WRITERS[self.settings.format]
            writer = self._writers[stream_name] = writer_class(
                stream_name, self.settings, self._paths
            )
        return writer

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
        """Remove every temporary file; files already published stay."""
        for writer in self._writers.values():
            writer.discard()

    def outcome(self) -> str:
        """Say what a failed run left behind, for the last log line.

        Returns:
            Which files, if any, were published before the failure.
        """
        if not self.published:
            return (
                "no file was written under its final name and the temporary "
                "files were removed"
            )
        return (
            f"{len(self.published)} file(s) had been published under their final "
            f"names ({', '.join(str(p) for p in self.published)}); the other "
            "temporary files were removed and no STATE was passed on"
        )

    @override
    def process_endofpipe(self) -> None:
        """Finish every file, move all into place, then pass on the last state.

        Raises:
            IncompleteStreamError: ``require_stream_end`` is on and a stream
                has no end marker after its last record; the other streams
                are published first.
        """
        self.input_ended = True
        super().process_endofpipe()
        unfinished = [
            writer
            for writer in self._writers.values()
            if self.settings.require_stream_end and not self._ended_cleanly(writer)
        ]
        for writer in unfinished:
            writer.discard()
        finished = [w for w in self._writers.values() if w not in unfinished]
        for writer in finished:
            writer.finish()
        self._publish([output for writer in finished for output in writer.files])
        if self.settings.overwrite and self.settings.format == "csv":
            for writer in finished:
                self._remove_stale_parts(writer)
        if unfinished:
            names = ", ".join(f"'{w.stream_name}'" for w in unfinished)
            msg = (
                f"Stream(s) {names}: no STATE or ACTIVATE_VERSION message came "
                "after the last record, so the tap probably stopped mid-stream "
                "(setting require_stream_end is true); their files were not "
                "published"
            )
            raise IncompleteStreamError(msg)
        if self._pending_state is not None:
            super()._write_state_message(self._pending_state)

    def _ended_cleanly(self, writer: StreamWriter) -> bool:
        return self._messages_at_end_marker.get(writer.stream_name) == writer.messages

    def _publish(self, files: list[OutputFile]) -> None:
        # Check every file before renaming any, so that a refusal (the file
        # appeared meanwhile and overwrite is false) publishes nothing.
        for output in files:
            output.staged.check_publishable()
        for index, output in enumerate(files):
            try:
                output.publish()
            except OutputError as exc:
                done = ", ".join(str(p) for p in self.published) or "none"
                waiting = ", ".join(str(f.staged.final_path) for f in files[index:])
                msg = (
                    f"{exc}. Published before this failure: {done}. Not "
                    f"published: {waiting}"
                )
                raise PublishError(msg) from exc
            self.published.append(output.staged.final_path)

    def _remove_stale_parts(self, writer: StreamWriter) -> None:
        if not writer.files:
            return
        first = writer.files[0].staged.final_path
        for path in remove_stale_parts(first, self._paths):
            self.logger.info(
                "Stream '%s': removed %s, a part an earlier run left beside %s",
                writer.stream_name,
                path,
                first.name,
            )

    @override
    def _process_state_message(self, message_dict: dict[str, t.Any]) -> None:
        super()._process_state_message(message_dict)
        self._messages_at_end_marker = {
            name: writer.messages for name, writer in self._writers.items()
        }

    @override
    def _write_state_message(self, state: dict[str, t.Any]) -> None:
        # The SDK emits state on every drain, but records are durable only once
        # their file is renamed at the end of input; hold it until then.
        self._pending_state = state

    @override
    def _process_activate_version_message(self, message_dict: dict[str, t.Any]) -> None:
        # Every run writes each stream's file whole, so a file never holds rows
        # of an older table version: nothing to activate or delete. The message
        # does mark the end of the stream's full sync (require_stream_end).
        stream_name = str(message_dict.get("stream"))
        self.logger.debug(
            "Stream '%s': ACTIVATE_VERSION needs no action for files", stream_name
        )
        for stream_map in self.mapper.stream_maps.get(stream_name, ()):
            writer = self._writers.get(stream_map.stream_alias)
            if writer is not None:
                self._messages_at_end_marker[writer.stream_name] = writer.messages

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
        self.discard_files()
        self.logger.error(
            "Stopped by signal %s %s; %s",
            signal.Signals(signum).name,
            "while publishing the files"
            if self.input_ended
            else ("before the end of input"),
            self.outcome(),
        )
        sys.exit(128 + signum)

    @classmethod
    @override
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: t.Any = None,
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
            cls.logger.error("%s", exc)
            sys.exit(1)
        try:
            target.run(file_input)
        except EXPECTED_ERRORS as exc:
            # After the end of input the line number would name the last line,
            # which has nothing to do with a failure to finish or publish.
            if isinstance(exc, InvalidInputLine) or target.input_ended:
                cls.logger.error("%s", exc)
            else:
                reader = t.cast("ExactSingerReader", target.message_reader)
                cls.logger.error("Input line %d: %s", reader.line_number, exc)
            cls.logger.error("Stopped; %s", target.outcome())
            sys.exit(1)
