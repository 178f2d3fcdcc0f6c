"""The REST stream base: paging, concurrency, retries, token renewal, bookmarks.

:class:`OpenAPIStream` reads one paged API of the platform. Page 1 is read
alone; when it carries ``totalNum``, the remaining pages are requested
``max_concurrent_requests`` at a time and their rows are emitted strictly in
page order (see :mod:`tap_openapi.fetcher`), so bookmarks of sorted streams
stay correct and memory stays flat.

Incremental streams page by keyset instead, by default (see
:class:`tap_openapi.pagination.KeysetPaginator`): one request at a time, each
starting from the last row read, because offsets over a result that changes
while it is read can skip rows. ``incremental_paging: offset`` brings back the
concurrent page-number reads for them.

Every page request is retried under :class:`tap_openapi.retry.RetryPolicy`
(the token endpoint's policy too). A read that brings every row (a full-table
stream, or an incremental one from 0 with no bookmark) carries a table
version and ends with ACTIVATE_VERSION; a read that fails never sends it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
import math
import sys
import time
import typing as t
from http import HTTPStatus

import requests
import requests.exceptions
from singer_sdk import RESTStream
from singer_sdk import singerlib as singer
from singer_sdk.helpers._util import utc_now
from singer_sdk.mapper import SameRecordTransform

from tap_openapi.defaults import (
    DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_SECONDS,
    DEFAULT_PAGE_SIZE,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_START_TS,
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
    TransportError,
)
from tap_openapi.fetcher import fetch_in_order
from tap_openapi.pagination import (
    RECORDS_PATH_HINT,
    KeysetPaginator,
    PageNumberPaginator,
    lookup,
    shape_error,
)
from tap_openapi.retry import (
    DEFAULT_BASE_SECONDS,
    DEFAULT_CAP_SECONDS,
    RETRIABLE_ERRORS,
    RetriesExhausted,
    RetryPolicy,
    describe_error,
    tls_error_message,
)
from tap_openapi.schema_inference import infer_schema, rows_match_schema
from tap_openapi.streams import (
    DELETED_MARK,
    INCLUDE_DELETED_PARAM,
    SDC_DELETED_AT,
    StreamSettings,
    describe_properties,
    missing_key,
)
from tap_openapi.writer import BufferedJSONWriter

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Iterator

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_openapi.authenticator import TokenManagerAuthenticator

logger = logging.getLogger(__name__)

__all__ = ["RETRIABLE_ERRORS", "Connection", "OpenAPIStream", "describe_error"]

#: Rows asked for when a schema must be inferred.
SAMPLE_PAGE_SIZE = 200

#: How to fix an HTTP error answer to a page request, by status; 401 and 403
#: are the client's, not the stream's (:func:`tap_openapi.envelope.access_hint`).
STATUS_HINTS: dict[int, str] = {
    HTTPStatus.BAD_REQUEST: (
        "check the stream's params and incremental_param settings"
    ),
    HTTPStatus.NOT_FOUND: "check the stream's path setting (and base_url)",
}


class PageFetch(t.Protocol):
    """``fetch(page_num[, start]) -> envelope``, with retries; thread-safe."""

    def __call__(self, page_num: int, start: t.Any = ..., /) -> dict[str, t.Any]:
        """Fetch one page, from ``start`` if given, else the fetcher's start."""
        ...


@dataclasses.dataclass(frozen=True)
class Connection:
    """What every stream of a run shares: one HTTP session, one token.

    The defaults are the settings' defaults (:mod:`tap_openapi.defaults`),
    which the tap's config schema and the client library use as well.

    Attributes:
        session: Keep-alive session whose pool fits the concurrent requests.
        authenticator: Signs requests with the run's single token manager.
        page_size: ``pageSize`` to request (the platform caps it at 2000).
        max_concurrent_requests: Page requests in flight per stream.
        request_timeout: Seconds to wait for a connection or a read.
        max_retries: Retries of one request after a transient failure.
        max_retry_seconds: Time budget of one request's retries.
        user_agent: The ``User-Agent`` header.
        start_ts: Where incremental streams start without a bookmark.
    """

    session: requests.Session
    authenticator: TokenManagerAuthenticator
    page_size: int = DEFAULT_PAGE_SIZE
    max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    user_agent: str = dataclasses.field(default_factory=default_user_agent)
    start_ts: int = DEFAULT_START_TS
    max_retry_seconds: float = DEFAULT_MAX_RETRY_SECONDS


class OpenAPIStream(RESTStream[int]):
    """A paged API of the platform, as declared by a ``streams`` item.

    Args:
        tap: The tap.
        settings: The ``streams`` item.
        connection: The session and token shared by the run's streams.

    Example:
        >>> from tap_openapi.streams import StreamSettings  # doctest: +SKIP
        >>> OpenAPIStream(tap, StreamSettings("fake", "/api/v1/sync/fake"),
        ...               tap.connection)  # doctest: +SKIP
    """

    #: First wait before a retry, doubled at each attempt (with full jitter).
    retry_base_seconds: float = DEFAULT_BASE_SECONDS
    #: Longest wait between two attempts, ``Retry-After`` included.
    retry_max_seconds: float = DEFAULT_CAP_SECONDS
    #: Seconds between two progress lines of a stream.
    progress_interval_seconds: float = 10.0

    def __init__(
        self,
        tap: Tap,
        settings: StreamSettings,
        connection: Connection,
    ) -> None:
        self.settings = settings
        self.connection = connection
        super().__init__(tap, name=settings.name, path=settings.path)
        self._requests_session = connection.session
        self.primary_keys = list(settings.primary_keys)
        self.replication_key = settings.replication_key
        self.page_size = connection.page_size
        if self.replication_key:
            # A STATE per page: a restarted run re-reads one page at most.
            self.STATE_MSG_FREQUENCY = connection.page_size
        self._schema_inferred = False
        self._needs_conform = True
        self._fast_records = False
        self._extracted_at = utc_now()
        self._records_done = False
        self._send_settings: dict[str, t.Any] | None = None

    # --- declaration -----------------------------------------------------

    @property
    @override
    def url_base(self) -> str:
        return str(self.config["base_url"]).rstrip("/")

    @property
    @override
    def authenticator(self) -> TokenManagerAuthenticator:
        return self.connection.authenticator

    @property
    @override
    def requests_session(self) -> requests.Session:
        return self.connection.session

    @property
    @override
    def timeout(self) -> int:
        return math.ceil(self.connection.request_timeout)

    @property
    @override
    def user_agent(self) -> str:
        return self.connection.user_agent

    @property
    @override
    def is_sorted(self) -> bool:
        """Incremental APIs return rows in ``updated_at`` order."""
        return self.replication_key is not None

    @property
    def pages_by_keyset(self) -> bool:
        """Whether this stream re-anchors each request at the last row read."""
        return bool(self.replication_key) and (
            self.settings.incremental_paging == "keyset"
        )

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        return bool(self.config.get("emit_activate_version_messages", True))

    @property
    @override
    def schema(self) -> dict[str, t.Any]:
        """The stream's JSON Schema: from the catalog, the settings, or inferred.

        Inference reads one sample page of :data:`SAMPLE_PAGE_SIZE` rows, and
        only when neither a catalog nor the ``schema`` setting gives one.
        """
        if self._schema is None:
            if self._input_schema is not None:
                self._schema = self._input_schema
            elif self.settings.schema is not None:
                self._schema = self._with_sdc_columns(dict(self.settings.schema))
            else:
                inferred = self._with_sdc_columns(self._infer_schema())
                # Before discovery writes a catalog the sync would refuse.
                self.check_keys(inferred, "inferred")
                self._schema = inferred
                self._schema_inferred = True
        return self._schema

    def check_keys(self, schema: dict[str, t.Any], source: str) -> None:
        """Raise if a key column of this stream is not in ``schema``.

        Settings with a ``schema`` are checked with the config, before any
        request; this covers inferred schemas and catalogs.

        Args:
            schema: The schema the stream will use.
            source: ``"inferred"``, ``"catalog"`` or ``"settings"``.

        Raises:
            ConfigurationError: Naming the stream, the key and the schema's
                properties, and how to fix it.
        """
        problem = missing_key(self.primary_keys, self.replication_key, schema)
        if problem is None:
            return
        setting, key = problem
        head = f"Stream '{self.name}': {setting} names '{key}'"
        columns = describe_properties(schema)
        if source == "inferred":
            msg = (
                f"{head}, which the API's rows do not have (schema inferred from "
                f"a sample page; {columns}): correct {setting} in the stream's "
                "settings, or give the stream a schema that has the column"
            )
        elif source == "catalog":
            msg = (
                f"{head}, which is not a property of the stream's schema in the "
                f"catalog ({columns}): correct the catalog, or write a new one "
                "with --discover"
            )
        else:
            msg = (
                f"{head}, which is not a property of the stream's schema "
                f"({columns}): add '{key}' to the schema or correct {setting}"
            )
        raise ConfigurationError(msg)

    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> t.Any:
        """Check the key columns against the schema in use; no signpost.

        singer-sdk calls this first when a stream starts to sync, before any
        message is written: the place to refuse a schema without the keys
        (its own check would end the run on a raw ``InvalidReplicationKey``
        traceback, and only for the replication key).

        Args:
            context: Stream partition context.

        Returns:
            What singer-sdk returns (no signpost for integer bookmarks).
        """
        if self._input_schema is not None:
            self.check_keys(self._input_schema, "catalog")
        else:
            self.check_keys(self.schema, "settings")
        return super().get_replication_key_signpost(context)

    def _with_sdc_columns(self, schema: dict[str, t.Any]) -> dict[str, t.Any]:
        if self.settings.include_deleted:
            properties = dict(schema.get("properties") or {})
            properties.setdefault(
                SDC_DELETED_AT, {"type": ["string", "null"], "format": "date-time"}
            )
            schema = {**schema, "properties": properties}
        return schema

    def _infer_schema(self) -> dict[str, t.Any]:
        rows = self.sample_rows()
        if rows:
            logger.info(
                "Stream '%s': schema inferred from %d sample rows",
                self.name,
                len(rows),
            )
            return infer_schema(rows)
        logger.warning(
            "Stream '%s': the API returned no rows to infer a schema from; "
            "only the key columns are declared. Set 'schema' in its settings.",
            self.name,
        )
        properties: dict[str, t.Any] = {
            key: {"type": ["integer", "string", "null"]} for key in self.primary_keys
        }
        if self.replication_key:
            properties[self.replication_key] = {"type": ["integer", "null"]}
        return {"type": "object", "properties": properties}

    def sample_rows(self) -> list[dict[str, t.Any]]:
        """Read page 1 with a small page size, to infer the schema from.

        Returns:
            The sample page's rows.
        """
        size = min(SAMPLE_PAGE_SIZE, self.page_size)
        # From start_ts, not the bookmark: the oldest rows are the likeliest.
        fetch = self._page_fetcher(None, self.connection.start_ts, page_size=size)
        payload = fetch(1)
        return self._rows_of(payload, 1)

    # --- requests ----------------------------------------------------------

    @override
    def get_new_paginator(self) -> PageNumberPaginator:
        return PageNumberPaginator(
            page_size=self.page_size,
            records_path=self.settings.records_path,
            context=f"stream '{self.name}'",
        )

    @override
    def get_url_params(
        self, context: Context | None, next_page_token: int | None
    ) -> dict[str, t.Any]:
        """Query parameters of a page: ``params``, paging and ``full=1``.

        The incremental parameter is added when the request is prepared, from
        the start value fixed for the whole run.
        """
        params: dict[str, t.Any] = dict(self.settings.params)
        params["pageNum"] = next_page_token or 1
        params["pageSize"] = self.page_size
        if self.settings.include_deleted:
            params[INCLUDE_DELETED_PARAM] = 1
        return params

    def start_value(self, context: Context | None) -> t.Any:
        """Where this run starts: the bookmark from state, else ``start_ts``.

        Args:
            context: Stream partition context (unused by the platform's APIs).

        Returns:
            The value sent as ``{incremental_param}`` (rows at or after it).
        """
        value = self.get_starting_replication_key_value(context)
        return self.connection.start_ts if value is None else value

    def reads_every_row(self, start: t.Any) -> bool:
        """Tell whether a read from ``start`` brings every row the API has.

        A full-table stream always does. An incremental stream does when it
        starts from 0: no bookmark and ``start_ts: 0``, as in its first run
        or a periodic full resync (``meltano run --full-refresh``).

        Args:
            start: The value :meth:`start_value` gave (None for full table).

        Returns:
            True if a target may remove the rows this read does not bring.
        """
        if not self.replication_key:
            return True
        return isinstance(start, int) and not isinstance(start, bool) and start == 0

    def _prepare(
        self, context: Context | None, page_num: int, page_size: int, start: t.Any
    ) -> requests.PreparedRequest:
        params = self.get_url_params(context, page_num)
        params["pageSize"] = page_size
        if self.replication_key:
            # Fixed for the whole run, not the bookmark: that moves as rows
            # are emitted, and the pages would shift under the paginator.
            params[self.settings.incremental_param] = start
        request = requests.Request(
            method=self.http_method,
            url=self.get_url(context),
            params=params,
            headers={**self.http_headers, "User-Agent": self.user_agent},
            auth=self.authenticator,
        )
        return self.requests_session.prepare_request(request)

    def _send(self, request: requests.PreparedRequest) -> requests.Response:
        session = self.requests_session
        if self._send_settings is None:
            # Session.send, unlike Session.get, ignores the environment:
            # REQUESTS_CA_BUNDLE, HTTPS_PROXY and NO_PROXY must apply to pages
            # as they do to token requests. verify_tls: false stays false.
            verify = False if session.verify is False else None
            self._send_settings = dict(
                session.merge_environment_settings(request.url, {}, None, verify, None)
            )
        settings = self._send_settings
        return session.send(
            request, timeout=self.connection.request_timeout, **settings
        )

    def _fetch_page_once(
        self, context: Context | None, page_num: int, page_size: int, start: t.Any
    ) -> dict[str, t.Any]:
        where = f"stream '{self.name}', page {page_num}"
        request = self._prepare(context, page_num, page_size, start)
        response = self._send(request)
        if is_token_expired(response):
            # The platform says A401OT: renew once; a second 401 is fatal.
            logger.warning(
                "Access token expired on %s (%s); renewing it and retrying once",
                url_path(response.url),
                where,
            )
            self.authenticator.invalidate(request)
            request = self._prepare(context, page_num, page_size, start)
            response = self._send(request)
        raise_for_status(response, where, STATUS_HINTS)
        payload = parse_body(response, where)
        unwrap(payload, url_path(response.url), where)
        return payload

    def _page_fetcher(
        self, context: Context | None, start: t.Any, *, page_size: int | None = None
    ) -> PageFetch:
        """Return ``fetch(page_num[, start]) -> envelope`` with retries; thread-safe.

        ``start`` is the incremental parameter's value; a keyset stream passes
        each request's own, the others keep the one given here.
        """
        size = page_size or self.page_size
        policy = self.retry_policy
        default_start = start

        def fetch(page_num: int, start: t.Any = default_start, /) -> dict[str, t.Any]:
            where = f"stream '{self.name}', page {page_num}"
            try:
                return policy.call(
                    lambda: self._fetch_page_once(context, page_num, size, start),
                    path=self.path,
                    what=where,
                )
            except RetriesExhausted as exc:
                msg = exc.message(f"Stream '{self.name}', page {page_num}: ")
                raise TransportError(msg) from exc.last
            except requests.exceptions.SSLError as exc:
                msg = f"Stream '{self.name}', page {page_num}: "
                msg += tls_error_message(exc, self.url_base)
                raise TransportError(msg) from exc
            except requests.RequestException as exc:
                msg = f"Stream '{self.name}', page {page_num}: request to "
                msg += f"{self.path} failed: {describe_error(exc)}"
                raise TransportError(msg) from exc

        return fetch

    @property
    def retry_policy(self) -> RetryPolicy:
        """The run's retry policy (:mod:`tap_openapi.retry`) for this stream."""
        return RetryPolicy(
            max_retries=self.connection.max_retries,
            max_seconds=self.connection.max_retry_seconds,
            base_seconds=self.retry_base_seconds,
            cap_seconds=self.retry_max_seconds,
        )

    # --- records -----------------------------------------------------------

    def _rows_of(self, payload: t.Mapping[str, t.Any], page_num: int) -> list[t.Any]:
        rows = lookup(payload, self.settings.records_path)
        if not isinstance(rows, list):
            owner = f"Stream '{self.name}', page {page_num}"
            raise shape_error(
                owner, self.settings.records_path, "a list", rows, RECORDS_PATH_HINT
            )
        return rows

    def _new_paginator(self, start: t.Any) -> PageNumberPaginator:
        if not self.pages_by_keyset:
            return self.get_new_paginator()
        return KeysetPaginator(
            page_size=self.page_size,
            replication_key=t.cast("str", self.replication_key),
            start=start,
            primary_keys=self.primary_keys,
            records_path=self.settings.records_path,
            context=f"stream '{self.name}'",
        )

    def _pages(
        self, context: Context | None, start: t.Any, paginator: PageNumberPaginator
    ) -> Iterator[list[t.Any]]:
        """Yield the rows of each page in order, concurrently once we can."""
        fetch = self._page_fetcher(context, start)
        if isinstance(paginator, KeysetPaginator):
            # Each request depends on the page before it: one at a time.
            while not paginator.finished:
                yield paginator.take(fetch(paginator.current_value, paginator.anchor))
            return
        while not paginator.finished:
            # Leaving a batch early (last page reached sooner than planned, or
            # an empty page) cancels the requests it no longer needs.
            with contextlib.closing(self._batch(fetch, paginator)) as payloads:
                for payload in payloads:
                    rows = paginator.read(payload)
                    paginator.advance_with_rows(rows)
                    yield rows
                    if paginator.finished:
                        break

    def _batch(
        self,
        fetch: PageFetch,
        paginator: PageNumberPaginator,
    ) -> Generator[dict[str, t.Any], None, None]:
        """The next pages: all known ones concurrently, else just the next one."""
        first, last = paginator.current_value, paginator.last_page
        workers = self.connection.max_concurrent_requests
        if last is None or last <= first or workers <= 1:
            yield fetch(first)
            return
        pages = range(first, last + 1)
        yield from fetch_in_order(fetch, pages, workers=workers, name=self.name)

    @override
    def request_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """Emit every row of every page, in page order.

        Args:
            context: Stream partition context.

        Yields:
            The API's rows, as they come.
        """
        started = last_log = time.monotonic()
        count = 0
        bookmark = None
        key = self.replication_key
        start = self.start_value(context) if key else None
        paginator = self._new_paginator(start)
        self._records_done = False
        self._stream_version = None
        if self.emit_activate_version_messages and self.reads_every_row(start):
            # The tap's start in milliseconds (the SDK's default is seconds,
            # so two full syncs within one second would share a version).
            self._stream_version = self._initialized_at
            if key:
                logger.info(
                    "Stream '%s': reading every row (no bookmark, %s=0); "
                    "ACTIVATE_VERSION %d follows the last one",
                    self.name,
                    self.settings.incremental_param,
                    self._stream_version,
                )
        if key:
            logger.info(
                "Stream '%s': reading %s from %s=%s (%s paging)",
                self.name,
                self.path,
                self.settings.incremental_param,
                start,
                self.settings.incremental_paging,
            )
        else:
            logger.info("Stream '%s': reading %s (full table)", self.name, self.path)
        for rows in self._pages(context, start, paginator):
            if paginator.count == 1:
                self._choose_record_path(rows)
            self._extracted_at = utc_now()
            count += len(rows)
            if key and rows:
                bookmark = rows[-1].get(key, bookmark)
            yield from rows
            now = time.monotonic()
            if now - last_log >= self.progress_interval_seconds:
                last_log = now
                logger.info(
                    "Stream '%s': %d rows, page %d of %s, %.0f rows/s",
                    self.name,
                    count,
                    paginator.count,
                    paginator.last_page or "?",
                    count / max(now - started, 1e-9),
                )
        elapsed = max(time.monotonic() - started, 1e-9)
        logger.info(
            "Stream '%s': %d rows in %d pages, %.1f s, %.0f rows/s",
            self.name,
            count,
            paginator.count,
            elapsed,
            count / elapsed,
        )
        if key:
            logger.info(
                "Stream '%s': bookmark %s = %s",
                self.name,
                key,
                bookmark if bookmark is not None else start,
            )
        self._records_done = True
        if self._stream_version is not None:
            # Only here, after every page: a failed read raised above, and a
            # target must never drop rows on the word of a partial read.
            self._write_activate_version_message(self._stream_version)

    @override
    def post_process(
        self, row: dict[str, t.Any], context: Context | None = None
    ) -> dict[str, t.Any] | None:
        """Mark soft-deleted rows with ``_sdc_deleted_at`` (``include_deleted``)."""
        if self.settings.include_deleted and row.get(DELETED_MARK) == 1:
            row[SDC_DELETED_AT] = _iso_timestamp(row.get(self.replication_key or ""))
        return row

    @override
    def _process_record(
        self,
        record: dict[str, t.Any],
        child_context: Context | None = None,
        partition_context: Context | None = None,
    ) -> None:
        # The SDK walks child contexts for every record; these streams have
        # neither children nor partitions, so skip the walk.
        if self.child_streams or partition_context:
            super()._process_record(record, child_context, partition_context)

    def _choose_record_path(self, rows: list[t.Any]) -> None:
        """Decide, from page 1, whether records can skip the SDK's per-record work.

        Type conforming changes nothing when the rows already have the schema's
        JSON types (always so for an inferred schema); selection and stream maps
        change nothing when every field is selected and no map is set.
        """
        self._needs_conform = not self._schema_inferred
        if self._needs_conform:
            sample = [self.post_process(dict(row)) or {} for row in rows[:100]]
            self._needs_conform = not rows_match_schema(sample, self.schema)
        maps = self.stream_maps
        properties = self.schema.get("properties") or {}
        self._fast_records = (
            not self._needs_conform
            and len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and not maps[0].flattening_enabled
            and all(self.mask[("properties", name)] for name in properties)
        )
        logger.debug(
            "Stream '%s': type conforming %s, fast record path %s",
            self.name,
            "on" if self._needs_conform else "off",
            "on" if self._fast_records else "off",
        )

    @override
    def _generate_record_messages(
        self, record: dict[str, t.Any]
    ) -> t.Generator[singer.RecordMessage, None, None]:
        if not self._fast_records:
            yield from super()._generate_record_messages(record)
            return
        yield _PageRecord(
            stream=self.stream_maps[0].stream_alias,
            record=record,
            version=self._stream_version,
            time_extracted=self._extracted_at,
        )

    @override
    def _write_record_message(self, record: dict[str, t.Any]) -> None:
        writer = self._tap.message_writer
        if not self._fast_records or not isinstance(writer, BufferedJSONWriter):
            super()._write_record_message(record)
            return
        # Straight to the encoder: no message object per row.
        writer.write_record(
            self.stream_maps[0].stream_alias,
            record,
            self._stream_version,
            self._extracted_at,
        )
        self.state_manager.is_flushed = False

    @override
    def _write_activate_version_message(self, full_table_version: int) -> None:
        # The SDK sends ACTIVATE_VERSION before the first record; a target then
        # drops the previous version before the new one is loaded, and a failed
        # sync leaves it empty. Send it once, after the last record, instead.
        if self._records_done:
            super()._write_activate_version_message(full_table_version)


class _PageRecord(singer.RecordMessage):
    """A RECORD whose ``time_extracted`` is already an aware UTC datetime.

    The stock message converts it to UTC again for every record; one page
    shares one extraction time, taken in UTC.
    """

    __slots__ = ()

    def __post_init__(self) -> None:
        self.type = singer.SingerMessageType.RECORD


def _iso_timestamp(value: t.Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    moment = datetime.datetime.fromtimestamp(value, tz=datetime.timezone.utc)
    return moment.isoformat()
