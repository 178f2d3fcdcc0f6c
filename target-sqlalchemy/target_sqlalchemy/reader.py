"""A Singer message reader that decodes fast and knows its line number."""

from __future__ import annotations

import contextlib
import sys
import typing as t
from collections import Counter, defaultdict

import msgspec
from singer_sdk.singerlib.encoding.base import GenericSingerReader

from target_sqlalchemy.errors import InputLineError

# Numbers decode to int/float (not Decimal); integers of any size stay exact.
_decoder = msgspec.json.Decoder()


class SingerLineReader(GenericSingerReader[str]):
    """Reads Singer messages line by line with msgspec, counting lines.

    Errors raised while handling a message get an ``input_line`` attribute so
    the command line can say where the input went wrong.
    """

    default_input = sys.stdin

    def __init__(self) -> None:
        """Start counting at line 0."""
        super().__init__()
        self.line_number = 0
        self.line_size = 0

    def deserialize_json(self, line: str) -> dict[str, t.Any]:
        """Decode one line into a message object.

        Args:
            line: The raw line.

        Returns:
            The decoded message.

        Raises:
            InputLineError: If the line is not a JSON object.
        """
        try:
            message = _decoder.decode(line)
        except msgspec.DecodeError as exc:
            msg = f"input line {self.line_number}: not valid JSON ({exc})"
            raise InputLineError(msg) from None
        if not isinstance(message, dict):
            msg = f"input line {self.line_number}: not a JSON object"
            raise InputLineError(msg)
        return message

    def process_lines(
        self,
        file_input: t.IO[str] | None,
        callbacks: dict[str, t.Callable[[dict[str, t.Any]], None]],
    ) -> t.Counter[str]:
        """Decode each line and hand it to the callback for its type.

        Args:
            file_input: Input stream; standard input when None.
            callbacks: Message type -> handler.

        Returns:
            Count of messages per type.

        Raises:
            InputLineError: For undecodable lines and unknown message types.
        """
        stats: dict[str, int] = defaultdict(int)
        for line in file_input or self.default_input:
            self.line_number += 1
            if not line.strip():
                continue
            self.line_size = len(line)
            self._current_message = line
            message = self.deserialize_json(line)
            kind = message.get("type")
            callback = callbacks.get(kind) if isinstance(kind, str) else None
            if callback is None or not isinstance(kind, str):
                msg = (
                    f"input line {self.line_number}: unknown Singer message type "
                    f"{kind!r}"
                )
                raise InputLineError(msg)
            try:
                callback(message)
            except Exception as exc:
                if getattr(exc, "input_line", None) is None:
                    with contextlib.suppress(AttributeError):  # slotted exceptions
                        exc.input_line = self.line_number  # type: ignore[attr-defined]
                raise
            stats[kind] += 1
        return Counter(stats)
