"""The OAuth2 endpoints: every grant, their errors, PKCE, refresh rotation."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import typing as t
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tap_openapi.mock_platform import MockPlatform
from tap_openapi.mock_platform.oauth import ECHO_CLIENT_ID

FAKE = "/api/v1/sync/fake"
REDIRECT = "http://127.0.0.1:9/callback"


def _token(
    platform: MockPlatform, form: dict[str, str], auth: tuple[str, str] | None = None
) -> requests.Response:
    return requests.post(platform.token_url, data=form, auth=auth, timeout=10)


def _api(platform: MockPlatform, token: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return requests.get(f"{platform.url}{FAKE}", headers=headers, timeout=10)


def _assert_error(answer: requests.Response, status: int, error: str) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["error"] == error
    assert body["error_description"]
    assert answer.headers["Cache-Control"] == "no-store"


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _authorize(platform: MockPlatform, **params: str) -> dict[str, list[str]]:
    query = {
        "response_type": "code",
        "client_id": platform.client_id,
        "redirect_uri": REDIRECT,
        "state": "xyz",
        **params,
    }
    answer = requests.get(
        platform.authorize_url, params=query, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return parse_qs(location.query)


def _code(platform: MockPlatform, verifier: str) -> str:
    query = _authorize(
        platform, code_challenge=_challenge(verifier), code_challenge_method="S256"
    )
    assert query["state"] == ["xyz"]
    return query["code"][0]


def test_client_credentials_with_basic_auth(small: MockPlatform) -> None:
    answer = _token(
        small, {"grant_type": "client_credentials"}, ("demo-client", "demo-secret")
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"]
    assert "refresh_token" not in body
    assert _api(small, body["access_token"]).status_code == 200


def test_client_credentials_with_form_fields(small: MockPlatform) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": "demo-client",
        "client_secret": "demo-secret",
        "scope": "read",
    }
    body = _token(small, form).json()
    assert body["scope"] == "read"
    assert _api(small, body["access_token"]).status_code == 200
    assert small.stats["token_requests:client_credentials"] == 1


@pytest.mark.parametrize(
    ("form", "auth"),
    [
        pytest.param({}, ("demo-client", "wrong"), id="wrong-secret-basic"),
        pytest.param(
            {"client_id": "demo-client", "client_secret": "x"},
            None,
            id="wrong-secret-form",
        ),
        pytest.param({}, ("other", "demo-secret"), id="unknown-client"),
        pytest.param({"client_id": "demo-client"}, None, id="no-secret"),
        pytest.param({}, None, id="no-client"),
    ],
)
def test_invalid_client(
    small: MockPlatform, form: dict[str, str], auth: tuple[str, str] | None
) -> None:
    answer = _token(small, {"grant_type": "client_credentials", **form}, auth)
    _assert_error(answer, 401, "invalid_client")
    assert "demo-secret" not in answer.text


@pytest.mark.parametrize(
    ("form", "auth", "kind"),
    [
        pytest.param({}, ("demo-client", "demo-secret"), "basic", id="basic"),
        pytest.param({}, ("demo-client", "wrong"), "basic", id="basic-refused"),
        pytest.param(
            {"client_id": "demo-client", "client_secret": "demo-secret"},
            None,
            "post",
            id="post",
        ),
        pytest.param(
            {"client_id": "demo-client", "client_secret": "wrong"},
            None,
            "post",
            id="post-refused",
        ),
        pytest.param({"client_id": "demo-client"}, None, "none", id="public"),
    ],
)
def test_token_requests_are_counted_by_client_auth_method(
    small: MockPlatform,
    form: dict[str, str],
    auth: tuple[str, str] | None,
    kind: str,
) -> None:
    _token(small, {"grant_type": "client_credentials", **form}, auth)
    counts = {
        method: small.stats[f"token_requests:auth:{method}"]
        for method in ("basic", "post", "none")
    }
    assert counts == {"basic": 0, "post": 0, "none": 0} | {kind: 1}
    admin = requests.get(f"{small.url}/admin/stats", timeout=10).json()["data"]
    assert admin[f"token_requests:auth:{kind}"] == 1


@pytest.mark.parametrize(
    ("form", "auth"),
    [
        pytest.param({}, (ECHO_CLIENT_ID, "s3cret-sent"), id="basic"),
        pytest.param(
            {"client_id": ECHO_CLIENT_ID, "client_secret": "s3cret-sent"},
            None,
            id="post",
        ),
    ],
)
def test_echo_client_repeats_what_it_was_sent(
    small: MockPlatform, form: dict[str, str], auth: tuple[str, str] | None
) -> None:
    form = {"grant_type": "password", "password": "pa55-sent", **form}
    answer = _token(small, form, auth)
    _assert_error(answer, 401, "invalid_client")
    description = answer.json()["error_description"]
    assert "client_secret=s3cret-sent" in description
    assert "password=pa55-sent" in description


def test_malformed_basic_header(small: MockPlatform) -> None:
    answer = requests.post(
        small.token_url,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic %%%"},
        timeout=10,
    )
    _assert_error(answer, 401, "invalid_client")


def test_unsupported_and_missing_grant_type(small: MockPlatform) -> None:
    auth = (small.client_id, small.client_secret)
    _assert_error(
        _token(small, {"grant_type": "magic"}, auth), 400, "unsupported_grant_type"
    )
    _assert_error(_token(small, {}, auth), 400, "invalid_request")


def test_password_grant(small: MockPlatform) -> None:
    auth = (small.client_id, small.client_secret)
    form = {
        "grant_type": "password",
        "username": "demo-user",
        "password": "demo-password",
    }
    body = _token(small, form, auth).json()
    assert body["refresh_token"]
    assert _api(small, body["access_token"]).status_code == 200
    bad = _token(small, {**form, "password": "nope"}, auth)
    _assert_error(bad, 400, "invalid_grant")
    _assert_error(
        _token(small, {"grant_type": "password"}, auth), 400, "invalid_request"
    )
    assert small.stats["token_requests:password"] == 3


def test_refresh_token_rotates(small: MockPlatform) -> None:
    auth = (small.client_id, small.client_secret)
    form = {
        "grant_type": "password",
        "username": "demo-user",
        "password": "demo-password",
    }
    first = _token(small, form, auth).json()
    second = _token(
        small,
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth,
    ).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert _api(small, second["access_token"]).status_code == 200
    reused = _token(
        small,
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth,
    )
    _assert_error(reused, 400, "invalid_grant")
    third = _token(
        small,
        {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]},
        auth,
    )
    assert third.status_code == 200
    _assert_error(
        _token(small, {"grant_type": "refresh_token"}, auth), 400, "invalid_request"
    )
    assert small.stats["token_requests:refresh_token"] == 4


def test_authorization_code_with_pkce_public_client(small: MockPlatform) -> None:
    verifier = secrets.token_urlsafe(48)
    code = _code(small, verifier)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "client_id": small.client_id,
    }
    body = _token(small, form).json()
    assert _api(small, body["access_token"]).status_code == 200
    refreshed = _token(
        small,
        {
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": small.client_id,
        },
    )
    assert refreshed.status_code == 200
    # A code works once.
    _assert_error(_token(small, form), 400, "invalid_grant")
    assert small.stats["authorize_requests"] == 1


def test_authorization_code_with_pkce_confidential_client(small: MockPlatform) -> None:
    verifier = secrets.token_urlsafe(48)
    form = {
        "grant_type": "authorization_code",
        "code": _code(small, verifier),
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    answer = _token(small, form, (small.client_id, small.client_secret))
    assert answer.status_code == 200
    assert answer.json()["refresh_token"]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        pytest.param({"code_verifier": "x" * 50}, "PKCE", id="wrong-verifier"),
        pytest.param({"code_verifier": None}, "code_verifier", id="no-verifier"),
        pytest.param(
            {"redirect_uri": "http://127.0.0.1:9/other"},
            "redirect_uri",
            id="other-redirect",
        ),
        pytest.param({"redirect_uri": None}, "redirect_uri", id="no-redirect"),
        pytest.param({"code": "made-up"}, "code", id="unknown-code"),
    ],
)
def test_authorization_code_rejections(
    small: MockPlatform, change: dict[str, str | None], error: str
) -> None:
    verifier = secrets.token_urlsafe(48)
    form: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": _code(small, verifier),
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "client_id": small.client_id,
        **change,
    }
    sent = {k: v for k, v in form.items() if v is not None}
    answer = _token(small, sent)
    _assert_error(answer, 400, "invalid_grant")
    assert error in answer.json()["error_description"]


def test_authorize_rejections(small: MockPlatform) -> None:
    query = _authorize(small, code_challenge="abc", code_challenge_method="plain")
    assert query["error"] == ["invalid_request"]
    assert query["state"] == ["xyz"]
    assert _authorize(small, response_type="token")["error"] == [
        "unsupported_response_type"
    ]
    # An unknown client or a bad redirect URI gets no redirect (RFC 6749 4.1.2.1).
    for params in ({"client_id": "other"}, {"redirect_uri": "javascript:alert(1)"}):
        answer = requests.get(
            small.authorize_url,
            params={
                "response_type": "code",
                "client_id": small.client_id,
                "redirect_uri": REDIRECT,
                **params,
            },
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 400
        assert "Location" not in answer.headers


def test_code_without_pkce_needs_the_secret(small: MockPlatform) -> None:
    code = _authorize(small)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    _assert_error(
        _token(small, {**form, "client_id": small.client_id}), 401, "invalid_client"
    )
    code = _authorize(small)["code"][0]
    answer = _token(
        small, {**form, "code": code}, (small.client_id, small.client_secret)
    )
    assert answer.status_code == 200


def test_expired_and_unknown_tokens(connect: t.Any) -> None:
    with MockPlatform(rows=5, token_ttl=0.3) as platform:
        api = connect(platform)
        assert api.get(FAKE).status_code == 200
        time.sleep(0.4)
        expired = api.get(FAKE)
        assert expired.status_code == 401
        assert expired.headers["X-Ca-Error-Code"] == "A401OT"
        assert expired.headers["X-Ca-Error-Message"] == "access token expired"
        assert expired.headers["X-Ca-Request-Id"] == expired.json()["requestId"]
        unknown = _api(platform, "not-a-token")
        assert unknown.status_code == 401
        assert unknown.headers["X-Ca-Error-Code"] == "A401AT"
        fresh = connect(platform)
        assert fresh.get(FAKE).status_code == 200
        platform.expire_tokens()
        assert fresh.get(FAKE).headers["X-Ca-Error-Code"] == "A401OT"


def test_advertised_ttl_lets_tokens_expire_early(connect: t.Any) -> None:
    with MockPlatform(rows=5, token_ttl=0.2, advertised_ttl=3600) as platform:
        answer = _token(
            platform,
            {"grant_type": "client_credentials"},
            (platform.client_id, platform.client_secret),
        )
        body = answer.json()
        assert body["expires_in"] == 3600
        time.sleep(0.3)
        expired = _api(platform, body["access_token"])
        assert expired.headers["X-Ca-Error-Code"] == "A401OT"
