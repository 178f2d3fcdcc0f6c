r"""File names from the ``file_naming`` pattern, and Excel sheet names.

Placeholders of ``file_naming`` (Python ``str.format`` syntax):

- ``{stream_name}``: the stream's name, with characters that file systems
  reject (``/ \ : * ? " < > |`` and control characters) replaced by ``_``;
- ``{timestamp}``: when the run started, UTC, ``YYYYMMDDTHHMMSS``
  (the same for every stream of a run, and safe in Windows file names);
- ``{date}``: the run's UTC date, ``YYYY-MM-DD``.

The extension (``.csv`` or ``.xlsx``) is appended. A ``/`` in the pattern makes
sub-folders of ``output_path``.
"""

from __future__ import annotations

import datetime
import re
import string
from pathlib import PurePosixPath

from target_files.errors import SettingsError

PLACEHOLDERS = ("stream_name", "timestamp", "date")

_UNSAFE_FILE_CHARS = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_UNSAFE_SHEET_CHARS = re.compile(r"[\x00-\x1f\[\]:*?/\\]")

SHEET_NAME_MAX = 31
"""Excel refuses sheet names longer than 31 characters."""


class FileNamer:
    """Render ``file_naming`` for each stream of one run.

    Attributes:
        pattern: The ``file_naming`` setting.

    Example:
        >>> run = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
        >>> FileNamer("{stream_name}-{timestamp}", run).relative_stem("fake")
        'fake-20240506T070809'
    """

    def __init__(self, pattern: str, started_at: datetime.datetime) -> None:
        """Check the pattern and fix the run's timestamp.

        Args:
            pattern: The ``file_naming`` setting.
            started_at: When the run started (aware, any time zone).

        Raises:
            SettingsError: The pattern has an unknown placeholder or is not a
                relative path.
        """
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(pattern) if f]
        except ValueError as exc:
            msg = f"Setting file_naming {pattern!r} is not a valid pattern: {exc}"
            raise SettingsError(msg) from exc
        unknown = sorted(set(fields) - set(PLACEHOLDERS))
        if unknown:
            msg = (
                f"Setting file_naming {pattern!r} has unknown placeholder(s) "
                f"{', '.join('{' + f + '}' for f in unknown)}; use "
                f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
            )
            raise SettingsError(msg)
        utc = started_at.astimezone(datetime.timezone.utc)
        self.pattern = pattern
        self._values = {
            "timestamp": utc.strftime("%Y%m%dT%H%M%S"),
            "date": utc.strftime("%Y-%m-%d"),
        }
        # Render once with a dummy stream to reject "../x" or "/abs" early.
        self.relative_stem("stream")

    def relative_stem(self, stream_name: str) -> str:
        """Return the file's path relative to ``output_path``, without extension.

        Args:
            stream_name: The stream (or stream map alias) being written.

        Returns:
            A relative POSIX path such as ``"fake-20240506T070809"``.

        Raises:
            SettingsError: The rendered name is empty, absolute or leaves
                ``output_path``.
        """
        safe_stream = _UNSAFE_FILE_CHARS.sub("_", stream_name)
        rendered = self.pattern.format(stream_name=safe_stream, **self._values)
        path = PurePosixPath(rendered)
        if (
            not rendered.strip()
            or path.is_absolute()
            or ".." in path.parts
            or rendered.endswith("/")
        ):
            msg = (
                f"Setting file_naming {self.pattern!r} gives {rendered!r} for "
                f"stream '{stream_name}': it must be a file name (or sub-path) "
                "inside output_path"
            )
            raise SettingsError(msg)
        return rendered


def sheet_name(stream_name: str, number: int = 1) -> str:
    r"""Return a valid Excel sheet name for a stream's n-th sheet.

    The first sheet is the stream name; later ones get ``_2``, ``_3``... The
    result has at most 31 characters and none of ``[ ] : * ? / \``.

    Args:
        stream_name: The stream name.
        number: 1 for the first sheet of the stream, 2 for the next...

    Returns:
        The sheet name.
    """
    base = _UNSAFE_SHEET_CHARS.sub("_", stream_name).strip("'") or "Sheet"
    if base.lower() == "history":  # reserved by Excel
        base = f"{base}_"
    suffix = "" if number == 1 else f"_{number}"
    return base[: SHEET_NAME_MAX - len(suffix)] + suffix
