"""tap-openapi-login end to end: the test plays the browser against the mock."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import webbrowser
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests

from tap_openapi import (
    AuthenticationError,
    ConfigurationError,
    OpenAPIClient,
    TokenCache,
)
from tap_openapi.login import login
from tap_openapi.mock_platform import MockPlatform

ITEMS = "/api/v1/items"


@pytest.fixture
def fresh() -> Iterator[MockPlatform]:
    with MockPlatform(rows=50) as running:
        yield running


def login_command() -> list[str]:
    script = Path(sys.executable).with_name("tap-openapi-login")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "tap_openapi.login"]


def write_config(platform: MockPlatform, tmp_path: Path, **overrides: object) -> Path:
    settings = platform.tap_config(
        grant_type="authorization_code",
        token_cache_path=str(tmp_path / "tokens.json"),
        # No port: the listener takes a free one (RFC 8252, section 7.3).
        redirect_uri="http://127.0.0.1/callback",
    )
    settings.update(overrides)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(settings))
    return path


def start_login(config: Path, *flags: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*login_command(), "--config", str(config), "--timeout", "30", *flags],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_login(config: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*login_command(), "--config", str(config), *flags],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def read_authorize_url(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    assert line.startswith("http://"), line
    return line


def with_state(url: str, state: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["state"] = state
    return urlunsplit(parts._replace(query=urlencode(query)))


def play_browser(url: str, *args: object, **kwargs: object) -> bool:
    """Stand-in for webbrowser.open: visit the URL with requests, in the
    background like a real browser would."""
    threading.Thread(target=requests.get, args=(url,), kwargs={"timeout": 10}).start()
    return True


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_login_end_to_end_then_the_tap_runs_from_the_cache(
    fresh: MockPlatform, tmp_path: Path
) -> None:
    config = write_config(fresh, tmp_path)
    process = start_login(config, "--print-url")
    url = read_authorize_url(process)
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["code_challenge_method"] == "S256"
    assert query["response_type"] == "code"
    assert query["state"]
    # The browser: the platform answers 302 to the loopback listener.
    page = requests.get(url, timeout=10)
    assert page.history[0].status_code == 302
    assert page.status_code == 200
    assert "Signed in" in page.text
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Token cache written" in err

    cache_path = tmp_path / "tokens.json"
    assert mode(cache_path) == 0o600
    cached = TokenCache(cache_path).load()
    assert cached is not None
    assert cached.refresh_token
    assert cached.access_token
    assert fresh.stats["token_requests:authorization_code"] == 1

    # The tap (a library client with the same config) runs unattended: it
    # uses the cached token, then refreshes and keeps the rotated token.
    with OpenAPIClient.from_config(config) as client:
        assert client.get(ITEMS)["rows"] == []
        assert fresh.stats["token_requests"] == 1
        fresh.expire_tokens()
        assert client.get(ITEMS)["rows"] == []
    assert fresh.stats["token_requests:refresh_token"] == 1
    rotated = TokenCache(cache_path).load()
    assert rotated is not None
    assert rotated.refresh_token not in (None, cached.refresh_token)
    assert mode(cache_path) == 0o600


def test_the_tap_runs_unattended_after_login(
    fresh: MockPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webbrowser, "open", play_browser)
    config = write_config(fresh, tmp_path)
    settings = json.loads(config.read_text())
    login(settings, timeout=30)
    first = TokenCache(tmp_path / "tokens.json").load()
    assert first is not None
    fresh.expire_tokens()  # the tap's first page answers A401OT

    tap = Path(sys.executable).with_name("tap-openapi")
    result = subprocess.run(
        [str(tap), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    messages = [json.loads(line) for line in result.stdout.splitlines()]
    records = [message for message in messages if message["type"] == "RECORD"]
    assert len(records) == 2 * 50  # both sample streams, 50 rows each
    rotated = TokenCache(tmp_path / "tokens.json").load()
    assert rotated is not None
    assert rotated.refresh_token not in (None, first.refresh_token)
    assert fresh.stats["token_requests:refresh_token"] == 1
    assert mode(tmp_path / "tokens.json") == 0o600


def test_no_browser_reads_the_pasted_redirect_url(
    fresh: MockPlatform, tmp_path: Path
) -> None:
    config = write_config(
        fresh, tmp_path, redirect_uri="http://127.0.0.1:8976/callback"
    )
    process = start_login(config, "--no-browser")
    url = read_authorize_url(process)
    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    redirected_to = answer.headers["Location"]
    assert redirected_to.startswith("http://127.0.0.1:8976/callback?")
    _, err = process.communicate(redirected_to + "\n", timeout=30)
    assert process.returncode == 0, err
    assert mode(tmp_path / "tokens.json") == 0o600


def test_pasted_url_with_a_wrong_state_is_rejected(
    fresh: MockPlatform, tmp_path: Path
) -> None:
    config = write_config(fresh, tmp_path)
    process = start_login(config, "--no-browser")
    url = read_authorize_url(process)
    answer = requests.get(url, allow_redirects=False, timeout=10)
    forged = with_state(answer.headers["Location"], "forged-state")
    _, err = process.communicate(forged + "\n", timeout=30)
    assert process.returncode == 1
    assert "state does not match" in err
    assert "Traceback" not in err
    assert not (tmp_path / "tokens.json").exists()
    assert fresh.stats["token_requests"] == 0


def test_listener_rejects_a_redirect_with_a_wrong_state(
    fresh: MockPlatform, tmp_path: Path
) -> None:
    config = write_config(fresh, tmp_path)
    process = start_login(config, "--print-url")
    url = read_authorize_url(process)
    # A browser's speculative connection that never sends a request must not
    # hold up the real callback.
    port = urlsplit(dict(parse_qsl(urlsplit(url).query))["redirect_uri"]).port
    idle = socket.create_connection(("127.0.0.1", port or 0))
    page = requests.get(with_state(url, "forged-state"), timeout=10)
    idle.close()
    assert page.status_code == 400
    assert "rejected" in page.text
    _, err = process.communicate(timeout=30)
    assert process.returncode == 1
    assert "state does not match" in err
    assert not (tmp_path / "tokens.json").exists()


def test_login_gives_up_when_no_browser_comes_back(
    fresh: MockPlatform, tmp_path: Path
) -> None:
    config = write_config(fresh, tmp_path)
    result = run_login(config, "--print-url", "--timeout", "0.3")
    assert result.returncode == 1
    assert "No redirect reached" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("overrides", "flags"),
    [
        pytest.param({}, ["--no-browser"], id="refused-by-the-grant-check"),
        # A refresh_token setting satisfies the grant's own checks, but the
        # signed-in tokens would have nowhere to go.
        pytest.param(
            {"refresh_token": "some-refresh-token"},
            ["--print-url", "--timeout", "5"],
            id="refused-by-login",
        ),
    ],
)
def test_login_without_token_cache_path_is_a_config_error(
    fresh: MockPlatform, tmp_path: Path, overrides: dict[str, str], flags: list[str]
) -> None:
    config = write_config(fresh, tmp_path, token_cache_path=None, **overrides)
    result = run_login(config, *flags)
    assert result.returncode == 1
    assert "token_cache_path" in result.stderr
    assert result.stdout == ""  # no authorization URL was offered
    assert "Traceback" not in result.stderr


def test_login_in_process_opens_the_browser(
    fresh: MockPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webbrowser, "open", play_browser)
    settings = json.loads(write_config(fresh, tmp_path).read_text())
    manager = login(settings, timeout=30)
    assert manager.cache is not None
    cached = manager.cache.load()
    assert cached is not None
    assert cached.access_token == manager.access_token()


def test_access_denied_style_errors_are_reported(
    fresh: MockPlatform, tmp_path: Path
) -> None:
    config = write_config(fresh, tmp_path)
    process = start_login(config, "--no-browser")
    url = read_authorize_url(process)
    state = dict(parse_qsl(urlsplit(url).query))["state"]
    denied = "http://127.0.0.1/callback?" + urlencode(
        {"error": "access_denied", "error_description": "user said no", "state": state}
    )
    _, err = process.communicate(denied + "\n", timeout=30)
    assert process.returncode == 1
    assert "access_denied" in err
    assert "user said no" in err


def test_refused_code_exchange_raises(
    fresh: MockPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = json.loads(write_config(fresh, tmp_path).read_text())

    def browse_twice(url: str, *args: object, **kwargs: object) -> bool:
        # Redeem the code first, as an attacker who stole it would: the
        # login's own exchange must then fail with invalid_grant.
        def run() -> None:
            location = requests.get(url, allow_redirects=False, timeout=10)
            redirect = location.headers["Location"]
            code = dict(parse_qsl(urlsplit(redirect).query))["code"]
            requests.post(
                fresh.token_url,
                data={"grant_type": "authorization_code", "code": code},
                auth=(fresh.client_id, fresh.client_secret),
                timeout=10,
            )
            requests.get(redirect, timeout=10)

        threading.Thread(target=run).start()
        return True

    monkeypatch.setattr(webbrowser, "open", browse_twice)
    with pytest.raises(AuthenticationError) as caught:
        login(settings, timeout=30)
    assert caught.value.error == "invalid_grant"
    assert not (tmp_path / "tokens.json").exists()


def test_listener_page_escapes_the_error_description(
    fresh: MockPlatform, tmp_path: Path
) -> None:
    config = write_config(fresh, tmp_path)
    process = start_login(config, "--print-url")
    url = read_authorize_url(process)
    query = dict(parse_qsl(urlsplit(url).query))
    # Whoever crafts the redirect chooses error_description; it must come back
    # as text, not as markup that runs in the listener's origin.
    script = "<script>alert(1)</script>"
    crafted = (
        query["redirect_uri"]
        + "?"
        + urlencode(
            {
                "error": "access_denied",
                "error_description": script,
                "state": query["state"],
            }
        )
    )
    page = requests.get(crafted, timeout=10)
    _, err = process.communicate(timeout=30)
    assert page.status_code == 400
    assert "<script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert process.returncode == 1
    assert "access_denied" in err


def test_login_without_a_token_cache_stops_before_the_browser(
    fresh: MockPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A refresh_token setting satisfies the grant's own checks, but the new
    # tokens would have nowhere to go: say so before the user signs in.
    opened: list[str] = []

    def browse(url: str, *args: object, **kwargs: object) -> bool:
        opened.append(url)
        return play_browser(url)

    monkeypatch.setattr(webbrowser, "open", browse)
    settings = json.loads(write_config(fresh, tmp_path).read_text())
    settings.pop("token_cache_path")
    settings["refresh_token"] = "some-refresh-token"
    with pytest.raises(ConfigurationError, match="token_cache_path") as caught:
        login(settings, timeout=30)
    assert "tap-openapi-login" in str(caught.value)
    assert opened == []
    assert fresh.stats["authorize_requests"] == 0
    assert fresh.stats["token_requests"] == 0
