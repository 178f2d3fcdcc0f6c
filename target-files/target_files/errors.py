"""Errors raised by target-files.

The tree::

    TargetFilesError            root of everything this package raises
    ├── SettingsError           a setting has a value the target cannot use
    ├── InputError              the Singer input is malformed (line, stream, schema)
    │   └── IncompleteStreamError   a stream ended without a STATE or
    │                               ACTIVATE_VERSION (setting require_stream_end)
    ├── FileNameClashError      two files of the run would get the same name
    └── OutputError             a file cannot be written, finished or replaced
        ├── OutputExistsError   the final file exists and ``overwrite`` is false
        └── PublishError        moving files to their final names stopped midway

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


class IncompleteStreamError(InputError):
    """A stream's last record has no STATE or ACTIVATE_VERSION after it."""


class FileNameClashError(TargetFilesError, ValueError):
    """Two streams, or a stream and another's part file, need the same file."""


class OutputError(TargetFilesError, OSError):
    """A file cannot be opened, written, finished or moved into place."""


class OutputExistsError(OutputError, FileExistsError):
    """The final file already exists and the ``overwrite`` setting is false."""


class PublishError(OutputError):
    """A final rename failed after others succeeded; the message lists both."""
