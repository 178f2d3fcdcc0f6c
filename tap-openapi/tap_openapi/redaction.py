"""Keep secret values out of error messages.

A platform may echo what it was sent (a client secret, a refresh token) in an
``error_description`` or an error header; the message built from it must not
carry the value on to logs or tracebacks. :func:`redact` replaces every form a
secret can take in a text with ``***``; :func:`scrub` does it in place for an
exception and the exceptions it was raised from.

Objects that hold secrets at run time (the token manager, the tap) register
with :func:`register`, so the tap's top-level error handler can redact values
it never saw, such as the current access token.
"""

from __future__ import annotations

import json
import typing as t
import weakref
from urllib.parse import quote, quote_plus

#: Shorter values (a 1, an empty string) would garble every message.
MIN_SECRET_LENGTH = 4
MASK = "***"


class SecretHolder(t.Protocol):
    """Anything that can list the secret values it currently holds."""

    def secret_values(self) -> t.Iterable[t.Any]:
        """Return the secret values (strings, or structures holding them)."""
        ...


_holders: weakref.WeakSet[t.Any] = weakref.WeakSet()


def register(holder: SecretHolder) -> None:
    """Have :func:`known_secrets` include ``holder``'s values while it lives."""
    _holders.add(holder)


def known_secrets() -> list[t.Any]:
    """Return the secret values of every live registered holder."""
    return [value for holder in list(_holders) for value in holder.secret_values()]


def secret_texts(value: t.Any) -> set[str]:
    """Return the strings a secret value could show up as in a message.

    The value itself, its ``repr`` and JSON forms, and its URL-encoded forms
    (a form body or query string); the items of a dict or list one by one.
    """
    if value is None or isinstance(value, bool):
        return set()
    texts = {repr(value), json.dumps(value, default=str)}
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending += list(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            pending += list(item)
        elif item is not None and not isinstance(item, bool):
            text = str(item)
            texts |= {text, repr(item), quote(text, safe=""), quote_plus(text)}
    return {text for text in texts if len(text) >= MIN_SECRET_LENGTH}


def redact(text: str, secrets: t.Iterable[t.Any]) -> str:
    """Replace every appearance of a secret value in ``text`` with ``***``."""
    texts = {item for secret in secrets for item in secret_texts(secret)}
    # Longest first, so a secret's repr goes before the bare value inside it.
    for item in sorted(texts, key=len, reverse=True):
        text = text.replace(item, MASK)
    return text


def scrub(exc: BaseException, secrets: t.Iterable[t.Any]) -> None:
    """Redact secret values from ``exc`` and the exceptions it chains to.

    The string arguments (what ``str(exc)`` shows) and the string attributes
    (``description``, ``error_message``...) are rewritten in place, so the
    exception keeps its type and the caller's ``except`` clauses still work.
    """
    values = list(secrets)
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.args = tuple(
            redact(arg, values) if isinstance(arg, str) else arg for arg in current.args
        )
        for name, attr in list(vars(current).items()):
            if isinstance(attr, str):
                setattr(current, name, redact(attr, values))
        current = current.__cause__ or current.__context__
