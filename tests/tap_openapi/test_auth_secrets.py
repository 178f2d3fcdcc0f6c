"""No secret reaches a log line or an exception message, on success or failure.

Every token the platform issues during a test is recorded from the token
responses (a response hook on the real session) and then searched for in
every captured log record (DEBUG and up, all loggers) and exception text.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import webbrowser
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from tap_runs import run_cli

from tap_openapi import (
    AuthenticationError,
    HTTPStatusError,
    OpenAPIClient,
    OpenAPIError,
    TokenManager,
)
from tap_openapi.login import login
from tap_openapi.mock_platform import MockPlatform
from tap_openapi.mock_platform.oauth import ECHO_CLIENT_ID

ITEMS = "/api/v1/items"
WRONG_SECRET = "wrong-secret-9f8e7d"
WRONG_PASSWORD = "wrong-password-1a2b3c"


class SecretWatch:
    """Collects the secrets of a run and checks texts for them."""

    def __init__(self, platform: MockPlatform) -> None:
        self.secrets = {
            platform.client_secret,
            platform.password,
            WRONG_SECRET,
            WRONG_PASSWORD,
        }
        for secret in (platform.client_secret, WRONG_SECRET):
            pair = f"{platform.client_id}:{secret}".encode()
            self.secrets.add(base64.b64encode(pair).decode())
        self.session = requests.Session()
        self.session.hooks["response"].append(self._record)
        self.texts: list[str] = []

    def _record(self, response: requests.Response, **_: object) -> None:
        if response.url.endswith("/oauth2/token") and response.ok:
            answer = response.json()
            for key in ("access_token", "refresh_token"):
                if answer.get(key):
                    self.secrets.add(answer[key])

    def expect_error(self, call: Callable[[], object]) -> OpenAPIError:
        with pytest.raises(OpenAPIError) as caught:
            call()
        error: BaseException | None = caught.value
        while error is not None:
            self.texts.append(str(error))
            self.texts.extend(str(arg) for arg in error.args)
            error = error.__cause__ or error.__context__
        return caught.value

    def check(self, caplog: pytest.LogCaptureFixture) -> None:
        # Checked at teardown: the test's own records are the "call" phase's.
        records = caplog.get_records("call")
        lines = [record.getMessage() for record in records]
        lines += [str(record.exc_info[1]) for record in records if record.exc_info]
        assert len(records) > 20  # DEBUG capture did work
        assert len(self.secrets) > 6  # tokens were issued and recorded
        for text in lines + self.texts:
            for secret in self.secrets:
                assert secret not in text, f"a secret leaked into: {text[:200]!r}"


@pytest.fixture
def fresh() -> Iterator[MockPlatform]:
    with MockPlatform(rows=3000) as running:
        yield running


@pytest.fixture
def watch(
    fresh: MockPlatform, caplog: pytest.LogCaptureFixture
) -> Iterator[SecretWatch]:
    caplog.set_level(logging.DEBUG)
    watcher = SecretWatch(fresh)
    yield watcher
    watcher.check(caplog)


def test_no_secret_in_logs_of_successful_runs(
    fresh: MockPlatform,
    watch: SecretWatch,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for method in ("basic", "post"):
        settings = fresh.tap_config(
            grant_type="password",
            username=fresh.username,
            password=fresh.password,
            client_auth_method=method,
            token_cache_path=str(tmp_path / f"{method}.json"),
        )
        with OpenAPIClient(settings, session=watch.session) as client:
            assert len(list(client.iter_rows("/api/v1/sync/fake"))) == 3000
            fresh.expire_tokens()  # A401OT, then a refresh that rotates
            client.post(ITEMS, json={"name": "x"})

    def browse(url: str, *args: object, **kwargs: object) -> bool:
        threading.Thread(
            target=requests.get, args=(url,), kwargs={"timeout": 10}
        ).start()
        return True

    monkeypatch.setattr(webbrowser, "open", browse)
    code_settings = fresh.tap_config(
        grant_type="authorization_code",
        token_cache_path=str(tmp_path / "login.json"),
        redirect_uri="http://127.0.0.1/callback",
    )
    login(code_settings, timeout=30, session=watch.session)
    fresh.expire_tokens()
    with OpenAPIClient(code_settings, session=watch.session) as client:
        client.get(ITEMS)
    assert fresh.stats["token_requests:refresh_token"] == 3


def test_no_secret_in_logs_or_errors_of_failing_runs(
    fresh: MockPlatform, watch: SecretWatch, tmp_path: Path
) -> None:
    base = fresh.tap_config(username=fresh.username, password=fresh.password)
    for method in ("basic", "post"):
        bad_client = base | {
            "client_secret": WRONG_SECRET,
            "client_auth_method": method,
        }
        manager = TokenManager(bad_client, watch.session)
        error = watch.expect_error(manager.access_token)
        assert isinstance(error, AuthenticationError)
        assert error.error == "invalid_client"

    bad_password = base | {"grant_type": "password", "password": WRONG_PASSWORD}
    manager = TokenManager(bad_password, watch.session)
    error = watch.expect_error(manager.access_token)
    assert isinstance(error, AuthenticationError)
    assert error.error == "invalid_grant"

    # A refresh token that was used once already (rotation spent it).
    good = TokenManager(base | {"grant_type": "password"}, watch.session)
    good.access_token()
    spent = good._refresh_token
    good.invalidate(good.access_token())
    good.access_token()
    assert spent is not None
    refresh = base | {
        "grant_type": "refresh_token",
        "refresh_token": spent,
        "token_cache_path": str(tmp_path / "cache.json"),
    }
    (tmp_path / "cache.json").write_text(json.dumps({"client_id": "demo-client"}))
    error = watch.expect_error(TokenManager(refresh, watch.session).access_token)
    assert "tap-openapi-login" in str(error)

    with MockPlatform(rows=10, token_ttl=0) as expiring:
        settings = expiring.tap_config()
        client = OpenAPIClient(settings, session=watch.session)
        error = watch.expect_error(lambda: client.get(ITEMS))
        assert isinstance(error, HTTPStatusError)

    with MockPlatform(rows=10) as gone:
        unreachable = gone.tap_config(max_retries=0)
    watch.expect_error(TokenManager(unreachable, watch.session).access_token)


# -- a platform that echoes what it was sent ------------------------------------------

ECHO_SECRET = "Echo-S3cret-5d4c3b2a"
ECHO_PASSWORD = "Echo-Passw0rd-6e5f4a3b"
ECHO_REFRESH = "Echo-Refresh-7f6e5d4c"


def echo_settings(platform: MockPlatform, grant: str, method: str) -> dict[str, object]:
    """Settings for the mock's echoing client: refused, secrets repeated back."""
    return platform.tap_config(
        client_id=ECHO_CLIENT_ID,
        client_secret=ECHO_SECRET,
        client_auth_method=method,
        grant_type=grant,
        username=platform.username,
        password=ECHO_PASSWORD,
        refresh_token=ECHO_REFRESH,
        max_retries=0,
    )


def chain_texts(error: BaseException) -> list[str]:
    """What the error and the errors it was raised from would print."""
    texts: list[str] = []
    current: BaseException | None = error
    while current is not None:
        texts += [str(current), repr(current)]
        texts += [str(value) for value in vars(current).values()]
        current = current.__cause__ or current.__context__
    return texts


@pytest.mark.parametrize("method", ["basic", "post"])
@pytest.mark.parametrize("grant", ["client_credentials", "password", "refresh_token"])
def test_secrets_echoed_by_the_platform_are_redacted_from_library_errors(
    fresh: MockPlatform, grant: str, method: str
) -> None:
    manager = TokenManager(echo_settings(fresh, grant, method))
    with pytest.raises(AuthenticationError) as caught:
        manager.access_token()
    error = caught.value
    assert error.error == "invalid_client"
    # The platform did echo something, and it was masked.
    assert error.description is not None
    assert "***" in error.description
    assert "***" in str(error)
    sent = {ECHO_SECRET} | {
        "password": {ECHO_PASSWORD},
        "refresh_token": {ECHO_REFRESH},
    }.get(grant, set())
    for text in chain_texts(error):
        for secret in sent:
            assert secret not in text, text


def test_library_client_errors_hide_the_current_tokens(fresh: MockPlatform) -> None:
    settings = fresh.tap_config(
        grant_type="password", username=fresh.username, password=fresh.password
    )
    with OpenAPIClient(settings) as client:
        client.get(ITEMS)
        manager = client.tokens
        token, refresh = manager.access_token(), manager._refresh_token
        assert refresh
        held = manager.secret_values()
        assert {token, refresh, fresh.client_secret, fresh.password} <= set(held)
        # Any error the client raises is scrubbed of what the manager holds.
        with pytest.raises(HTTPStatusError) as caught:
            client.get(f"{ITEMS}/{token}")  # the token ends up in the message
        assert "404" in str(caught.value)
        assert token not in str(caught.value)
        assert "***" in str(caught.value)


@pytest.mark.parametrize("grant", ["client_credentials", "password", "refresh_token"])
def test_tap_error_line_hides_secrets_the_platform_echoed(
    fresh: MockPlatform, tmp_path: Path, grant: str
) -> None:
    config = echo_settings(fresh, grant, "post")
    result = run_cli(config=config, tmp_path=tmp_path)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    last = lines[-1]
    assert "ERROR" in last
    assert "AuthenticationError" in last
    assert "invalid_client" in last
    assert "***" in last
    for secret in (ECHO_SECRET, ECHO_PASSWORD, ECHO_REFRESH):
        assert secret not in result.stderr + result.stdout
