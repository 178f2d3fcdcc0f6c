"""The Python client library: call the platform's APIs, iterate rows as objects.

Example:
    >>> from dataclasses import dataclass
    >>> from datetime import datetime
    >>> from tap_openapi import OpenAPIClient
    >>> @dataclass
    ... class Fake:
    ...     id: int
    ...     colString1: str
    ...     colSqlTime1: datetime
    >>> with OpenAPIClient.from_config("config.json") as client:  # doctest: +SKIP
    ...     item = client.post("/api/v1/items", json={"name": "pen"})
    ...     for row in client.iter_rows("/api/v1/sync/fake", model=Fake):
    ...         print(row.id, row.colSqlTime1.year)
"""

from __future__ import annotations

import json
import logging
import os
import time
import typing as t
from collections.abc import Generator, Iterator, Mapping
from importlib import metadata
from pathlib import Path
from types import TracebackType

import requests

from tap_openapi.auth import DEFAULT_MAX_RETRIES, TokenManager, retry_delay
from tap_openapi.envelope import (
    RETRIABLE_STATUSES,
    parse_body,
    raise_for_status,
    unwrap,
)
from tap_openapi.errors import (
    ConfigurationError,
    RetriableTransportError,
    TransportError,
)
from tap_openapi.rows import RowConversionError, row_converter

logger = logging.getLogger(__name__)

T = t.TypeVar("T")

#: The platform caps ``pageSize`` at this.
MAX_PAGE_SIZE = 2000
DEFAULT_TIMEOUT = 300.0

#: Failures after which the request may not have reached the server's logic,
#: so even a POST can be sent again.
_NOT_PROCESSED = (requests.exceptions.ConnectTimeout,)
#: Failures worth another try for idempotent methods.
_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def _user_agent() -> str:
    try:
        return f"tap-openapi/{metadata.version('tap-openapi')}"
    except metadata.PackageNotFoundError:  # pragma: no cover - source checkout
        return "tap-openapi"


def load_config(
    config: str | os.PathLike[str] | Mapping[str, t.Any],
) -> dict[str, t.Any]:
    """Return the settings from a JSON file path or a mapping.

    Raises:
        ConfigurationError: If the file cannot be read or is not a JSON object.
    """
    if isinstance(config, Mapping):
        return dict(config)
    path = Path(config).expanduser()
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        msg = f"Cannot read config file {path}: {exc.strerror}"
        raise ConfigurationError(msg) from exc
    except ValueError as exc:
        msg = f"Config file {path} is not valid JSON: {exc}"
        raise ConfigurationError(msg) from exc
    if not isinstance(settings, dict):
        msg = f"Config file {path} must hold a JSON object"
        raise ConfigurationError(msg)
    return settings


class OpenAPIClient:
    """A client for the platform's APIs that shares one token manager.

    Every call unwraps the envelope and returns its ``data``; failures raise
    typed errors: :class:`~tap_openapi.errors.PlatformError` (``errCode != 0``),
    :class:`~tap_openapi.errors.HTTPStatusError` (4xx),
    :class:`~tap_openapi.errors.AuthenticationError` (token endpoint refused)
    and :class:`~tap_openapi.errors.TransportError` (unreachable, or 429/5xx
    after ``max_retries`` retries). A 401 gets one retry with a new token.

    Args:
        settings: The tap's settings (``base_url``, ``client_id``, ``grant_type``
            ...); see :class:`~tap_openapi.auth.TokenManager`.
        session: An HTTP session to use (it is then not closed by the client).
        token_manager: A token manager to share with other clients.

    Raises:
        ConfigurationError: If a setting is missing or wrong.
    """

    def __init__(
        self,
        settings: Mapping[str, t.Any],
        *,
        session: requests.Session | None = None,
        token_manager: TokenManager | None = None,
    ) -> None:
        base_url = str(settings.get("base_url") or "").rstrip("/")
        if not base_url:
            msg = "Setting base_url is required"
            raise ConfigurationError(msg)
        self.base_url = base_url
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            if settings.get("verify_tls") is False:
                logger.warning(
                    "verify_tls is false: the platform's TLS certificate is not checked"
                )
                session.verify = False
        self._session = session
        # Per request, so a session passed in by the caller is left as it is.
        self._user_agent = str(settings.get("user_agent") or _user_agent())
        self.tokens = token_manager or TokenManager(settings, session)
        try:
            self.timeout = float(settings.get("request_timeout") or DEFAULT_TIMEOUT)
            retries = settings.get("max_retries")
            self.max_retries = DEFAULT_MAX_RETRIES if retries is None else int(retries)
            self.page_size = int(settings.get("page_size") or MAX_PAGE_SIZE)
        except (TypeError, ValueError) as exc:
            msg = "Settings request_timeout, max_retries and page_size must be numbers"
            raise ConfigurationError(msg) from exc

    @classmethod
    def from_config(
        cls,
        config: str | os.PathLike[str] | Mapping[str, t.Any],
        **overrides: t.Any,
    ) -> OpenAPIClient:
        """Build a client from a tap config file (JSON) or a settings mapping.

        Args:
            config: Path of the tap's config file, or the settings themselves.
            **overrides: Settings that replace those of ``config``.

        Raises:
            ConfigurationError: If the file is unreadable or a setting is wrong.
        """
        settings = load_config(config)
        settings.update(overrides)
        return cls(settings)

    def __repr__(self) -> str:
        return f"OpenAPIClient(base_url={self.base_url!r})"

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP session (if the client created it)."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> OpenAPIClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- calls -----------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, t.Any] | None = None) -> t.Any:
        """GET ``path`` and return the envelope's ``data``."""
        return self.request("GET", path, params=params)

    def post(
        self,
        path: str,
        params: Mapping[str, t.Any] | None = None,
        json: t.Any = None,
    ) -> t.Any:
        """POST ``json`` to ``path`` and return the envelope's ``data``."""
        return self.request("POST", path, params=params, json=json)

    def put(
        self,
        path: str,
        params: Mapping[str, t.Any] | None = None,
        json: t.Any = None,
    ) -> t.Any:
        """PUT ``json`` to ``path`` and return the envelope's ``data``."""
        return self.request("PUT", path, params=params, json=json)

    def delete(
        self,
        path: str,
        params: Mapping[str, t.Any] | None = None,
        json: t.Any = None,
    ) -> t.Any:
        """DELETE ``path`` and return the envelope's ``data``."""
        return self.request("DELETE", path, params=params, json=json)

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, t.Any] | None = None,
        json: t.Any = None,
        *,
        where: str = "",
    ) -> t.Any:
        """Send one API request and return the envelope's ``data``.

        Args:
            method: The HTTP method.
            path: The API path, e.g. ``/api/v1/items``.
            params: Query parameters.
            json: The JSON body.
            where: Context for error messages (e.g. ``"page 3"``).

        Raises:
            PlatformError: HTTP 200 with ``errCode != 0``.
            HTTPStatusError: An HTTP 4xx answer (or 401 twice in a row).
            AuthenticationError: The token endpoint refused.
            TransportError: Unreachable, or still failing after the retries.
        """
        method = method.upper()
        path = "/" + path.lstrip("/")
        url = self.base_url + path
        renewed = False
        attempt = 0
        while True:
            token = self.tokens.access_token()
            started = time.perf_counter()
            try:
                response = self._session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "User-Agent": self._user_agent,
                    },
                    timeout=self.timeout,
                )
            except requests.RequestException as exc:
                if self._may_retry(method, exc, attempt):
                    self._pause(method, path, type(exc).__name__, attempt, None)
                    attempt += 1
                    continue
                msg = f"{method} {path}"
                if where:
                    msg += f" ({where})"
                msg += f" failed after {attempt + 1} attempt(s): {type(exc).__name__}"
                raise TransportError(msg) from exc
            status = response.status_code
            logger.debug(
                "%s %s -> %d (%.0f ms)",
                method,
                path,
                status,
                (time.perf_counter() - started) * 1000,
            )
            if status == 401 and not renewed:
                # A401OT: the token expired early; A401AT: the server forgot it
                # (e.g. a cached token after a restart). One new token, one retry.
                logger.info(
                    "%s %s: access token rejected (%s); renewing and retrying once",
                    method,
                    path,
                    response.headers.get("X-Ca-Error-Code", "HTTP 401"),
                )
                self.tokens.invalidate(token)
                renewed = True
                continue
            if status in RETRIABLE_STATUSES and self._may_retry(
                method, status, attempt
            ):
                self._pause(
                    method,
                    path,
                    f"HTTP {status}",
                    attempt,
                    response.headers.get("Retry-After"),
                )
                attempt += 1
                continue
            try:
                raise_for_status(response, where)
                payload = parse_body(response, where)
            except RetriableTransportError as exc:
                if status < 400 and self._may_retry(method, None, attempt):
                    self._pause(method, path, "unusable body", attempt, None)
                    attempt += 1
                    continue
                msg = f"{exc} (gave up after {attempt + 1} attempt(s))"
                raise TransportError(msg) from exc
            return unwrap(payload, path, where)

    def _may_retry(
        self, method: str, failure: int | BaseException | None, attempt: int
    ) -> bool:
        """Retry idempotent calls on transient failures; a POST only if unsent."""
        if attempt >= self.max_retries:
            return False
        if isinstance(failure, BaseException):
            if isinstance(failure, _NOT_PROCESSED):
                return True
            return method in _IDEMPOTENT and isinstance(failure, _TRANSIENT)
        if failure == 429:
            return True  # throttled: the platform did not process it
        return method in _IDEMPOTENT

    @staticmethod
    def _pause(
        method: str, path: str, why: str, attempt: int, retry_after: str | None
    ) -> None:
        delay = retry_delay(attempt, retry_after)
        logger.warning(
            "%s %s: %s; retry %d in %.1f s", method, path, why, attempt + 1, delay
        )
        time.sleep(delay)

    # -- paged reading -----------------------------------------------------------------

    def iter_pages(
        self,
        path: str,
        params: Mapping[str, t.Any] | None = None,
        since_ts: int | None = None,
        page_size: int | None = None,
    ) -> Iterator[list[dict[str, t.Any]]]:
        """Yield the ``data.rows`` list of each page, one page in memory at a time.

        Args:
            path: A paged API, e.g. ``/api/v1/sync/fakewithts``.
            params: Extra query parameters (e.g. ``{"full": 1}``).
            since_ts: Only rows updated at or after this unix time (sent as ``ts``).
            page_size: Rows per page (the platform caps it at 2000).

        Raises:
            PlatformError: If the platform answers ``errCode != 0``.
            TransportError: If a page has no ``data.rows`` list.
        """
        size = max(1, min(int(page_size or self.page_size), MAX_PAGE_SIZE))
        query = dict(params or {})
        if since_ts is not None:
            query["ts"] = int(since_ts)
        query["pageSize"] = size
        page_num = 1
        while True:
            query["pageNum"] = page_num
            where = f"page {page_num}"
            data = self.request("GET", path, params=query, where=where)
            rows = data.get("rows") if isinstance(data, dict) else None
            if not isinstance(rows, list):
                msg = f"Response of {path} ({where}) has no data.rows list"
                raise TransportError(msg)
            logger.debug("%s page %d: %d rows", path, page_num, len(rows))
            if not rows:
                return
            yield rows
            served = int(data.get("pageSize") or size)
            total = data.get("totalNum")
            if len(rows) < served or (
                total is not None and page_num * served >= int(total)
            ):
                return
            page_num += 1

    @t.overload
    def iter_rows(
        self,
        path: str,
        model: None = None,
        params: Mapping[str, t.Any] | None = None,
        since_ts: int | None = None,
        page_size: int | None = None,
    ) -> Generator[dict[str, t.Any], None, None]: ...

    @t.overload
    def iter_rows(
        self,
        path: str,
        model: type[T],
        params: Mapping[str, t.Any] | None = None,
        since_ts: int | None = None,
        page_size: int | None = None,
    ) -> Generator[T, None, None]: ...

    def iter_rows(
        self,
        path: str,
        model: type[T] | None = None,
        params: Mapping[str, t.Any] | None = None,
        since_ts: int | None = None,
        page_size: int | None = None,
    ) -> Generator[T, None, None] | Generator[dict[str, t.Any], None, None]:
        """Yield every row of a paged API, as dicts or ``model`` instances.

        Pages are fetched one at a time as the caller consumes rows, so memory
        stays flat however many rows the API has.

        Args:
            path: A paged API, e.g. ``/api/v1/sync/fake``.
            model: A dataclass or pydantic model class; ``None`` yields dicts.
            params: Extra query parameters (e.g. ``{"full": 1}``).
            since_ts: Only rows updated at or after this unix time (sent as ``ts``).
            page_size: Rows per page (the platform caps it at 2000).

        Raises:
            RowConversionError: If a row does not fit ``model``.
        """
        if model is None:
            return self._iter_dicts(path, params, since_ts, page_size)
        return self._iter_models(path, model, params, since_ts, page_size)

    def _iter_dicts(
        self,
        path: str,
        params: Mapping[str, t.Any] | None,
        since_ts: int | None,
        page_size: int | None,
    ) -> Generator[dict[str, t.Any], None, None]:
        started, count = time.perf_counter(), 0
        for rows in self.iter_pages(path, params, since_ts, page_size):
            count += len(rows)
            yield from rows
        self._log_total(path, count, started)

    def _iter_models(
        self,
        path: str,
        model: type[T],
        params: Mapping[str, t.Any] | None,
        since_ts: int | None,
        page_size: int | None,
    ) -> Generator[T, None, None]:
        convert = row_converter(model)
        started, count = time.perf_counter(), 0
        for page_num, rows in enumerate(
            self.iter_pages(path, params, since_ts, page_size), start=1
        ):
            for index, row in enumerate(rows, start=1):
                try:
                    item = convert(row)
                except (TypeError, ValueError) as exc:
                    msg = (
                        f"Row {index} of page {page_num} of {path} (id="
                        f"{row.get('id')!r}) does not fit {model.__name__}: {exc}"
                    )
                    raise RowConversionError(msg) from exc
                yield item
            count += len(rows)
        self._log_total(path, count, started)

    @staticmethod
    def _log_total(path: str, count: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        logger.info(
            "Read %d rows from %s in %.1f s (%.0f rows/s)",
            count,
            path,
            elapsed,
            count / elapsed if elapsed > 0 else 0.0,
        )
