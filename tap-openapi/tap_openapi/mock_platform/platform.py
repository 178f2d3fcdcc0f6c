""":class:`MockPlatform`: run the mock platform in a background thread."""

from __future__ import annotations

import logging
import ssl
import threading
import typing as t
from collections import Counter
from pathlib import Path
from types import TracebackType

from tap_openapi.mock_platform.data import Row, SampleTable
from tap_openapi.mock_platform.faults import FaultPlan
from tap_openapi.mock_platform.oauth import Credentials, TokenStore
from tap_openapi.mock_platform.server import (
    FAKE_PATH,
    FAKEWITHTS_PATH,
    LoggedRequest,
    PlatformHTTPServer,
    ServerOptions,
)
from tap_openapi.mock_platform.state import PlatformState

logger = logging.getLogger(__name__)

_SNAPSHOT_PAGE = 10_000


def _stream_path(path: str) -> str:
    """Accept ``"fake"``, ``"fakewithts"`` or the full API path."""
    full = path if path.startswith("/") else f"/api/v1/sync/{path}"
    if full not in (FAKE_PATH, FAKEWITHTS_PATH):
        msg = f"no sample API {path!r}; use {FAKE_PATH} or {FAKEWITHTS_PATH}"
        raise ValueError(msg)
    return full


class MockPlatform:
    """An imitation of the OpenAPI platform, served over HTTP on loopback.

    Use it as a context manager; ``port=0`` picks a free port::

        with MockPlatform(rows=1000) as platform:
            requests.post(f"{platform.url}/oauth2/token", ...)
            config = platform.tap_config()

    Args:
        rows: Number of rows of the sample APIs (ids ``1..rows``).
        token_ttl: Access token lifetime in seconds.
        advertised_ttl: The ``expires_in`` told to clients, if not ``token_ttl``;
            a larger value makes tokens expire before clients expect (A401OT).
        latency_ms: Delay added to every ``/api/`` request.
        port: TCP port; 0 lets the system choose.
        host: Address to listen on.
        fail_every: Answer every Nth API request with HTTP 500 (0: never).
        throttle_every: Answer every Nth API request with 429 and Retry-After.
        retry_after: The Retry-After value of throttled answers, in seconds.
        drop_every: Close the connection mid-body on every Nth API request.
        garbage_every: Answer every Nth API request with 200 and a truncated,
            non-JSON body.
        reset_every: Reset the connection (TCP RST, no answer) on every Nth
            API request.
        fail_status: The status ``fail_every`` answers with (500 to 599).
        slow_first: Delay the first N API requests by ``slow_ms`` more.
        slow_ms: That extra delay, in milliseconds.
        token_faults: Give token requests faults too (they share the count).
        total_num: ``exact`` (default), ``omit`` (no ``totalNum`` in list
            answers) or ``overstate`` (a ``totalNum`` larger than the rows).
        ts_param: The query parameter ``/fakewithts`` reads its start from.
        tls_cert: Serve HTTPS with this PEM certificate (chain)...
        tls_key: ...and this PEM private key.
    """

    def __init__(
        self,
        rows: int = 10_000,
        token_ttl: float = 3600,
        latency_ms: float = 0,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        fail_every: int = 0,
        throttle_every: int = 0,
        retry_after: int = 1,
        drop_every: int = 0,
        garbage_every: int = 0,
        advertised_ttl: float | None = None,
        reset_every: int = 0,
        fail_status: int = 500,
        slow_first: int = 0,
        slow_ms: float = 0,
        token_faults: bool = False,
        total_num: str = "exact",
        ts_param: str = "ts",
        tls_cert: str | Path | None = None,
        tls_key: str | Path | None = None,
    ) -> None:
        self._credentials = Credentials()
        self._state = PlatformState(
            table=SampleTable(rows),
            tokens=TokenStore(token_ttl, advertised_ttl),
            faults=FaultPlan(
                fail_every=fail_every,
                throttle_every=throttle_every,
                drop_every=drop_every,
                garbage_every=garbage_every,
                reset_every=reset_every,
                fail_status=fail_status,
                retry_after=retry_after,
                latency_ms=latency_ms,
                slow_first=slow_first,
                slow_ms=slow_ms,
                token_faults=token_faults,
            ),
            credentials=self._credentials,
        )
        tls = None
        if tls_cert is not None or tls_key is not None:
            if tls_cert is None or tls_key is None:
                msg = "tls_cert and tls_key go together"
                raise ValueError(msg)
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(tls_cert, tls_key)
        self._options = ServerOptions(total_num=total_num, ts_param=ts_param, tls=tls)
        self._host = host
        self._port = port
        self._server: PlatformHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # The running server's log, kept to be read after stop() as well.
        self._request_log: t.Iterable[LoggedRequest] = ()

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> MockPlatform:
        """Bind the port and serve in a daemon thread; return self."""
        if self._server is not None:
            msg = "mock platform is already running"
            raise RuntimeError(msg)
        self._server = PlatformHTTPServer(
            (self._host, self._port), self._state, self._options
        )
        self._request_log = self._server.request_log
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"mock-platform-{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.debug("mock platform serving at %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and release the port."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __repr__(self) -> str:
        state = "running" if self._server is not None else "stopped"
        return f"<MockPlatform {self.url} rows={self.rows} {state}>"

    def __enter__(self) -> MockPlatform:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses and credentials ---------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (the chosen one if started with ``port=0``)."""
        if self._server is None:
            return self._port
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8765`` (``https://`` with TLS)."""
        scheme = "http" if self._options.tls is None else "https"
        return f"{scheme}://{self._host}:{self.port}"

    @property
    def token_url(self) -> str:
        """The OAuth2 token endpoint."""
        return f"{self.url}/oauth2/token"

    @property
    def authorize_url(self) -> str:
        """The OAuth2 authorization endpoint."""
        return f"{self.url}/oauth2/authorize"

    @property
    def client_id(self) -> str:
        """The client id the platform accepts."""
        return self._credentials.client_id

    @property
    def client_secret(self) -> str:
        """The client secret the platform accepts."""
        return self._credentials.client_secret

    @property
    def username(self) -> str:
        """The resource owner name for the password grant."""
        return self._credentials.username

    @property
    def password(self) -> str:
        """The resource owner password for the password grant."""
        return self._credentials.password

    @property
    def rows(self) -> int:
        """Number of sample rows (deleted ones included)."""
        return self._state.table.size

    # -- counters and faults -------------------------------------------------------

    @property
    def stats(self) -> Counter[str]:
        """A copy of the request counters; a missing key reads as 0.

        Keys:

        - ``connections``: TCP connections accepted (TLS handshakes that
          failed included).
        - ``requests:<path>``: requests to each path, query string excluded
          (token, authorize and admin requests too).
        - ``api_requests``: requests to ``/api/...`` paths.
        - ``faults:<fail|throttle|drop|garbage|reset>``: injected faults.
        - ``delayed_requests``: requests held back by ``latency_ms`` or
          ``slow_first``/``slow_ms``; ``delayed_ms``: the milliseconds they
          were held back, summed (each request's delay rounded), so a test
          reads the latency applied without timing anything.
        - ``token_requests``: token requests that got past the faults;
          ``token_requests:<grant_type>`` per grant, and
          ``token_requests:auth:<basic|post|none>`` per way the client
          authenticated (HTTP Basic, form fields, or a public client).
        - ``authorize_requests``: requests to ``/oauth2/authorize``.
        """
        return self._state.stats.snapshot()

    def requests(self, path: str | None = None) -> list[LoggedRequest]:
        """Return the requests received since the last start or stats reset.

        The last 10,000 are kept, oldest first; they stay readable after
        :meth:`stop`.

        Args:
            path: Only those to this path (no query string), if given.

        Returns:
            ``(method, path, query)`` of each request; ``query`` is a dict.
        """
        return [r for r in list(self._request_log) if path in (None, r.path)]

    def reset_stats(self) -> None:
        """Zero the counters, restart the fault sequence, forget the requests."""
        self._state.stats.reset()
        self._state.faults.reset()
        if self._server is not None:
            self._server.request_log.clear()

    @property
    def faults(self) -> FaultPlan:
        """The fault plan; its ``*_every`` fields may be changed while running."""
        return self._state.faults

    def expire_tokens(self) -> None:
        """Expire every access token issued so far (they answer A401OT)."""
        self._state.tokens.expire_all()

    # -- data ------------------------------------------------------------------------

    def touch(self, ids: t.Iterable[int]) -> int:
        """Change rows: new values and ``updated_at`` past every other row.

        Returns:
            The new ``updated_at``.
        """
        return self._state.table.touch(ids)

    def delete(self, ids: t.Iterable[int]) -> int:
        """Soft-delete rows: gone from ``/fake``, ``deleted_mark=1`` with full=1.

        Returns:
            The new ``updated_at``.
        """
        return self._state.table.delete(ids)

    def expected_row(self, row_id: int, path: str = FAKEWITHTS_PATH) -> Row:
        """Return row ``row_id`` as the given sample API currently shows it.

        Args:
            row_id: The row id.
            path: ``/api/v1/sync/fake`` (17 columns) or ``/api/v1/sync/fakewithts``
                (plus ``updated_at`` and ``deleted_mark``); short names work too.

        A soft-deleted row comes back with its last values, although
        ``/fake`` no longer lists it.
        """
        if not 1 <= row_id <= self.rows:
            msg = f"row id {row_id} is outside 1..{self.rows}"
            raise ValueError(msg)
        with_ts = _stream_path(path) == FAKEWITHTS_PATH
        return self._state.table.row(row_id, with_ts=with_ts)

    def rows_snapshot(self, path: str = FAKEWITHTS_PATH) -> list[Row]:
        """Return every row the API answers with ``full=1``, in API order.

        For ``/fake`` that is the live rows; for ``/fakewithts`` every row,
        soft-deleted ones included (``deleted_mark=1``), ordered by
        ``(updated_at, id)``.
        """
        full_path = _stream_path(path)
        table = self._state.table
        out: list[Row] = []
        while True:
            if full_path == FAKE_PATH:
                page = table.fake_page(len(out), _SNAPSHOT_PAGE)
            else:
                page = table.fakewithts_page(0, True, len(out), _SNAPSHOT_PAGE)
            out.extend(page.rows)
            if not page.rows:
                return out

    def tap_config(self, **overrides: t.Any) -> dict[str, t.Any]:
        """Return a tap-openapi config for this platform, updated by ``overrides``."""
        config: dict[str, t.Any] = {
            "base_url": self.url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "streams": [
                {"name": "fake", "path": FAKE_PATH, "primary_keys": ["id"]},
                {
                    "name": "fakewithts",
                    "path": FAKEWITHTS_PATH,
                    "primary_keys": ["id"],
                    "replication_key": "updated_at",
                },
            ],
        }
        config.update(overrides)
        return config
