"""TokenManager against the live mock platform: grants, errors, renewal, cache."""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from tap_openapi import (
    AuthenticationError,
    CachedToken,
    ConfigurationError,
    HTTPStatusError,
    OpenAPIClient,
    TokenCache,
    TokenManager,
    api,
    envelope,
)
from tap_openapi.auth import DEFAULT_LIFETIME, parse_expires_in, renew_margin
from tap_openapi.mock_platform import MockPlatform
from tap_openapi.pkce import new_authorization_request

ITEMS = "/api/v1/items"


@pytest.fixture
def fresh() -> Iterator[MockPlatform]:
    """A small platform of the test's own, for tests that count or expire."""
    with MockPlatform(rows=50) as running:
        yield running


def password_settings(platform: MockPlatform, **overrides: object) -> dict[str, object]:
    settings: dict[str, object] = {
        "grant_type": "password",
        "username": platform.username,
        "password": platform.password,
    }
    return platform.tap_config(**(settings | overrides))


def issue_refresh_token(platform: MockPlatform) -> str:
    """Get a refresh token the way another tool would: a raw password grant."""
    answer = requests.post(
        platform.token_url,
        data={
            "grant_type": "password",
            "username": platform.username,
            "password": platform.password,
        },
        auth=(platform.client_id, platform.client_secret),
        timeout=10,
    )
    answer.raise_for_status()
    return str(answer.json()["refresh_token"])


def api_works(settings: dict[str, object], manager: TokenManager) -> None:
    with OpenAPIClient(settings, token_manager=manager) as client:
        assert client.get(ITEMS)["rows"] == []


def auth_counts(platform: MockPlatform) -> dict[str, int]:
    """Token requests by how the client authenticated, as the mock saw them."""
    stats = platform.stats
    return {method: stats[f"token_requests:auth:{method}"] for method in AUTH_KINDS}


AUTH_KINDS = ("basic", "post", "none")


# -- grants and client authentication ---------------------------------------------


@pytest.mark.parametrize("method", ["basic", "post"])
@pytest.mark.parametrize("grant", ["client_credentials", "password"])
def test_grant_succeeds_with_each_client_auth_method(
    fresh: MockPlatform, grant: str, method: str
) -> None:
    settings = password_settings(fresh, grant_type=grant, client_auth_method=method)
    manager = TokenManager(settings)
    token = manager.access_token()
    assert token
    assert manager.access_token() == token  # cached, not fetched again
    assert manager.token_requests == 1
    assert fresh.stats[f"token_requests:{grant}"] == 1
    api_works(settings, manager)
    # The request authenticated the configured way, and only that way.
    assert auth_counts(fresh) == {"basic": 0, "post": 0, "none": 0} | {method: 1}


@pytest.mark.parametrize("method", ["basic", "post"])
def test_refresh_token_grant_with_each_client_auth_method(
    fresh: MockPlatform, method: str
) -> None:
    settings = fresh.tap_config(
        grant_type="refresh_token",
        refresh_token=issue_refresh_token(fresh),
        client_auth_method=method,
    )
    fresh.reset_stats()  # issue_refresh_token authenticated with Basic
    manager = TokenManager(settings)
    api_works(settings, manager)
    assert fresh.stats["token_requests:refresh_token"] == 1
    assert auth_counts(fresh) == {"basic": 0, "post": 0, "none": 0} | {method: 1}


@pytest.mark.parametrize("method", ["basic", "post"])
def test_code_exchange_with_each_client_auth_method(
    fresh: MockPlatform, tmp_path: Path, method: str
) -> None:
    settings = fresh.tap_config(
        grant_type="authorization_code",
        token_cache_path=str(tmp_path / "tokens.json"),
        client_auth_method=method,
    )
    request = new_authorization_request(
        fresh.authorize_url, fresh.client_id, "http://127.0.0.1:9/callback", None
    )
    answer = requests.get(request.url, allow_redirects=False, timeout=10)
    code = dict(parse_qsl(urlsplit(answer.headers["Location"]).query))["code"]
    manager = TokenManager(settings)
    manager.exchange_code(code, request.code_verifier, request.redirect_uri)
    assert fresh.stats["token_requests:authorization_code"] == 1
    assert auth_counts(fresh) == {"basic": 0, "post": 0, "none": 0} | {method: 1}
    api_works(settings, manager)


def test_public_client_names_itself_in_the_form(
    fresh: MockPlatform, tmp_path: Path
) -> None:
    # No client_secret: a public client sends only client_id (RFC 6749 2.1),
    # whatever client_auth_method says.
    settings = fresh.tap_config(
        grant_type="refresh_token",
        refresh_token=issue_refresh_token(fresh),
        client_secret=None,
    )
    fresh.reset_stats()
    api_works(settings, TokenManager(settings))
    assert auth_counts(fresh) == {"basic": 0, "post": 0, "none": 1}


def test_password_grant_renews_with_its_refresh_token(fresh: MockPlatform) -> None:
    manager = TokenManager(password_settings(fresh))
    first = manager.access_token()
    manager.invalidate(first)
    assert manager.access_token() != first
    assert fresh.stats["token_requests:password"] == 1
    assert fresh.stats["token_requests:refresh_token"] == 1


# -- RFC 6749 errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "error", "status"),
    [
        pytest.param(
            {"client_secret": "wrong"}, "invalid_client", 401, id="cc-bad-secret"
        ),
        pytest.param(
            {"client_id": "nobody"}, "invalid_client", 401, id="cc-unknown-client"
        ),
        pytest.param(
            {"client_secret": "wrong", "client_auth_method": "post"},
            "invalid_client",
            401,
            id="cc-bad-secret-post",
        ),
        pytest.param(
            {"grant_type": "password", "password": "wrong"},
            "invalid_grant",
            400,
            id="password-bad-password",
        ),
        pytest.param(
            {"grant_type": "password", "client_secret": "wrong"},
            "invalid_client",
            401,
            id="password-bad-secret",
        ),
        pytest.param(
            {"grant_type": "refresh_token", "refresh_token": "not-a-token"},
            "invalid_grant",
            400,
            id="refresh-unknown-token",
        ),
        pytest.param(
            {
                "grant_type": "refresh_token",
                "refresh_token": "not-a-token",
                "client_secret": "wrong",
            },
            "invalid_client",
            401,
            id="refresh-bad-secret",
        ),
        pytest.param(
            {
                "grant_type": "refresh_token",
                "refresh_token": "not-a-token",
                "client_secret": "wrong",
                "client_auth_method": "post",
            },
            "invalid_client",
            401,
            id="refresh-bad-secret-post",
        ),
        pytest.param(
            {"grant_type": "urn:example:grant-type:unknown"},
            "unsupported_grant_type",
            400,
            id="extension-grant-unsupported",
        ),
    ],
)
def test_token_endpoint_errors_raise_authentication_error(
    fresh: MockPlatform, overrides: dict[str, str], error: str, status: int
) -> None:
    settings = (
        fresh.tap_config(username=fresh.username, password=fresh.password) | overrides
    )
    manager = TokenManager(settings)
    with pytest.raises(AuthenticationError) as caught:
        manager.access_token()
    assert caught.value.error == error
    assert caught.value.status == status
    assert error in str(caught.value)
    assert caught.value.description  # the server's error_description is kept


def test_invalid_authorization_code_is_invalid_grant(
    fresh: MockPlatform, tmp_path: Path
) -> None:
    settings = fresh.tap_config(
        grant_type="authorization_code", token_cache_path=str(tmp_path / "c.json")
    )
    manager = TokenManager(settings)
    with pytest.raises(AuthenticationError) as caught:
        manager.exchange_code("made-up", "v" * 43, "http://127.0.0.1:1/callback")
    assert caught.value.error == "invalid_grant"
    assert not (tmp_path / "c.json").exists()


def test_code_exchange_with_a_wrong_secret_is_invalid_client(
    fresh: MockPlatform, tmp_path: Path
) -> None:
    settings = fresh.tap_config(
        grant_type="authorization_code",
        token_cache_path=str(tmp_path / "c.json"),
        client_secret="wrong",
    )
    with pytest.raises(AuthenticationError) as caught:
        TokenManager(settings).exchange_code(
            "made-up", "v" * 43, "http://127.0.0.1:1/callback"
        )
    assert caught.value.error == "invalid_client"
    assert caught.value.status == 401


def test_unreachable_token_endpoint_is_transport_error() -> None:
    from tap_openapi import TransportError

    with MockPlatform() as gone:
        settings = gone.tap_config(max_retries=1)
    with pytest.raises(TransportError, match="unreachable after 2 attempts"):
        TokenManager(settings).access_token()


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        pytest.param({"client_secret": None}, "client_secret", id="cc-no-secret"),
        pytest.param({"client_id": ""}, "client_id", id="no-client-id"),
        pytest.param({"grant_type": "password"}, "username", id="password-no-user"),
        pytest.param({"grant_type": "implicit"}, "grant_type", id="bad-grant"),
        pytest.param(
            {"client_auth_method": "jwt"}, "client_auth_method", id="bad-auth-method"
        ),
        pytest.param(
            {"grant_type": "refresh_token"}, "refresh_token", id="refresh-no-token"
        ),
        pytest.param(
            {"grant_type": "authorization_code"},
            "token_cache_path",
            id="code-no-cache",
        ),
        pytest.param({"base_url": None}, "base_url", id="no-base-url"),
    ],
)
def test_missing_or_wrong_settings_are_named(
    platform: MockPlatform, overrides: dict[str, object], setting: str
) -> None:
    with pytest.raises(ConfigurationError, match=setting):
        TokenManager(platform.tap_config() | overrides)


# -- renewal -----------------------------------------------------------------------


def test_default_margin_is_a_tenth_of_short_lifetimes_and_a_minute_of_long() -> None:
    assert renew_margin(2) == pytest.approx(0.2)
    assert renew_margin(3600) == 60


def test_token_is_renewed_ahead_of_expiry() -> None:
    # Tokens live 3 s; renewing 2.5 s early means a new one after 0.5 s, while
    # the platform would still accept the old one.
    with MockPlatform(rows=10, token_ttl=3) as short:
        settings = short.tap_config()
        manager = TokenManager(settings, margin=2.5)
        with OpenAPIClient(settings, token_manager=manager) as client:
            client.get(ITEMS)
            first = manager.access_token()
            time.sleep(0.6)
            client.get(ITEMS)
            assert manager.access_token() != first
        assert short.stats["token_requests"] == 2
        assert short.stats["api_requests"] == 2  # no 401 answer, no retry


def test_short_ttl_with_default_margin_never_sends_an_expired_token() -> None:
    with MockPlatform(rows=10, token_ttl=1) as short:
        with OpenAPIClient(short.tap_config()) as client:
            for _ in range(3):
                client.get(ITEMS)
                time.sleep(0.5)
        assert short.stats["token_requests"] == 2
        assert short.stats["api_requests"] == 3


def test_expired_token_a401ot_is_renewed_and_the_request_retried_once(
    fresh: MockPlatform,
) -> None:
    with OpenAPIClient(fresh.tap_config()) as client:
        client.get(ITEMS)
        fresh.expire_tokens()
        fresh.reset_stats()
        assert client.get(ITEMS)["rows"] == []
    assert fresh.stats["token_requests"] == 1
    assert fresh.stats["api_requests"] == 2


def test_second_401_in_a_row_is_an_error_not_a_loop() -> None:
    # Every token is born expired: the retry with a new token fails again.
    with MockPlatform(rows=10, token_ttl=0) as broken:
        client = OpenAPIClient(broken.tap_config())
        with client, pytest.raises(HTTPStatusError) as caught:
            client.get(ITEMS)
        assert caught.value.status == 401
        assert caught.value.error_code == "A401OT"
        assert broken.stats["api_requests"] == 2
        assert broken.stats["token_requests"] == 2


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        pytest.param(0, 0.0, id="zero"),
        pytest.param("0", 0.0, id="zero-string"),
        pytest.param(-5, 0.0, id="negative"),
        pytest.param(3600, 3600.0, id="int"),
        pytest.param("120", 120.0, id="numeric-string"),
        pytest.param(2.5, 2.5, id="float"),
        pytest.param(None, None, id="missing"),
        pytest.param("soon", None, id="word"),
        pytest.param(True, None, id="bool"),
        pytest.param([60], None, id="list"),
        pytest.param(float("nan"), None, id="nan"),
    ],
)
def test_expires_in_is_read_as_a_number_of_seconds(
    value: object, seconds: float | None
) -> None:
    assert parse_expires_in(value) == seconds
    assert DEFAULT_LIFETIME == 3600  # what None stands for


def test_expires_in_zero_means_one_request_per_token(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    # The platform says expires_in 0 (the tokens do live an hour): each token
    # serves the request at hand only; nothing treats it as an hour-long one.
    with MockPlatform(rows=10, token_ttl=3600, advertised_ttl=0) as zero:
        settings = zero.tap_config(token_cache_path=str(tmp_path / "tokens.json"))
        manager = TokenManager(settings)
        caplog.set_level(logging.WARNING, logger="tap_openapi")
        with OpenAPIClient(settings, token_manager=manager) as client:
            for _ in range(3):
                assert client.get(ITEMS)["rows"] == []
        assert zero.stats["token_requests"] == 3
        assert zero.stats["api_requests"] == 3  # no 401: no token was reused
        warnings = [r for r in caplog.records if "expires_in 0" in r.getMessage()]
        assert len(warnings) == 1  # once per run, not once per token
        assert warnings[0].levelno == logging.WARNING
        # Another run sharing the cache does not adopt the spent token.
        TokenManager(settings).access_token()
        assert zero.stats["token_requests"] == 4


def test_library_renews_on_the_same_401_rule_as_the_tap() -> None:
    # One predicate for both, so the rule cannot drift: renew once on A401OT,
    # A401AT or a 401 without X-Ca-Error-Code; any other 401 is an error.
    assert api.is_token_expired is envelope.is_token_expired


def test_unknown_token_a401at_is_renewed_and_retried_once(
    fresh: MockPlatform, tmp_path: Path
) -> None:
    # A cached token the platform does not know (e.g. issued before a restart).
    cache_path = tmp_path / "tokens.json"
    TokenCache(cache_path).save(
        CachedToken(
            access_token="unknown-to-the-platform",
            expires_at=time.time() + 999,
            issued_at=time.time(),
            client_id=fresh.client_id,
            token_url=fresh.token_url,
        )
    )
    settings = fresh.tap_config(token_cache_path=str(cache_path))
    with OpenAPIClient(settings) as client:
        assert client.get(ITEMS)["rows"] == []
    assert fresh.stats["api_requests"] == 2
    assert fresh.stats["token_requests"] == 1


def test_threads_share_one_token_request(fresh: MockPlatform) -> None:
    settings = fresh.tap_config()
    manager = TokenManager(settings)
    tokens: list[str] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        tokens.append(manager.access_token())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(tokens)) == 1
    assert fresh.stats["token_requests"] == 1
    assert manager.token_requests == 1


# -- the token cache -----------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_rotated_refresh_tokens_are_written_back_to_the_cache(
    fresh: MockPlatform, tmp_path: Path
) -> None:
    cache_path = tmp_path / "tokens.json"
    original = issue_refresh_token(fresh)
    settings = fresh.tap_config(
        grant_type="refresh_token",
        refresh_token=original,
        token_cache_path=str(cache_path),
    )
    manager = TokenManager(settings)
    api_works(settings, manager)
    first = TokenCache(cache_path).load()
    assert first is not None
    assert first.refresh_token not in (None, original)
    assert first.access_token == manager.access_token()
    assert mode(cache_path) == 0o600

    # The platform expires the access token; the renewal rotates again.
    fresh.expire_tokens()
    api_works(settings, manager)
    second = TokenCache(cache_path).load()
    assert second is not None
    assert second.refresh_token not in (None, original, first.refresh_token)
    assert mode(cache_path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "tokens.json",
        "tokens.json.lock",
    ]

    # The spent setting would fail, but the next run reads the cache first and
    # even reuses its still-valid access token.
    fresh.reset_stats()
    again = TokenManager(settings)
    assert again.access_token() == second.access_token
    api_works(settings, again)
    assert fresh.stats["token_requests"] == 0


def test_two_runs_sharing_a_cache_do_not_spend_each_others_refresh_token(
    fresh: MockPlatform, tmp_path: Path
) -> None:
    settings = fresh.tap_config(
        grant_type="refresh_token",
        refresh_token=issue_refresh_token(fresh),
        token_cache_path=str(tmp_path / "tokens.json"),
    )
    first, second = TokenManager(settings), TokenManager(settings)
    token = first.access_token()
    assert second.access_token() == token  # read from the cache, not refreshed
    for manager in (first, second):
        manager.invalidate(token)
    renewed = first.access_token()
    assert renewed != token
    assert second.access_token() == renewed
    assert fresh.stats["token_requests:refresh_token"] == 2
    assert second.token_requests == 0


def test_spent_refresh_token_tells_the_user_to_log_in_again(
    fresh: MockPlatform, tmp_path: Path
) -> None:
    cache_path = tmp_path / "tokens.json"
    spent = issue_refresh_token(fresh)
    TokenCache(cache_path).save(
        CachedToken(
            refresh_token=spent, client_id=fresh.client_id, token_url=fresh.token_url
        )
    )
    # Someone else uses the refresh token first; the platform rotates it away.
    requests.post(
        fresh.token_url,
        data={"grant_type": "refresh_token", "refresh_token": spent},
        auth=(fresh.client_id, fresh.client_secret),
        timeout=10,
    ).raise_for_status()
    settings = fresh.tap_config(
        grant_type="authorization_code", token_cache_path=str(cache_path)
    )
    with OpenAPIClient(settings) as client, pytest.raises(AuthenticationError) as err:
        client.get(ITEMS)
    assert err.value.error == "invalid_grant"
    assert "tap-openapi-login" in str(err.value)


def test_authorization_code_grant_without_cached_tokens_asks_for_login(
    fresh: MockPlatform, tmp_path: Path
) -> None:
    settings = fresh.tap_config(
        grant_type="authorization_code",
        token_cache_path=str(tmp_path / "missing.json"),
    )
    with pytest.raises(AuthenticationError, match="tap-openapi-login"):
        TokenManager(settings).access_token()


def test_cache_of_another_client_is_ignored(
    fresh: MockPlatform, tmp_path: Path
) -> None:
    cache_path = tmp_path / "tokens.json"
    cache_path.write_text(
        json.dumps(
            {
                "access_token": "x",
                "expires_at": time.time() + 999,
                "client_id": "someone-else",
            }
        )
    )
    manager = TokenManager(fresh.tap_config(token_cache_path=str(cache_path)))
    assert manager.access_token() != "x"
    assert fresh.stats["token_requests"] == 1


def test_corrupt_cache_names_the_file(fresh: MockPlatform, tmp_path: Path) -> None:
    cache_path = tmp_path / "tokens.json"
    cache_path.write_text("{not json")
    manager = TokenManager(fresh.tap_config(token_cache_path=str(cache_path)))
    with pytest.raises(ConfigurationError, match=r"tokens\.json.*tap-openapi-login"):
        manager.access_token()
