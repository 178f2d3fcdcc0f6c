"""A Singer message reader that keeps integers exact and names the bad line.

singer-sdk's default reader decodes with the standard library and turns every
JSON number with a fraction into ``decimal.Decimal``. For files we want plain
``int`` (exact, any width) and ``float`` (rendered with ``repr``, so it
round-trips). msgspec gives both, four times faster than ``json``; orjson is as
fast but silently turns integers wider than 64 bits into floats.
"""

from __future__ import annotations

import sys
import typing as t

import msgspec
from singer_sdk.singerlib.encoding.base import GenericSingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine

# Long enough to recognise a line in the log, short enough to keep record
# payloads out of it.
_EXCERPT_CHARS = 80

_decode = msgspec.json.Decoder().decode


class ExactSingerReader(GenericSingerReader[str]):
    """Decode Singer messages with msgspec, counting lines for error messages."""

    def __init__(self) -> None:
        """Start counting lines at zero."""
        super().__init__()
        self.line_number = 0

    @property
    def default_input(self) -> t.IO[str]:
        """Standard input, read as text."""
        return sys.stdin

    def deserialize_json(self, line: str) -> dict[str, t.Any]:
        """Decode one input line.

        Args:
            line: One line of input.

        Returns:
            The decoded message.

        Raises:
            InvalidInputLine: The line is not a JSON object.
        """
        self.line_number += 1
        try:
            message = _decode(line)
        except msgspec.DecodeError as exc:
            excerpt = line.strip()[:_EXCERPT_CHARS]
            msg = (
                f"Input line {self.line_number} is not valid JSON ({exc}): {excerpt!r}"
            )
            raise InvalidInputLine(msg) from None
        if not isinstance(message, dict):
            msg = (
                f"Input line {self.line_number} is not a Singer message "
                f"(a JSON object), it is a {type(message).__name__}"
            )
            raise InvalidInputLine(msg)
        return message

    def _process_unknown_message(self, message_dict: dict[str, t.Any]) -> None:
        msg = (
            f"Input line {self.line_number} has an unknown message type "
            f"{message_dict.get('type')!r} (expected SCHEMA, RECORD, STATE, "
            "ACTIVATE_VERSION or BATCH)"
        )
        raise InvalidInputLine(msg)
