"""One retry policy for the tap's requests: pages and the token endpoint.

A transient failure (HTTP 429 or 5xx, a reset, a timeout, a cut-off or
garbled body) is retried with exponential backoff and full jitter: retry
``n`` waits a random time in ``[0, min(base * 2 ** (n - 1), cap)]``, so
clients that failed together do not come back together. A ``Retry-After``
header replaces the jittered wait (capped at ``cap`` as well).

Two limits end the retries of one request, whichever comes first:
``max_retries``, and ``max_seconds``, a time budget counted from the first
attempt. A retry whose wait would end past the budget is not made: the
request gives up at once rather than sleep for nothing.

Some failures are never retried, because time does not fix them: a TLS
failure (an untrusted or mismatched certificate, TLS spoken to a plain HTTP
port) stays until someone changes the trust store or the settings.

The tap's pages, the token endpoint and the client library
(:class:`~tap_openapi.api.OpenAPIClient`) all retry under this policy, and
each retry logs one WARNING in the same format::

    Retrying /api/v1/sync/fake (stream 'fake', page 3) in 1.37 s, attempt 2 of 6: ...
    Retrying /oauth2/token (token request, client_credentials grant) in 0.61 s, ...
    Retrying /api/v1/items (GET request) in 0.18 s, attempt 2 of 6: ...

:func:`full_jitter`, :func:`sleep` and :func:`clock` are module functions so
that tests can replace them (e.g. a jitter at its upper bound, a fake clock).
"""

from __future__ import annotations

import dataclasses
import datetime
import email.utils
import logging
import random
import re
import time
import typing as t
from urllib.parse import urlsplit

import requests
import requests.exceptions
from singer_sdk.exceptions import RetriableAPIError

from tap_openapi.defaults import DEFAULT_MAX_RETRIES, DEFAULT_MAX_RETRY_SECONDS
from tap_openapi.errors import OpenAPIError

if t.TYPE_CHECKING:
    from collections.abc import Callable

T = t.TypeVar("T")

logger = logging.getLogger(__name__)

#: Ceiling of the first jittered wait, doubled at each retry.
DEFAULT_BASE_SECONDS = 1.0
#: Longest wait between two attempts, ``Retry-After`` included: a server
#: asking for an hour would otherwise stall a run that has a budget.
DEFAULT_CAP_SECONDS = 60.0

#: Transient failures worth another try: 429/5xx and garbled bodies (raised
#: as RetriableAPIError subclasses), resets, timeouts, cut-off bodies.
RETRIABLE_ERRORS: tuple[type[Exception], ...] = (
    RetriableAPIError,
    ConnectionResetError,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)

_QUERY = re.compile(r"\?[^\s'\"]*")
_USERINFO = re.compile(r"//[^/\s@'\"]+@")
_ERRNO = re.compile(r"\[Errno -?\d+\] [^'\")]+")
_CERT_REASON = re.compile(r"certificate verify failed: ([^'\"()]+)")
_SSL_REASON = re.compile(r"\[SSL: ([A-Z_]+)\] ([^'\"()]+)")


def is_retriable(exc: BaseException) -> bool:
    """Tell whether ``exc`` is transient, so another attempt may succeed.

    Args:
        exc: The failure of one attempt.

    Returns:
        True for :data:`RETRIABLE_ERRORS`, except TLS failures (requests'
        ``SSLError`` is a ``ConnectionError``, but waiting never fixes it).
    """
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    return isinstance(exc, RETRIABLE_ERRORS)


def describe_error(exc: BaseException) -> str:
    """One line about ``exc``, without query strings or URL credentials.

    Args:
        exc: The error.

    Returns:
        The message of our own errors; else ``"ClassName: reason"``, where a
        connection failure's reason is its ``[Errno N] ...`` part, shortened.
    """
    if isinstance(exc, OpenAPIError):
        return str(exc)
    text = _USERINFO.sub("//***@", _QUERY.sub("", str(exc)))
    errno = _ERRNO.search(text)
    if errno:
        text = errno.group(0).strip()
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def tls_error_message(exc: BaseException, url: str) -> str:
    """Say why TLS with ``url``'s host failed and how to fix it, in one line.

    Args:
        exc: The ``SSLError``.
        url: The URL requested (only its host and port are shown).

    Returns:
        The message, naming the certificate problem and the fixes.
    """
    host = urlsplit(url).netloc.rpartition("@")[2] or url
    text = str(exc)
    cert = _CERT_REASON.search(text)
    if cert or "CERTIFICATE_VERIFY_FAILED" in text:
        reason = cert.group(1).strip() if cert else "certificate verify failed"
        return (
            f"TLS certificate of {host} is not trusted ({reason}): give the "
            "tap the CA certificate that signed it with the environment variable "
            "REQUESTS_CA_BUNDLE=/path/to/ca-bundle.pem, or, as a last resort, "
            "set verify_tls: false (the connection is then not authenticated)"
        )
    ssl = _SSL_REASON.search(text)
    reason = f"{ssl.group(1)}: {ssl.group(2).strip()}" if ssl else type(exc).__name__
    return (
        f"TLS handshake with {host} failed ({reason}): check that base_url (and "
        "token_url) use https:// only for a port that speaks TLS"
    )


def retry_after_seconds(exc: BaseException, cap: float) -> float | None:
    """Read ``Retry-After`` (seconds or HTTP date) from a throttled answer.

    Args:
        exc: The retriable error, which may carry the response.
        cap: The longest wait honoured.

    Returns:
        The wait the server asked for, capped, or None if it asked nothing.
    """
    response = getattr(exc, "response", None)
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    return min(max(seconds, 0.0), cap)


def full_jitter(ceiling: float) -> float:
    """Draw the wait before a retry, uniformly in ``[0, ceiling]``."""
    return random.uniform(0.0, ceiling)


def sleep(seconds: float) -> None:
    """Wait ``seconds`` before the next attempt."""
    time.sleep(seconds)


def clock() -> float:
    """Seconds on a monotonic clock, to measure the retry budget."""
    return time.monotonic()


class RetriesExhausted(Exception):
    """A request failed on every attempt the policy allowed.

    Internal to the package: callers turn it into a
    :class:`~tap_openapi.errors.TransportError` naming the request.

    Attributes:
        last: The failure of the last attempt.
        attempts: Attempts made.
        elapsed: Seconds from the first attempt to giving up.
        budget: The ``max_retry_seconds`` that ended the retries, or None if
            ``max_retries`` did.
    """

    def __init__(
        self,
        last: BaseException,
        attempts: int,
        elapsed: float,
        budget: float | None = None,
    ) -> None:
        self.last = last
        self.attempts = attempts
        self.elapsed = elapsed
        self.budget = budget
        super().__init__(self.summary)

    @property
    def summary(self) -> str:
        """``"gave up after N attempts"``, and why, when the budget ended them."""
        text = f"gave up after {self.attempts} attempts"
        if self.budget is not None:
            text += (
                f" in {self.elapsed:.1f} s: the next retry would pass "
                f"max_retry_seconds={self.budget:g}"
            )
        return text

    def message(self, request: str) -> str:
        """Say in one line which request gave up, on what, and why.

        Args:
            request: Names the request, e.g. ``"GET /api/v1/items failed: "``;
                left out when the last failure is one of the package's own
                errors, whose message names the request already.

        Returns:
            The last failure and :attr:`summary`, with a hint when the
            platform could not be reached.
        """
        last = self.last
        if isinstance(last, OpenAPIError):
            return f"{last} ({self.summary})"
        msg = f"{request}{describe_error(last)} ({self.summary})"
        if isinstance(last, requests.exceptions.ConnectionError):
            msg += "; check base_url and the network"
        return msg


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """When and how long to retry one request.

    Args:
        max_retries: Retries after the first attempt.
        max_seconds: Time budget of one request, first attempt included.
        base_seconds: Ceiling of the first wait, doubled at each retry.
        cap_seconds: Longest wait between two attempts, ``Retry-After``
            included.

    Example:
        >>> policy = RetryPolicy(max_retries=3)
        >>> [policy.ceiling(n) for n in (1, 2, 3)]
        [1.0, 2.0, 4.0]
        >>> policy.call(lambda: "ok", path="/api/v1/items", what="an example")
        'ok'
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    max_seconds: float = DEFAULT_MAX_RETRY_SECONDS
    base_seconds: float = DEFAULT_BASE_SECONDS
    cap_seconds: float = DEFAULT_CAP_SECONDS

    @property
    def tries(self) -> int:
        """Attempts at most: the first one plus ``max_retries``."""
        return max(self.max_retries, 0) + 1

    def ceiling(self, retry: int) -> float:
        """Return the longest jittered wait before retry number ``retry`` (>= 1)."""
        return float(min(self.base_seconds * 2 ** (retry - 1), self.cap_seconds))

    def wait(self, retry: int, exc: BaseException) -> float:
        """Return the wait before retry number ``retry`` after failure ``exc``.

        Args:
            retry: 1 for the first retry.
            exc: The failure, which may carry a response with ``Retry-After``.

        Returns:
            ``Retry-After`` if the server sent it, else a full-jitter draw.
        """
        asked = retry_after_seconds(exc, self.cap_seconds)
        if asked is not None:
            return asked
        return full_jitter(self.ceiling(retry))

    def call(
        self,
        func: Callable[[], T],
        *,
        path: str,
        what: str,
        may_retry: Callable[[BaseException], bool] | None = None,
    ) -> T:
        """Call ``func`` until it succeeds, fails for good, or retries run out.

        Args:
            func: One attempt; raises on failure.
            path: The URL path requested (no query string), for the WARNING.
            what: Which request, e.g. ``"stream 'fake', page 3"``.
            may_retry: Narrows :func:`is_retriable` for this request, e.g. a
                POST that the server may already have processed; a failure
                it refuses is raised at once.

        Returns:
            What ``func`` returned.

        Raises:
            RetriesExhausted: After the last transient failure allowed.
            Exception: A failure that is not transient, as ``func`` raised it.
        """
        started = clock()
        attempt = 1
        while True:
            try:
                return func()
            except Exception as exc:
                if not is_retriable(exc) or (
                    may_retry is not None and not may_retry(exc)
                ):
                    raise
                elapsed = clock() - started
                if attempt >= self.tries:
                    raise RetriesExhausted(exc, attempt, elapsed) from exc
                pause = self.wait(attempt, exc)
                if elapsed + pause > self.max_seconds:
                    raise RetriesExhausted(
                        exc, attempt, elapsed, self.max_seconds
                    ) from exc
                logger.warning(
                    "Retrying %s (%s) in %.2f s, attempt %d of %d: %s",
                    path,
                    what,
                    pause,
                    attempt + 1,
                    self.tries,
                    describe_error(exc),
                )
                sleep(pause)
                attempt += 1
