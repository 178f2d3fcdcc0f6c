"""The singer-sdk sink: hands each record to its stream's writer at once."""

from __future__ import annotations

import sys
import typing as t

from singer_sdk.sinks import RecordSink

from target_files.columns import columns_from_schema

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from singer_sdk.helpers.conform import DatetimeErrorTreatmentEnum

    from target_files.target import TargetFiles
    from target_files.writer_base import StreamWriter


class FileSink(RecordSink):
    """Write records as they arrive; nothing is batched in memory.

    ``RecordSink`` rather than ``BatchSink``: a batch would hold up to
    ``batch_size_rows`` records, and the file formats gain nothing from it.
    """

    def __init__(
        self,
        target: TargetFiles,
        stream_name: str,
        schema: dict[str, t.Any],
        key_properties: t.Sequence[str] | None,
    ) -> None:
        """Create the sink for one stream (and one version of its schema).

        Args:
            target: The running target, which owns the stream writers.
            stream_name: The stream (or stream map alias).
            schema: The stream's JSON Schema.
            key_properties: The stream's primary key, unused by files.
        """
        super().__init__(target, stream_name, schema, key_properties)
        self._files_target = target
        self._writer: StreamWriter | None = None

    @property
    def validate_schema(self) -> bool:
        """Whether to check records against the schema (setting, default off)."""
        return bool(self.config.get("validate_records", False))

    @override
    def setup(self) -> None:
        """Open the stream's file, or switch its writer to this schema."""
        columns = columns_from_schema(self.stream_name, self.schema)
        self._writer = self._files_target.stream_writer(self.stream_name)
        self._writer.start(columns)

    @override
    def process_record(
        self, record: dict[str, t.Any], context: dict[str, t.Any]
    ) -> None:
        """Write the record to the stream's file.

        Args:
            record: The record.
            context: Unused.
        """
        t.cast("StreamWriter", self._writer).write(record)

    @override
    def _parse_timestamps_in_record(
        self,
        record: dict[str, t.Any],
        schema: dict[str, t.Any],
        treatment: DatetimeErrorTreatmentEnum,
    ) -> None:
        # The SDK would parse every date-time string into a datetime here, fail
        # the run on one it cannot parse, and inspect the schema of every field
        # of every record (40% of its per-record time). The writers parse where
        # the format needs it and keep unparseable text as it is.
        return
