"""Write a file under a hidden temporary name, then move it into place.

A reader of the output folder sees either no file or a finished one: data goes
to ``.<name>.part`` beside the final file, and :meth:`StagedFile.publish`
renames it with ``os.replace``, which is atomic on POSIX and Windows when both
names are in the same folder.

:class:`FinalPaths` hands out the final names of a run, so no two files, first
files and ``-partN`` files alike, can get the same name, even on file systems
that ignore letter case.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import unicodedata
from pathlib import Path, PurePath

from target_files.errors import FileNameClashError, OutputError, OutputExistsError

logger = logging.getLogger(__name__)

DEFAULT_NAME_MAX = 255
"""Bytes per file name on ext4, XFS, APFS and NTFS (in UTF-16 units there)."""

_TEMP_PREFIX = "."
_TEMP_SUFFIX = ".part"


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # no pathconf on Windows
        return DEFAULT_NAME_MAX


def _name_bytes(name: str) -> int:
    return len(os.fsencode(name))


def _temp_name(final_name: str, name_max: int) -> str:
    """``.<final name>.part``, shortened (with a hash) if that is too long."""
    name = f"{_TEMP_PREFIX}{final_name}{_TEMP_SUFFIX}"
    if _name_bytes(name) <= name_max:
        return name
    tag = "~" + hashlib.sha1(final_name.encode(), usedforsecurity=False).hexdigest()[:8]
    room = name_max - _name_bytes(f"{_TEMP_PREFIX}{tag}{_TEMP_SUFFIX}")
    head = final_name
    while _name_bytes(head) > room:
        head = head[:-1]
    return f"{_TEMP_PREFIX}{head}{tag}{_TEMP_SUFFIX}"


class StagedFile:
    """The temporary and final names of one output file.

    Attributes:
        final_path: Where the file ends up.
        temp_path: Where it is written until then.
    """

    def __init__(self, final_path: Path, *, overwrite: bool) -> None:
        """Check the final name is usable and create its folder.

        Args:
            final_path: Where the finished file goes.
            overwrite: Whether an existing file at ``final_path`` may be replaced.

        Raises:
            OutputExistsError: The final file exists and ``overwrite`` is false.
            OutputError: The folder cannot be created, or the file name is
                longer than the file system allows.
        """
        self.final_path = final_path
        self._overwrite = overwrite
        self.check_publishable()
        try:
            final_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            msg = f"Cannot create output folder {final_path.parent}: {exc}"
            raise OutputError(msg) from exc
        name_max = _name_max(final_path.parent)
        if _name_bytes(final_path.name) > name_max:
            msg = (
                f"Output file name {final_path.name!r} is "
                f"{_name_bytes(final_path.name)} bytes long; the file system "
                f"allows {name_max}. Shorten the stream name with a stream map "
                "alias, or the file_naming pattern"
            )
            raise OutputError(msg)
        self.temp_path = final_path.with_name(_temp_name(final_path.name, name_max))

    def check_publishable(self) -> None:
        """Fail if the final file exists and may not be replaced.

        Raises:
            OutputExistsError: The final file exists and ``overwrite`` is false.
        """
        if not self._overwrite and self.final_path.exists():
            msg = (
                f"Output file {self.final_path} already exists and setting "
                "overwrite is false; move it away, set overwrite to true, or add "
                "{timestamp} to file_naming"
            )
            raise OutputExistsError(msg)

    def publish(self) -> None:
        """Move the finished temporary file to its final name.

        Raises:
            OutputExistsError: The final file appeared meanwhile and
                ``overwrite`` is false.
            OutputError: The rename failed.
        """
        self.check_publishable()
        try:
            os.replace(self.temp_path, self.final_path)
        except OSError as exc:
            msg = f"Cannot move {self.temp_path} to {self.final_path}: {exc}"
            raise OutputError(msg) from exc

    def discard(self) -> None:
        """Remove the temporary file, if any; the final name is never touched."""
        try:
            self.temp_path.unlink(missing_ok=True)
        except OSError as exc:
            # Cleaning up after another failure: report, keep the first error.
            logger.warning("Cannot remove temporary file %s: %s", self.temp_path, exc)
        else:
            logger.debug("Removed temporary file %s", self.temp_path)


def _path_key(path: PurePath) -> str:
    # Windows and macOS file systems ignore case, and macOS also treats the
    # composed and decomposed forms of an accented letter as one name.
    return unicodedata.normalize("NFC", str(path)).casefold()


class FinalPaths:
    """Every final path handed out in a run, with the stream that owns it."""

    def __init__(self, file_naming: str, *, uses_stream_name: bool) -> None:
        """Start with no path handed out.

        Args:
            file_naming: The ``file_naming`` setting, for messages.
            uses_stream_name: Whether the pattern has ``{stream_name}``.
        """
        self._file_naming = file_naming
        self._uses_stream_name = uses_stream_name
        self._owners: dict[str, tuple[str, Path, int]] = {}

    def claim(self, stream_name: str, path: Path, part: int = 1) -> None:
        """Reserve ``path`` for a stream, or fail if another file has it.

        Args:
            stream_name: The stream (or stream map alias) that will write it.
            path: The final path.
            part: 1 for the stream's first file, n for ``-part<n>``.

        Raises:
            FileNameClashError: Another file of the run has this name, letter
                case aside.
        """
        key = _path_key(path)
        owner = self._owners.get(key)
        if owner is None:
            self._owners[key] = (stream_name, path, part)
            return
        other_stream, other_path, other_part = owner
        if not self._uses_stream_name:
            msg = (
                f"Setting file_naming {self._file_naming!r} gives the same file "
                f"{path} for streams '{other_stream}' and '{stream_name}'; "
                "include {stream_name} in it"
            )
            raise FileNameClashError(msg)
        if str(other_path) != str(path):
            why = (
                f"{other_path.name} and {path.name} differ only in letter case, "
                "and Windows and macOS file systems take them for one file"
            )
        elif part > 1 or other_part > 1:
            late, number = (
                (stream_name, part) if part > 1 else (other_stream, other_part)
            )
            why = (
                f"stream '{late}' continues in part {number} after a schema "
                "change, and that part's name is another stream's file name"
            )
        else:
            why = (
                "the stream names are the same once the characters file "
                'systems reject (/ \\ : * ? " < > | and control characters) '
                "become _"
            )
        msg = (
            f"Streams '{other_stream}' and '{stream_name}' both need the file "
            f"{path}: {why}. Give one stream another name with a stream map, "
            f'e.g. stream_maps: {{"{stream_name}": {{"__alias__": "new_name"}}}}'
        )
        raise FileNameClashError(msg)

    def __contains__(self, path: object) -> bool:
        """Whether a path (letter case aside) was handed out in this run."""
        return isinstance(path, PurePath) and _path_key(path) in self._owners


def remove_stale_parts(first_file: Path, keep: FinalPaths) -> list[Path]:
    """Remove ``<stem>-part<N><ext>`` files an earlier run left beside a file.

    Only that exact pattern (N >= 2, no leading zero), in the same folder, and
    only files not written by this run.

    Args:
        first_file: A stream's first (published) file, ``<stem><ext>``.
        keep: The paths of this run, which are never removed.

    Returns:
        The removed files.

    Raises:
        OutputError: A stale part cannot be removed.
    """
    part = re.compile(
        re.escape(first_file.stem)
        + r"-part(?:[2-9]|[1-9][0-9]+)"
        + re.escape(first_file.suffix)
    )
    removed: list[Path] = []
    try:
        candidates = sorted(first_file.parent.iterdir())
    except OSError as exc:
        msg = f"Cannot list {first_file.parent} to remove old parts: {exc}"
        raise OutputError(msg) from exc
    for path in candidates:
        if not part.fullmatch(path.name) or path in keep or not path.is_file():
            continue
        try:
            path.unlink()
        except OSError as exc:
            msg = (
                f"Cannot remove {path}, a part of {first_file.name} left by an "
                f"earlier run: {exc}"
            )
            raise OutputError(msg) from exc
        removed.append(path)
    return removed
