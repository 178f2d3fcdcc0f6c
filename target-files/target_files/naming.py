r"""File names from the ``file_naming`` pattern, and Excel sheet names.

Placeholders of ``file_naming`` (Python ``str.format`` syntax):

- ``{stream_name}``: the stream's name, with characters that file systems
  reject (``/ \ : * ? " < > |`` and control characters) replaced by ``_``;
- ``{timestamp}``: when the run started, UTC, ``YYYYMMDDTHHMMSS``
  (the same for every stream of a run, and safe in Windows file names);
- ``{date}``: the run's UTC date, ``YYYY-MM-DD``.

The extension (``.csv`` or ``.xlsx``) is appended. A ``/`` in the pattern makes
sub-folders of ``output_path``. Literal braces are written ``{{`` and ``}}``.
"""

from __future__ import annotations

import datetime
import re
import string
import typing as t

from target_files.errors import InputError, SettingsError

PLACEHOLDERS = ("stream_name", "timestamp", "date")

CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
"""Characters no setting that names a file may contain."""

_UNSAFE_FILE_CHARS = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_UNSAFE_SHEET_CHARS = re.compile(r"[\x00-\x1f\[\]:*?/\\]")
# Rendered with this stream name when the pattern is checked, so that a name
# that fails later is the stream's fault, not the pattern's.
_PROBE_STREAM = "stream"

SHEET_NAME_MAX = 31
"""Excel refuses sheet names longer than 31 characters (UTF-16 code units)."""


class FileNamer:
    """Render ``file_naming`` for each stream of one run.

    Attributes:
        pattern: The ``file_naming`` setting.
        uses_stream_name: Whether the pattern has ``{stream_name}``.

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
            SettingsError: The pattern has a control character, an unknown or
                empty placeholder, a format spec that fails, or does not give
                a relative path.
        """
        control = CONTROL_CHARS.search(pattern)
        if control:
            msg = (
                f"Setting file_naming {pattern!r} contains the control character "
                f"{control.group()!r} at position {control.start()}; remove it"
            )
            raise SettingsError(msg)
        try:
            fields = [
                f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None
            ]
        except ValueError as exc:
            msg = (
                f"Setting file_naming {pattern!r} is not a valid pattern: {exc}; "
                "write {{ and }} for literal braces"
            )
            raise SettingsError(msg) from exc
        # "{}" and "{0}" are positional fields: unknown here, like any other.
        unknown = sorted(set(fields) - set(PLACEHOLDERS))
        if unknown:
            msg = (
                f"Setting file_naming {pattern!r} has unknown placeholder(s) "
                f"{', '.join('{' + f + '}' for f in unknown)}; use "
                f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)} "
                "(write {{ and }} for literal braces)"
            )
            raise SettingsError(msg)
        utc = started_at.astimezone(datetime.timezone.utc)
        self.pattern = pattern
        self.uses_stream_name = "stream_name" in fields
        self._values = {
            "timestamp": utc.strftime("%Y%m%dT%H%M%S"),
            "date": utc.strftime("%Y-%m-%d"),
        }
        rendered = self._render(_PROBE_STREAM)
        if not _is_relative_file(rendered):
            msg = (
                f"Setting file_naming {pattern!r} gives {rendered!r}: it must be a "
                "file name (or sub-path) inside output_path, without empty, '.' "
                "or '..' parts"
            )
            raise SettingsError(msg)

    def _render(self, stream_name: str) -> str:
        safe_stream = _UNSAFE_FILE_CHARS.sub("_", stream_name)
        try:
            return self.pattern.format(stream_name=safe_stream, **self._values)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            # Format specs such as "{stream_name:d}" pass parsing, fail here.
            msg = (
                f"Setting file_naming {self.pattern!r} cannot be rendered: {exc}; "
                "use the placeholders without a format spec, e.g. "
                "'{stream_name}-{timestamp}'"
            )
            raise SettingsError(msg) from exc

    def relative_stem(self, stream_name: str) -> str:
        """Return the file's path relative to ``output_path``, without extension.

        Args:
            stream_name: The stream (or stream map alias) being written.

        Returns:
            A relative POSIX path such as ``"fake-20240506T070809"``.

        Raises:
            InputError: The stream's name makes the file name empty, ``.`` or
                ``..`` (the pattern itself was checked with another name).
        """
        rendered = self._render(stream_name)
        if not _is_relative_file(rendered):
            msg = (
                f"Stream {stream_name!r}: its name gives the file name {rendered!r} "
                f"(setting file_naming {self.pattern!r}), which is not a usable "
                "file name; give the stream another name with a stream map, e.g. "
                f'stream_maps: {{"{stream_name}": {{"__alias__": "new_name"}}}}'
            )
            raise InputError(msg)
        return rendered


def _is_relative_file(rendered: str) -> bool:
    """Whether every ``/`` part is a real name: not empty, blank, ``.`` or ``..``."""
    return all(part.strip() not in {"", ".", ".."} for part in rendered.split("/"))


def _cut_to_utf16(text: str, units: int) -> str:
    """The longest prefix of ``text`` that is at most ``units`` UTF-16 units."""
    count = 0
    for index, char in enumerate(text):
        count += 2 if ord(char) > 0xFFFF else 1
        if count > units:
            return text[:index]
    return text


def sheet_name(stream_name: str, number: int = 1, used: t.Iterable[str] = ()) -> str:
    r"""Return a valid, unused Excel sheet name for a stream's n-th sheet.

    The first sheet is the stream name; later ones get ``_2``, ``_3``... The
    result has at most 31 UTF-16 units (Excel counts them), none of
    ``[ ] : * ? / \``, no apostrophe at either end, and differs, ignoring case
    as Excel does, from every name in ``used``. When cutting the name to fit
    makes it equal to a used one (a stream named ``"a" * 29 + "_2"``, say), the
    stream-name part is cut further until the name is unique.

    Args:
        stream_name: The stream name.
        number: 1 for the first sheet of the stream, 2 for the next...
        used: The names of the workbook's existing sheets.

    Returns:
        The sheet name.
    """
    base = _UNSAFE_SHEET_CHARS.sub("_", stream_name).strip("'") or "Sheet"
    if base.lower() == "history":  # reserved by Excel
        base = f"{base}_"
    taken = {name.lower() for name in used}  # xlsxwriter compares with lower()
    suffix = "" if number == 1 else f"_{number}"
    for room in range(SHEET_NAME_MAX - len(suffix), 0, -1):
        head = _cut_to_utf16(base, room).rstrip("'")
        candidate = head + suffix
        if head and candidate.lower() not in taken:
            return candidate
    # Only reached when every prefix of the stream name is taken.
    extra = 1
    while f"Sheet{number}_{extra}".lower() in taken:
        extra += 1
    return f"Sheet{number}_{extra}"
