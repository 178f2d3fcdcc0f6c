"""Errors raised by target-files.

The tree::

    TargetFilesError            root of everything this package raises
    ├── SettingsError           a setting has a value the target cannot use
    ├── InputError              the Singer input is malformed (line, stream, schema)
    └── OutputError             a file cannot be written, finished or replaced
        └── OutputExistsError   the final file exists and ``overwrite`` is false

Every message names what went wrong and where (setting, stream, line, path), so
the command line can print it as the last word instead of a traceback.
"""

from __future__ import annotations


class TargetFilesError(Exception):
    """Root of every error raised by target-files."""


class SettingsError(TargetFilesError, ValueError):
    """A setting is valid JSON Schema-wise but unusable (codec, pattern...)."""


class InputError(TargetFilesError, ValueError):
    """The Singer input cannot be processed (bad JSON, unknown schema type...)."""


class OutputError(TargetFilesError, OSError):
    """A file cannot be opened, written, finished or moved into place."""


class OutputExistsError(OutputError, FileExistsError):
    """The final file already exists and the ``overwrite`` setting is false."""
