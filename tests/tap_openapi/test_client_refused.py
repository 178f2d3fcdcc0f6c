"""A 401 that is not about the token ends the call at once, without renewal.

The platform answers ``/api/v1/error/unauthorized`` with 401 and
``X-Ca-Error-Code: A401IP`` (the client calls from an address it may not
use). Only A401OT/A401AT (or no code) mean "get a new token"; a new token
would not fix this one, so neither the tap nor the library asks for one.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from tap_runs import FAKE_SCHEMA, run_cli

from tap_openapi import HTTPStatusError, OpenAPIClient
from tap_openapi.mock_platform import MockPlatform

PATH = "/api/v1/error/unauthorized"
HINT = (
    "X-Ca-Error-Code A401IP is not about the token, so no new token was "
    "requested: the platform refuses this client; see X-Ca-Error-Message and "
    "check the client's access on the platform (e.g. the addresses it may "
    "call from)"
)


def test_tap_does_not_renew_the_token_and_exits_with_the_code(
    tmp_path: Path,
) -> None:
    with MockPlatform(rows=10) as platform:
        config = platform.tap_config(
            streams=[{"name": "walled", "path": PATH, "schema": FAKE_SCHEMA}]
        )
        result = run_cli(config=config, tmp_path=tmp_path)
        stats = platform.stats
    assert result.returncode == 1
    assert stats["token_requests"] == 1
    assert stats[f"requests:{PATH}"] == 1
    assert stats["api_requests"] == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "ERROR" in last
    assert "HTTPStatusError: HTTP 401 Unauthorized for GET " in last
    assert "(stream 'walled', page 1)" in last
    assert "X-Ca-Error-Code=A401IP" in last
    assert (
        "X-Ca-Error-Message=the client may not call the platform from this address"
    ) in last
    assert last.endswith(HINT)
    assert "renewing" not in result.stderr
    assert "Retrying" not in result.stderr
    assert "Traceback" not in result.stderr


def test_library_does_not_renew_the_token_and_raises_with_the_code(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="tap_openapi")
    with MockPlatform(rows=10) as platform:
        client = OpenAPIClient(platform.tap_config())
        with client, pytest.raises(HTTPStatusError) as caught:
            client.get(PATH)
        stats = platform.stats
    assert stats["token_requests"] == 1
    assert stats[f"requests:{PATH}"] == 1
    assert stats["api_requests"] == 1
    error = caught.value
    assert error.status == 401
    assert error.error_code == "A401IP"
    assert error.request_id
    assert str(error).startswith(
        f"HTTP 401 Unauthorized for GET {PATH}: X-Ca-Error-Code=A401IP, "
    )
    assert str(error).endswith(HINT)
    messages = [record.getMessage() for record in caplog.records]
    assert not [m for m in messages if "renewing" in m or m.startswith("Retrying")]


def test_library_renews_an_expired_token_once_like_the_tap(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="tap_openapi")
    with MockPlatform(rows=10) as platform:
        with OpenAPIClient(platform.tap_config()) as client:
            client.tokens.access_token()
            platform.expire_tokens()
            rows = client.get("/api/v1/sync/fake", params={"pageSize": 10})["rows"]
        stats = platform.stats
    assert len(rows) == 10
    assert stats["token_requests"] == 2
    assert stats["requests:/api/v1/sync/fake"] == 2
    assert [r.getMessage() for r in caplog.records] == [
        "Access token expired on /api/v1/sync/fake (GET request); renewing it "
        "and retrying once"
    ]
