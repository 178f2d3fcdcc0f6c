"""Write a file under a hidden temporary name, then move it into place.

A reader of the output folder sees either no file or a complete one: data goes
to ``.<name>.part`` beside the final file, and :meth:`StagedFile.commit`
renames it with ``os.replace``, which is atomic on POSIX and Windows when both
names are in the same folder.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from target_files.errors import OutputError, OutputExistsError

logger = logging.getLogger(__name__)


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
            OutputError: The folder cannot be created.
        """
        self.final_path = final_path
        self.temp_path = final_path.with_name(f".{final_path.name}.part")
        self._overwrite = overwrite
        self._check_overwrite()
        try:
            final_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            msg = f"Cannot create output folder {final_path.parent}: {exc}"
            raise OutputError(msg) from exc

    def _check_overwrite(self) -> None:
        if not self._overwrite and self.final_path.exists():
            msg = (
                f"Output file {self.final_path} already exists and setting "
                "overwrite is false; move it away, set overwrite to true, or add "
                "{timestamp} to file_naming"
            )
            raise OutputExistsError(msg)

    def commit(self) -> None:
        """Move the finished temporary file to its final name.

        Raises:
            OutputExistsError: The final file appeared meanwhile and
                ``overwrite`` is false.
            OutputError: The rename failed.
        """
        self._check_overwrite()
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
