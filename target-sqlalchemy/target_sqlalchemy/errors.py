"""Errors raised by target-sqlalchemy.

Every error the target raises on purpose derives from ``TargetSQLAlchemyError``
and carries a one-line message naming what failed and where::

    TargetSQLAlchemyError
    ├── InputLineError         a line of input is not a Singer message we accept
    ├── RecordValueError       a record value cannot be converted for its column
    ├── SchemaMappingError     a stream or property cannot become a table/column
    ├── DatabaseConnectionError  the database is unreachable (URL redacted)
    └── BatchLoadError         the database rejected a batch (rolled back)
"""

from __future__ import annotations

import re

import sqlalchemy as sa


class TargetSQLAlchemyError(Exception):
    """Root of the errors raised by target-sqlalchemy."""


class InputLineError(TargetSQLAlchemyError):
    """A line of input is not a Singer message the target accepts."""


class RecordValueError(TargetSQLAlchemyError):
    """A record value cannot be converted to its column's type."""


class SchemaMappingError(TargetSQLAlchemyError):
    """A stream or property cannot be mapped to a table or column."""


class DatabaseConnectionError(TargetSQLAlchemyError):
    """The database cannot be reached or refused the connection."""


class BatchLoadError(TargetSQLAlchemyError):
    """The database rejected a batch; the batch was rolled back."""


_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.\-]*://[^:/@\s]*:)[^@\s]*@", re.I)


def redact(text: str, url: str | sa.URL | None = None) -> str:
    """Hide passwords in a message.

    Replaces the password of ``url`` wherever it appears, and the password part
    of anything in ``text`` that looks like a URL with credentials.

    Args:
        text: The message to clean.
        url: The database URL whose password must not appear.

    Returns:
        The message with passwords replaced by ``***``.
    """
    if url is not None:
        try:
            password = sa.make_url(url).password
        except sa.exc.ArgumentError:
            password = None
        if password:
            text = text.replace(str(password), "***")
    return _URL_PASSWORD.sub(r"\g<head>***@", text)


def database_message(exc: BaseException) -> str:
    """Return the first line of the driver's message for a database error.

    SQLAlchemy's own text repeats the statement and its parameters, which can be
    megabytes for a batch, so only the driver's first line is kept.

    Args:
        exc: The exception raised by SQLAlchemy or the driver.

    Returns:
        A short, single-line description.
    """
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip() or type(orig).__name__
    first = text.splitlines()[0].strip()
    return f"{type(orig).__name__}: {first}"
