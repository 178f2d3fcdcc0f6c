"""Errors raised by target-sqlalchemy.

Every error the target raises on purpose derives from ``TargetSQLAlchemyError``
and carries a one-line message naming what failed and where::

    TargetSQLAlchemyError
    ├── InputLineError         a line of input is not a Singer message we accept
    ├── RecordValueError       a record value cannot be converted for its column
    ├── SchemaMappingError     a stream or property cannot become a table/column
    ├── DatabaseConnectionError  the database is unreachable (URL redacted)
    ├── TableChangeError       the database refused to create or change a table
    │   └── UnsupportedChangeError  a column change the database cannot make
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


class TableChangeError(TargetSQLAlchemyError):
    """The database refused to create a table or to add or widen a column."""


class UnsupportedChangeError(TableChangeError, NotImplementedError):
    """A column change the database cannot make in place."""


_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.\-]*://[^:/@\s]*:)[^@\s]*@", re.I)
#: Query parameters of a URL (or ``key=value`` pairs in a DSN) that carry a
#: secret: passwords, tokens, secrets and key-ish names such as ``api_key``.
_SECRET_PARAM = re.compile(
    r"(?P<head>(?:^|[?&;\s])[\w.\-]*"
    r"(?:pass(?:word|wd)?|pwd|secret|token|credential|auth|key)[\w.\-]*=)"
    r"(?P<value>[^&;\s]*)",
    re.I,
)


def redact(text: str, url: str | sa.URL | None = None) -> str:
    """Hide passwords in a message.

    Replaces the password of ``url`` and the values of its secret query
    parameters (``?password=``, ``sslpassword``, ``token``, ``api_key``...)
    wherever they appear, the password part of anything in ``text`` that looks
    like a URL with credentials, and secret ``name=value`` parameters.

    Args:
        text: The message to clean.
        url: The database URL whose password must not appear.

    Returns:
        The message with passwords replaced by ``***``.
    """
    if url is not None:
        for secret in _url_secrets(url):
            text = text.replace(secret, "***")
    text = _URL_PASSWORD.sub(r"\g<head>***@", text)
    return _SECRET_PARAM.sub(r"\g<head>***", text)


def _url_secrets(url: str | sa.URL) -> list[str]:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        # Not a URL SQLAlchemy parses: fall back to the text patterns.
        return []
    secrets = [str(parsed.password)] if parsed.password else []
    for key, value in parsed.query.items():
        if _SECRET_PARAM.match(f"&{key}="):
            values = value if isinstance(value, tuple) else (value,)
            secrets.extend(v for v in values if v)
    # Longest first, so a secret containing another is hidden whole.
    return sorted(set(secrets), key=len, reverse=True)


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
