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

from tap_openapi import (
    AuthenticationError,
    HTTPStatusError,
    OpenAPIClient,
    OpenAPIError,
    TokenManager,
)
from tap_openapi.login import login
from tap_openapi.mock_platform import MockPlatform

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
