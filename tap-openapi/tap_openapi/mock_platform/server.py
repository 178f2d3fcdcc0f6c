"""HTTP plumbing of the mock platform: the request handler, routes and faults.

A stdlib :class:`~http.server.ThreadingHTTPServer` speaking HTTP/1.1 with
keep-alive, one daemon thread per connection, optionally behind TLS. Every
answer carries ``X-Ca-Request-Id``; API answers use the platform's envelope,
HTTP errors add ``X-Ca-Error-Code`` and ``X-Ca-Error-Message``.
"""

from __future__ import annotations

import collections
import logging
import math
import re
import socket
import ssl
import struct
import sys
import threading
import time
import typing as t
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

import orjson

from tap_openapi.mock_platform.faults import Fault
from tap_openapi.mock_platform.oauth import OAuthError
from tap_openapi.mock_platform.state import PlatformState

logger = logging.getLogger(__name__)

#: The platform's page size limit; larger ``pageSize`` values are capped.
MAX_PAGE_SIZE = 2000
#: ``pageSize`` when the query has none.
DEFAULT_PAGE_SIZE = 100
BUSINESS_ERROR_CODE = 40001
BUSINESS_ERROR_MESSAGE = "simulated business error"

FAKE_PATH = "/api/v1/sync/fake"
FAKEWITHTS_PATH = "/api/v1/sync/fakewithts"
BUSINESS_ERROR_PATH = "/api/v1/error/business"
UNAUTHORIZED_PATH = "/api/v1/error/unauthorized"
FORBIDDEN_PATH = "/api/v1/forbidden"
#: ``X-Ca-Error-Code`` of :data:`UNAUTHORIZED_PATH`: a 401 about the client
#: (it calls from an address it may not use), not about its token.
CLIENT_REFUSED_CODE = "A401IP"
#: The 401 codes that are about the token: a new token fixes them.
_TOKEN_CODES = frozenset({"A401OT", "A401AT"})
ITEMS_PATH = "/api/v1/items"
TOKEN_PATH = "/oauth2/token"  # noqa: S105 (a path)
_ITEM_PATH = re.compile(r"^/api/v1/items/(\d+)$")
_TRUE = frozenset({"1", "true", "yes"})

#: How list answers report ``totalNum`` (``total_num``): ``exact``, left out
#: (``omit``), or larger than the real row count (``overstate``), as some
#: servers estimate it.
TOTAL_NUM_MODES = ("exact", "omit", "overstate")
#: Requests kept in :attr:`PlatformHTTPServer.request_log`.
REQUEST_LOG_SIZE = 10_000


@dataclass(frozen=True)
class ServerOptions:
    """How the server answers, beyond its data and faults.

    Attributes:
        total_num: One of :data:`TOTAL_NUM_MODES`.
        ts_param: The query parameter ``/fakewithts`` reads its start from.
        tls: Serve HTTPS with this context (None: plain HTTP).
    """

    total_num: str = "exact"
    ts_param: str = "ts"
    tls: ssl.SSLContext | None = None

    def __post_init__(self) -> None:
        if self.total_num not in TOTAL_NUM_MODES:
            modes = ", ".join(TOTAL_NUM_MODES)
            msg = f"total_num must be one of {modes}, got {self.total_num!r}"
            raise ValueError(msg)
        if not self.ts_param:
            msg = "ts_param must be a non-empty query parameter name"
            raise ValueError(msg)


class LoggedRequest(t.NamedTuple):
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, str]


@dataclass
class Answer:
    """An HTTP answer before it is written."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class ApiError(Exception):
    """An HTTP error answer of an API, with the platform's error headers."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _envelope(request_id: str, data: t.Any) -> bytes:
    return orjson.dumps(
        {"errCode": 0, "errMsg": "success", "requestId": request_id, "data": data}
    )


def _error_answer(request_id: str, error: ApiError) -> Answer:
    body = orjson.dumps(
        {
            "errCode": error.status,
            "errMsg": error.message,
            "requestId": request_id,
            "data": None,
        }
    )
    headers = {"X-Ca-Error-Code": error.code, "X-Ca-Error-Message": error.message}
    if error.status == HTTPStatus.UNAUTHORIZED:
        # RFC 6750: invalid_token only when the token is what is wrong.
        headers["WWW-Authenticate"] = (
            'Bearer error="invalid_token"'
            if error.code in _TOKEN_CODES
            else 'Bearer realm="mock-platform"'
        )
    return Answer(error.status, body, headers)


def _int_param(query: dict[str, str], name: str, default: int, low: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low:
        msg = f"query parameter {name} must be an integer >= {low}, got {raw!r}"
        raise ApiError(HTTPStatus.BAD_REQUEST, "A400IP", msg)
    return value


def _paging(query: dict[str, str]) -> tuple[int, int]:
    """Return ``(pageNum, pageSize)``, the size capped at the platform limit."""
    page_num = _int_param(query, "pageNum", 1, 1)
    page_size = min(_int_param(query, "pageSize", DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE)
    return page_num, page_size


def _ts_param(query: dict[str, str], name: str = "ts") -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return 0
    try:
        # A fractional ts still means "at or after": round up to whole seconds.
        value = math.ceil(float(raw))
    except (ValueError, OverflowError) as exc:
        msg = f"query parameter {name} must be unix seconds, got {raw!r}"
        raise ApiError(HTTPStatus.BAD_REQUEST, "A400IP", msg) from exc
    return value


def _json_object(body: bytes) -> dict[str, t.Any]:
    try:
        value = orjson.loads(body or b"null")
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        msg = "request body must be a JSON object"
        raise ApiError(HTTPStatus.BAD_REQUEST, "A400IB", msg)
    return value


class PlatformHTTPServer(ThreadingHTTPServer):
    """The threaded server; remembers open connections to close them on stop.

    Args:
        address: ``(host, port)`` to listen on.
        state: What the handler serves from.
        options: How it answers (``totalNum``, TLS...); defaults if None.

    Attributes:
        request_log: The last :data:`REQUEST_LOG_SIZE` requests received.
    """

    daemon_threads = True
    allow_reuse_address = True
    # Clients open several connections at once (concurrent page requests); the
    # default backlog of 5 would drop SYNs and stall them for a second.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        state: PlatformState,
        options: ServerOptions | None = None,
    ) -> None:
        self.state = state
        self.options = options or ServerOptions()
        self.request_log: collections.deque[LoggedRequest] = collections.deque(
            maxlen=REQUEST_LOG_SIZE
        )
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._to_reset: set[socket.socket] = set()
        super().__init__(address, PlatformHandler)

    def get_request(self) -> tuple[socket.socket, t.Any]:
        """Accept a connection (counted as ``connections``), under TLS if set."""
        conn, address = super().get_request()
        self.state.stats.add("connections")
        if self.options.tls is not None:
            # The handshake runs in the connection's thread (PlatformHandler
            # .setup), not in the accept loop, which a slow client would stall.
            conn = self.options.tls.wrap_socket(
                conn, server_side=True, do_handshake_on_connect=False
            )
        return conn, address

    def reset_on_close(self, conn: socket.socket) -> None:
        """Have ``conn`` closed with a TCP RST instead of a FIN."""
        # SO_LINGER on, timeout 0: close() discards the socket and sends RST.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with self._connections_lock:
            self._to_reset.add(conn)

    def shutdown_request(self, request: t.Any) -> None:
        """Close a finished connection; skip the FIN of one to be reset."""
        with self._connections_lock:
            reset = request in self._to_reset
            self._to_reset.discard(request)
        if reset:
            self.close_request(request)
            return
        super().shutdown_request(request)

    def track(self, conn: socket.socket, *, open_: bool) -> None:
        """Register or forget an open client connection."""
        with self._connections_lock:
            if open_:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def handle_error(self, request: t.Any, client_address: t.Any) -> None:
        """Log a failed connection; a client hanging up is routine, not an error."""
        exc = sys.exc_info()[1]
        # A client that does not trust the certificate aborts the handshake.
        if isinstance(exc, (ConnectionError, TimeoutError, ssl.SSLError)):
            logger.debug("connection from %s ended: %s", client_address, exc)
            return
        logger.exception("mock platform: error on a connection from %s", client_address)

    def close_connections(self) -> None:
        """Shut every open keep-alive connection, so handler threads end."""
        with self._connections_lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                logger.debug("connection already closed")


class PlatformHandler(BaseHTTPRequestHandler):
    """Routes one request at a time of a keep-alive connection."""

    protocol_version = "HTTP/1.1"
    server_version = "MockPlatform/1.0"
    # Buffer the answer so headers and body leave in one write: separate small
    # writes meet Nagle's algorithm and delayed ACKs, 40 ms per request.
    wbufsize = 64 * 1024
    server: PlatformHTTPServer

    def setup(self) -> None:
        """Register the connection so that stopping the server can close it."""
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, open_=True)

    def finish(self) -> None:
        """Flush and forget the connection."""
        try:
            super().finish()
        finally:
            self.server.track(self.connection, open_=False)

    def log_message(self, format: str, *args: t.Any) -> None:
        """Send the access log to DEBUG instead of stderr."""
        logger.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        """Answer a GET request."""
        self._handle("GET")

    def do_POST(self) -> None:
        """Answer a POST request."""
        self._handle("POST")

    def do_PUT(self) -> None:
        """Answer a PUT request."""
        self._handle("PUT")

    def do_DELETE(self) -> None:
        """Answer a DELETE request."""
        self._handle("DELETE")

    # -- dispatch --------------------------------------------------------------

    def _handle(self, method: str) -> None:
        state = self.server.state
        request_id = uuid.uuid4().hex
        try:
            body = self._read_body()
        except ApiError as error:
            # The rest of the stream cannot be parsed: answer and hang up.
            self.close_connection = True
            answer = _error_answer(request_id, error)
            answer.headers["X-Ca-Request-Id"] = request_id
            self._send(answer, drop=False)
            return
        url = urlsplit(self.path)
        path = url.path
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        state.stats.add(f"requests:{path}")
        self.server.request_log.append(LoggedRequest(method, path, query))
        fault = None
        is_api = path.startswith("/api/")
        if is_api:
            state.stats.add("api_requests")
        if is_api or (path == TOKEN_PATH and state.faults.token_faults):
            fault, delay = state.faults.next()
            if delay > 0:
                # Recorded, so tests can check the latency without timing it.
                state.stats.add("delayed_requests")
                state.stats.add("delayed_ms", amount=round(delay * 1000))
                time.sleep(delay)
            if fault is not None:
                state.stats.add(f"faults:{fault.value}")
        if fault is Fault.RESET:
            # No answer at all: the client sees "connection reset by peer".
            self.close_connection = True
            self.server.reset_on_close(self.connection)
            return
        if fault is Fault.FAIL:
            status = state.faults.fail_status
            answer = _error_answer(
                request_id, ApiError(status, f"A{status}IE", "simulated failure")
            )
        elif fault is Fault.THROTTLE:
            answer = _error_answer(
                request_id,
                ApiError(HTTPStatus.TOO_MANY_REQUESTS, "A429TM", "too many requests"),
            )
            answer.headers["Retry-After"] = str(state.faults.retry_after)
        else:
            answer = self._route(method, path, query, body, request_id)
        if fault is Fault.GARBAGE:
            # A proxy cut the body short, or sent its own HTML: either way the
            # client gets 200 with something that is not JSON.
            cut = answer.body[: len(answer.body) // 2]
            answer = Answer(HTTPStatus.OK, cut or b"<html>gateway</html>")
        answer.headers["X-Ca-Request-Id"] = request_id
        self._send(answer, drop=fault is Fault.DROP)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            msg = "chunked request bodies are not supported; send Content-Length"
            raise ApiError(HTTPStatus.LENGTH_REQUIRED, "A411LR", msg)
        raw = self.headers.get("Content-Length") or "0"
        try:
            length = int(raw)
        except ValueError:
            length = -1
        if length < 0:
            msg = f"invalid Content-Length {raw!r}"
            raise ApiError(HTTPStatus.BAD_REQUEST, "A400IH", msg)
        return self.rfile.read(length) if length else b""

    def _send(self, answer: Answer, *, drop: bool) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if drop:
            self.send_header("Connection", "close")
        self.end_headers()
        if drop:
            # Promise the whole body, send part of it, then hang up.
            self.wfile.write(answer.body[: len(answer.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                logger.debug("client closed the connection first")
            return
        self.wfile.write(answer.body)

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: bytes,
        request_id: str,
    ) -> Answer:
        try:
            if path == TOKEN_PATH:
                return self._token(method, body)
            if path == "/oauth2/authorize":
                return self._authorize(method, query)
            if path.startswith("/admin/"):
                return self._admin(method, path, body, request_id)
            if path.startswith("/api/"):
                self._check_bearer()
                return self._api(method, path, query, body, request_id)
            msg = f"no such path: {path}"
            raise ApiError(HTTPStatus.NOT_FOUND, "A404NF", msg)
        except ApiError as error:
            return _error_answer(request_id, error)
        except Exception:
            logger.exception("mock platform failed on %s %s", method, path)
            internal = ApiError(
                HTTPStatus.INTERNAL_SERVER_ERROR, "A500IE", "internal error"
            )
            return _error_answer(request_id, internal)

    @staticmethod
    def _method(method: str, allowed: tuple[str, ...], path: str) -> None:
        if method not in allowed:
            msg = f"method {method} is not allowed on {path}"
            raise ApiError(HTTPStatus.METHOD_NOT_ALLOWED, "A405MN", msg)

    # -- OAuth -------------------------------------------------------------------

    def _token(self, method: str, body: bytes) -> Answer:
        self._method(method, ("POST",), TOKEN_PATH)
        state = self.server.state
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        grant = form.get("grant_type", "")
        state.stats.add("token_requests", f"token_requests:{grant}")
        no_store = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        try:
            answer = state.auth.token(form, self.headers.get("Authorization"))
        except OAuthError as error:
            headers = dict(no_store)
            if error.status == HTTPStatus.UNAUTHORIZED:
                headers["WWW-Authenticate"] = 'Basic realm="mock-platform"'
            return Answer(error.status, orjson.dumps(error.body()), headers)
        return Answer(HTTPStatus.OK, orjson.dumps(answer), no_store)

    def _authorize(self, method: str, query: dict[str, str]) -> Answer:
        self._method(method, ("GET",), "/oauth2/authorize")
        state = self.server.state
        state.stats.add("authorize_requests")
        try:
            redirect_uri, params = state.auth.authorize(query)
        except OAuthError as error:
            return Answer(error.status, orjson.dumps(error.body()))
        sep = "&" if "?" in redirect_uri else "?"
        location = f"{redirect_uri}{sep}{urlencode(params)}"
        return Answer(HTTPStatus.FOUND, b"", {"Location": location}, "text/plain")

    def _check_bearer(self) -> None:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            msg = "missing bearer token"
            raise ApiError(HTTPStatus.UNAUTHORIZED, "A401AT", msg)
        verdict = self.server.state.tokens.check(token.strip())
        if verdict == "expired":
            msg = "access token expired"
            raise ApiError(HTTPStatus.UNAUTHORIZED, "A401OT", msg)
        if verdict != "ok":
            msg = "invalid access token"
            raise ApiError(HTTPStatus.UNAUTHORIZED, "A401AT", msg)

    # -- APIs ----------------------------------------------------------------------

    def _api(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: bytes,
        request_id: str,
    ) -> Answer:
        table = self.server.state.table
        if path == FAKE_PATH:
            self._method(method, ("GET",), path)
            page_num, page_size = _paging(query)
            page = table.fake_page((page_num - 1) * page_size, page_size)
            return self._page(request_id, page_num, page_size, page.total, page.rows)
        if path == FAKEWITHTS_PATH:
            self._method(method, ("GET",), path)
            page_num, page_size = _paging(query)
            full = query.get("full", "").lower() in _TRUE
            start = _ts_param(query, self.server.options.ts_param)
            page = table.fakewithts_page(
                start, full, (page_num - 1) * page_size, page_size
            )
            return self._page(request_id, page_num, page_size, page.total, page.rows)
        if path == FORBIDDEN_PATH:
            msg = "the client has no permission for this API"
            raise ApiError(HTTPStatus.FORBIDDEN, "A403NP", msg)
        if path == UNAUTHORIZED_PATH:
            msg = "the client may not call the platform from this address"
            raise ApiError(HTTPStatus.UNAUTHORIZED, CLIENT_REFUSED_CODE, msg)
        if path == BUSINESS_ERROR_PATH:
            payload = {
                "errCode": BUSINESS_ERROR_CODE,
                "errMsg": BUSINESS_ERROR_MESSAGE,
                "requestId": request_id,
                "data": None,
            }
            return Answer(HTTPStatus.OK, orjson.dumps(payload))
        if path == ITEMS_PATH:
            return self._items(method, query, body, request_id)
        match = _ITEM_PATH.match(path)
        if match:
            return self._item(method, int(match.group(1)), body, request_id)
        msg = f"no such API: {path}"
        raise ApiError(HTTPStatus.NOT_FOUND, "A404NF", msg)

    def _page(
        self,
        request_id: str,
        page_num: int,
        page_size: int,
        total: int,
        rows: list[dict[str, t.Any]],
    ) -> Answer:
        data: dict[str, t.Any] = {"pageSize": page_size, "pageNum": page_num}
        mode = self.server.options.total_num
        if mode == "exact":
            data["totalNum"] = total
        elif mode == "overstate":
            data["totalNum"] = 2 * total + page_size
        data["rows"] = rows
        return Answer(HTTPStatus.OK, _envelope(request_id, data))

    def _items(
        self, method: str, query: dict[str, str], body: bytes, request_id: str
    ) -> Answer:
        self._method(method, ("GET", "POST"), ITEMS_PATH)
        items = self.server.state.items
        if method == "POST":
            item = items.create(_json_object(body))
            return Answer(HTTPStatus.OK, _envelope(request_id, item))
        page_num, page_size = _paging(query)
        rows, total = items.page((page_num - 1) * page_size, page_size)
        return self._page(request_id, page_num, page_size, total, rows)

    def _item(self, method: str, item_id: int, body: bytes, request_id: str) -> Answer:
        self._method(method, ("GET", "PUT", "DELETE"), f"{ITEMS_PATH}/{item_id}")
        items = self.server.state.items
        if method == "GET":
            item = items.get(item_id)
        elif method == "PUT":
            item = items.replace(item_id, _json_object(body))
        else:
            item = items.delete(item_id)
        if item is None:
            msg = f"item {item_id} not found"
            raise ApiError(HTTPStatus.NOT_FOUND, "A404NF", msg)
        return Answer(HTTPStatus.OK, _envelope(request_id, item))

    # -- admin ---------------------------------------------------------------------

    def _admin(self, method: str, path: str, body: bytes, request_id: str) -> Answer:
        state = self.server.state
        if path in ("/admin/touch", "/admin/delete"):
            self._method(method, ("POST",), path)
            ids = _json_object(body).get("ids")
            if not isinstance(ids, list) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in ids
            ):
                msg = 'body must be {"ids": [<integer>, ...]}'
                raise ApiError(HTTPStatus.BAD_REQUEST, "A400IB", msg)
            change = state.table.touch if path == "/admin/touch" else state.table.delete
            try:
                stamp = change(ids)
            except ValueError as exc:
                raise ApiError(HTTPStatus.BAD_REQUEST, "A400IP", str(exc)) from exc
            data = {"updated_at": stamp, "count": len(set(ids))}
            return Answer(HTTPStatus.OK, _envelope(request_id, data))
        if path == "/admin/stats":
            self._method(method, ("GET",), path)
            return Answer(
                HTTPStatus.OK, _envelope(request_id, dict(state.stats.snapshot()))
            )
        if path == "/admin/requests":
            self._method(method, ("GET",), path)
            log = [r._asdict() for r in list(self.server.request_log)]
            return Answer(HTTPStatus.OK, _envelope(request_id, log))
        if path == "/admin/reset-stats":
            self._method(method, ("POST",), path)
            state.stats.reset()
            self.server.request_log.clear()
            return Answer(HTTPStatus.OK, _envelope(request_id, {}))
        if path == "/admin/expire-tokens":
            self._method(method, ("POST",), path)
            state.tokens.expire_all()
            return Answer(HTTPStatus.OK, _envelope(request_id, {}))
        msg = f"no such path: {path}"
        raise ApiError(HTTPStatus.NOT_FOUND, "A404NF", msg)
