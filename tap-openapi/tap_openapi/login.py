"""``tap-openapi-login``: sign in once with the authorization-code grant.

The command opens the platform's authorization page in a browser, receives the
redirect on a loopback listener (the ``redirect_uri`` setting, by default
``http://127.0.0.1:8976/callback``; a redirect URI without a port gets a free
one, as RFC 8252 section 7.3 allows), checks ``state``, trades the code and
its PKCE verifier for tokens and writes them to ``token_cache_path`` (mode
0600). The tap then runs unattended, refreshing from the cached refresh token.

Without a local browser, ``--no-browser`` prints the URL and reads the URL the
browser was redirected to from stdin; ``--print-url`` prints the URL but still
waits on the listener (e.g. over ``ssh -L 8976:127.0.0.1:8976``).
"""

from __future__ import annotations

import argparse
import html
import http.server
import logging
import socket
import sys
import threading
import time
import typing as t
import webbrowser
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit, urlunsplit

import requests

from tap_openapi.api import load_config
from tap_openapi.auth import TokenManager
from tap_openapi.errors import AuthenticationError, ConfigurationError, OpenAPIError
from tap_openapi.pkce import (
    AuthorizationRequest,
    is_loopback_url,
    new_authorization_request,
    parse_redirect,
)

logger = logging.getLogger(__name__)

#: Seconds to wait for the browser to come back (not a request timeout).
BROWSER_TIMEOUT = 300.0

_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<title>tap-openapi</title></head><body><h1>{title}</h1><p>{text}</p></body></html>
"""


class _CallbackServer(http.server.ThreadingHTTPServer):
    """The loopback listener; remembers the outcome of the first callback.

    Threaded because browsers open speculative connections that send nothing;
    a single-threaded server would sit on one while the real callback waits.
    """

    daemon_threads = True
    callback_path = "/"
    origin = "http://127.0.0.1"
    handle_callback: Callable[[str], str]
    code: str | None = None
    error: AuthenticationError | None = None
    lock: threading.Lock


class _IPv6CallbackServer(_CallbackServer):
    address_family = socket.AF_INET6


class _CallbackHandler(http.server.BaseHTTPRequestHandler):
    server: _CallbackServer
    timeout = 10  # seconds an idle connection may hold a thread

    def do_GET(self) -> None:
        server = self.server
        if urlsplit(self.path).path != server.callback_path:
            # Browsers also ask for /favicon.ico; only the callback counts.
            self._answer(404, "Not found", "This is not the sign-in callback.")
            return
        with server.lock:
            if server.code is not None or server.error is not None:
                self._answer(409, "Already done", "The sign-in was already handled.")
                return
            code, error = None, None
            try:
                code = server.handle_callback(server.origin + self.path)
            except AuthenticationError as exc:
                error = exc
                self._answer(400, "Sign-in rejected", str(exc))
            else:
                self._answer(
                    200,
                    "Signed in",
                    "tap-openapi received the authorization; you can close this tab.",
                )
            # Published after the answer is sent, so the page is complete
            # before the command goes on (and may exit).
            server.code, server.error = code, error

    def _answer(self, status: int, title: str, text: str) -> None:
        # The text may quote the redirect's error_description, which whoever
        # crafted the redirect chose: never let it become markup.
        body = _PAGE.format(title=html.escape(title), text=html.escape(text))
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        payload = body.encode("utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: t.Any) -> None:
        # The stdlib prints the request line, code and state included; log
        # the path only.
        logger.debug("Loopback listener: %s %s", self.command, urlsplit(self.path).path)


class LoopbackListener:
    """Receives the authorization redirect on a loopback address.

    Args:
        redirect_uri: An ``http`` URL on 127.0.0.1, ::1 or localhost; without a
            port, a free one is chosen and :attr:`redirect_uri` names it.

    Raises:
        ConfigurationError: If ``redirect_uri`` is not a loopback http URL or
            its port is taken.
    """

    def __init__(self, redirect_uri: str) -> None:
        parts = urlsplit(redirect_uri)
        if parts.scheme != "http" or not is_loopback_url(redirect_uri):
            msg = (
                f"Setting redirect_uri: {redirect_uri} must be an http URL on "
                "127.0.0.1, [::1] or localhost to receive the redirect here; "
                "or use --no-browser to paste the redirect URL"
            )
            raise ConfigurationError(msg)
        host = parts.hostname or "127.0.0.1"
        bind_host = "127.0.0.1" if host == "localhost" else host
        server_class = _IPv6CallbackServer if ":" in bind_host else _CallbackServer
        try:
            self._server = server_class((bind_host, parts.port or 0), _CallbackHandler)
        except OSError as exc:
            msg = (
                f"Cannot listen on {bind_host}:{parts.port} for redirect_uri "
                f"{redirect_uri}: {exc.strerror}"
            )
            raise ConfigurationError(msg) from exc
        self._server.lock = threading.Lock()
        self._server.callback_path = parts.path or "/"
        port = self._server.server_address[1]
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._server.origin = f"http://{netloc}"
        self.redirect_uri = urlunsplit(
            ("http", netloc, parts.path or "/", parts.query, "")
        )

    def wait(self, handle_callback: Callable[[str], str], timeout: float) -> str:
        """Serve until the callback arrives; return the authorization code.

        Args:
            handle_callback: Checks the full redirect URL and returns the code,
                raising :class:`AuthenticationError` to reject it.
            timeout: Seconds to wait for the browser.

        Raises:
            AuthenticationError: If the callback was rejected or never came.
        """
        server = self._server
        server.handle_callback = handle_callback
        deadline = time.monotonic() + timeout
        while server.code is None and server.error is None:
            left = deadline - time.monotonic()
            if left <= 0:
                msg = (
                    f"No redirect reached {self.redirect_uri} within {timeout:.0f} s; "
                    "run tap-openapi-login again (or use --no-browser)"
                )
                raise AuthenticationError(msg, error="timeout")
            # Short polls: the callback is handled on another thread.
            server.timeout = min(left, 0.2)
            server.handle_request()
        if server.error is not None:
            raise server.error
        assert server.code is not None
        return server.code

    def close(self) -> None:
        """Release the port."""
        self._server.server_close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tap-openapi-login",
        description=(
            "Sign in to the OpenAPI platform (authorization code + PKCE) and write "
            "the token cache the tap refreshes from."
        ),
    )
    parser.add_argument("--config", required=True, help="the tap's config file (JSON)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--no-browser",
        action="store_true",
        help="print the URL and read the redirected-to URL from stdin",
    )
    mode.add_argument(
        "--print-url",
        action="store_true",
        help="print the URL instead of opening a browser; still listen locally",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=BROWSER_TIMEOUT,
        help="seconds to wait for the browser (default %(default).0f)",
    )
    return parser


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _read_pasted_url() -> str:
    _say("After signing in, paste the full URL your browser was sent to:")
    line = sys.stdin.readline()
    if not line.strip():
        msg = "No redirect URL was pasted"
        raise AuthenticationError(msg, error="missing_code")
    return line.strip()


def login(
    settings: t.Mapping[str, t.Any],
    *,
    no_browser: bool = False,
    open_browser: bool = True,
    timeout: float = BROWSER_TIMEOUT,
    session: requests.Session | None = None,
) -> TokenManager:
    """Run the sign-in flow and write the token cache.

    Args:
        settings: The tap settings (``base_url``, ``client_id``,
            ``token_cache_path``, ``redirect_uri``, ``scope``...).
        no_browser: Read the redirected-to URL from stdin instead of listening.
        open_browser: Try to open a browser (else only print the URL).
        timeout: Seconds to wait for the redirect on the listener.
        session: The HTTP session for the token request.

    Returns:
        The token manager, holding the new tokens.

    Raises:
        AuthenticationError: Wrong state, refused authorization or code.
        ConfigurationError: A setting is missing or wrong.
    """
    # Login always uses the authorization-code grant, whatever the tap's
    # grant_type says; the tap then refreshes from the cache.
    manager = TokenManager({**settings, "grant_type": "authorization_code"}, session)
    if manager.cache is None:
        # Checked before the browser opens: a refresh_token setting satisfies
        # the grant's own checks, but the signed-in tokens must go somewhere,
        # and a sign-in whose tokens are thrown away is wasted.
        msg = (
            "Setting token_cache_path is required for tap-openapi-login: it is "
            "the file where the signed-in tokens are kept for the tap; add it "
            'to the config (e.g. "token_cache_path": "~/.tap-openapi/tokens.json")'
        )
        raise ConfigurationError(msg)
    oauth = manager.settings
    listener = None if no_browser else LoopbackListener(oauth.redirect_uri)
    try:
        redirect_uri = listener.redirect_uri if listener else oauth.redirect_uri
        request: AuthorizationRequest = new_authorization_request(
            oauth.authorize_url, oauth.client_id, redirect_uri, oauth.scope
        )
        _say("Sign in to the OpenAPI platform with this URL:")
        print(request.url, flush=True)
        if listener is None:
            code = parse_redirect(request, _read_pasted_url())
        else:
            if open_browser and webbrowser.open(request.url):
                _say("A browser window was opened; waiting for the sign-in...")
            else:
                _say(f"Open the URL in a browser; waiting on {redirect_uri} ...")
            code = listener.wait(lambda url: parse_redirect(request, url), timeout)
    finally:
        if listener is not None:
            listener.close()
    manager.exchange_code(code, request.code_verifier, request.redirect_uri)
    logger.info("Signed in; tokens written to %s", manager.cache)
    return manager


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``tap-openapi-login``; return the exit status.

    Args:
        argv: The command-line arguments (default ``sys.argv[1:]``).
    """
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = load_config(args.config)
        manager = login(
            settings,
            no_browser=args.no_browser,
            open_browser=not args.print_url,
            timeout=args.timeout,
        )
    except OpenAPIError as exc:
        _say(f"tap-openapi-login: error: {exc}")
        return 1
    except KeyboardInterrupt:
        _say("tap-openapi-login: interrupted")
        return 130
    assert manager.cache is not None
    _say(f"Signed in. Token cache written to {manager.cache.path} (mode 0600).")
    if settings.get("grant_type") not in ("authorization_code", "refresh_token"):
        _say(
            "Set grant_type to authorization_code in the tap config so the tap "
            "uses this token cache."
        )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
