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
from http import HTTPStatus
from pathlib import Path
from types import TracebackType

import requests
import requests.exceptions

from tap_openapi import redaction
from tap_openapi.auth import TokenManager
from tap_openapi.defaults import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_SECONDS,
    DEFAULT_PAGE_SIZE,
    DEFAULT_REQUEST_TIMEOUT,
    MAX_PAGE_SIZE,
    default_user_agent,
)
from tap_openapi.envelope import (
    is_token_expired,
    parse_body,
    raise_for_status,
    unwrap,
    url_path,
)
from tap_openapi.errors import (
    ConfigurationError,
    OpenAPIError,
    RetriableTransportError,
    TransportError,
)
from tap_openapi.retry import (
    DEFAULT_BASE_SECONDS,
    DEFAULT_CAP_SECONDS,
    RetriesExhausted,
    RetryPolicy,
    describe_error,
    is_retriable,
    tls_error_message,
)
from tap_openapi.rows import RowConversionError, row_converter

logger = logging.getLogger(__name__)

T = t.TypeVar("T")

#: Methods the platform may receive twice without a second effect.
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def _may_resend(method: str, exc: BaseException) -> bool:
    """Tell whether a request whose attempt failed with ``exc`` may go again.

    Idempotent methods may. A POST only when the platform surely did not act
    on it: the connection was never made (a connect timeout), or the
    platform throttled it (429); a second POST after a 5xx, a reset or a
    garbled answer could create a second item.
    """
    if method in _IDEMPOTENT:
        return True
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    response = getattr(exc, "response", None)
    return response is not None and response.status_code == HTTPStatus.TOO_MANY_REQUESTS


def _bearer_token(response: requests.Response) -> str:
    """Return the access token ``response``'s request was sent with."""
    header = str(response.request.headers.get("Authorization", ""))
    return header.removeprefix("Bearer ")


def _in(where: str) -> str:
    return f" ({where})" if where else ""


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
    after the retries). Messages never carry a secret value.

    Retries follow the tap's policy (:class:`tap_openapi.retry.RetryPolicy`):
    429, 5xx, resets, timeouts and garbled bodies are retried with
    exponential backoff and full jitter, ``Retry-After`` honoured, until
    ``max_retries`` or the ``max_retry_seconds`` budget runs out, and each
    retry logs the tap's WARNING line. A POST is sent again only when the
    platform cannot have acted on it (429, or no connection made).

    A 401 whose ``X-Ca-Error-Code`` is ``A401OT`` (token expired) or ``A401AT``
    (token unknown), or that has no such header, gets one retry with a new
    token; any other 401 is an ``HTTPStatusError`` at once, as a new token
    would not fix it; its message names the code and what to check. The tap
    applies the same rule, through the same predicate
    (``tap_openapi.envelope.is_token_expired``). Defaults (timeout, retries,
    retry budget, page size, User-Agent) are the tap's, from
    :mod:`tap_openapi.defaults`.

    Args:
        settings: The tap's settings (``base_url``, ``client_id``, ``grant_type``
            ...); see :class:`~tap_openapi.auth.TokenManager`.
        session: An HTTP session to use (it is then not closed by the client).
        token_manager: A token manager to share with other clients.

    Raises:
        ConfigurationError: If a setting is missing or wrong.
    """

    #: Ceiling of the first wait before a retry, doubled at each attempt.
    retry_base_seconds: float = DEFAULT_BASE_SECONDS
    #: Longest wait between two attempts, ``Retry-After`` included.
    retry_max_seconds: float = DEFAULT_CAP_SECONDS

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
        self._user_agent = str(settings.get("user_agent") or default_user_agent())
        self.tokens = token_manager or TokenManager(settings, session)
        try:
            self.timeout = float(
                settings.get("request_timeout") or DEFAULT_REQUEST_TIMEOUT
            )
            retries = settings.get("max_retries")
            self.max_retries = DEFAULT_MAX_RETRIES if retries is None else int(retries)
            budget = settings.get("max_retry_seconds")
            self.max_retry_seconds = (
                DEFAULT_MAX_RETRY_SECONDS if budget is None else float(budget)
            )
            self.page_size = int(settings.get("page_size") or DEFAULT_PAGE_SIZE)
        except (TypeError, ValueError) as exc:
            msg = (
                "Settings request_timeout, max_retries, max_retry_seconds and "
                "page_size must be numbers"
            )
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
        try:
            return self._request(method, path, params, json, where)
        except OpenAPIError as exc:
            # The platform may echo a credential in an error header or errMsg.
            redaction.scrub(exc, self.tokens.secret_values())
            raise

    def _request(
        self,
        method: str,
        path: str,
        params: Mapping[str, t.Any] | None,
        json: t.Any,
        where: str,
    ) -> t.Any:
        method = method.upper()
        path = "/" + path.lstrip("/")
        url = self.base_url + path
        what = f"{method} request, {where}" if where else f"{method} request"

        def attempt() -> t.Any:
            response = self._send(method, url, params, json)
            if is_token_expired(response):
                # A401OT: the token expired early; A401AT: the server forgot
                # it (e.g. a cached token after a restart). One new token, one
                # more try, as the tap does. Other 401 codes (e.g. a client
                # calling from a refused address) are not about the token:
                # they go on to raise_for_status as HTTPStatusError.
                logger.warning(
                    "Access token expired on %s (%s); renewing it and retrying once",
                    path,
                    what,
                )
                self.tokens.invalidate(_bearer_token(response))
                response = self._send(method, url, params, json)
            raise_for_status(response, where)
            payload = parse_body(response, where)
            return unwrap(payload, path, where)

        try:
            return self.retry_policy.call(
                attempt,
                path=path,
                what=what,
                may_retry=lambda exc: _may_resend(method, exc),
            )
        except RetriesExhausted as exc:
            msg = exc.message(f"{method} {path}{_in(where)} failed: ")
            raise TransportError(msg) from exc.last
        except RetriableTransportError as exc:
            # A failure _may_resend refused: the platform may have acted on it.
            msg = f"{exc} (not retried: the platform may have processed the "
            msg += f"{method})"
            raise TransportError(msg) from exc
        except requests.exceptions.SSLError as exc:
            raise TransportError(tls_error_message(exc, url)) from exc
        except requests.RequestException as exc:
            msg = f"{method} {path}{_in(where)} failed: {describe_error(exc)}"
            if is_retriable(exc):  # refused by _may_resend
                msg += f" (not retried: the platform may have processed the {method})"
            else:
                msg += "; check base_url and the network"
            raise TransportError(msg) from exc

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, t.Any] | None,
        json: t.Any,
    ) -> requests.Response:
        """Send one HTTP request with the current token; raises on no answer."""
        token = self.tokens.access_token()
        started = time.perf_counter()
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
        logger.debug(
            "%s %s -> %d (%.0f ms)",
            method,
            url_path(url),
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry policy of every call, the tap's (:mod:`tap_openapi.retry`)."""
        return RetryPolicy(
            max_retries=self.max_retries,
            max_seconds=self.max_retry_seconds,
            base_seconds=self.retry_base_seconds,
            cap_seconds=self.retry_max_seconds,
        )

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
