"""What the tap says when things go wrong, and that it says it in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tap_runs import FAKE_SCHEMA, run_cli, run_tap, streams

from tap_openapi.errors import HTTPStatusError, PlatformError
from tap_openapi.mock_platform import MockPlatform
from tap_openapi.tap import TapOpenAPI


def test_one_token_for_all_streams() -> None:
    with MockPlatform(rows=500) as platform:
        config = platform.tap_config(
            page_size=100,
            streams=[
                *streams("fake", "fakewithts"),
                {"name": "again", "path": "/api/v1/sync/fake", "primary_keys": ["id"]},
            ],
        )
        out = run_tap(config)
        assert len(out.records("fake")) == len(out.records("again")) == 500
        assert len(out.records("fakewithts")) == 500
        assert platform.stats["token_requests"] == 1


def test_business_error_names_stream_page_and_request(platform: MockPlatform) -> None:
    config = platform.tap_config(
        streams=[
            {"name": "biz", "path": "/api/v1/error/business", "schema": FAKE_SCHEMA}
        ]
    )
    with pytest.raises(PlatformError) as caught:
        run_tap(config)
    message = str(caught.value)
    assert "/api/v1/error/business" in message
    assert "stream 'biz', page 1" in message
    assert "errCode=40001" in message
    assert "errMsg='simulated business error'" in message
    assert caught.value.request_id
    assert f"requestId={caught.value.request_id}" in message


def test_http_error_shows_x_ca_headers(platform: MockPlatform) -> None:
    config = platform.tap_config(
        streams=[{"name": "gone", "path": "/api/v1/nope", "schema": FAKE_SCHEMA}]
    )
    with pytest.raises(HTTPStatusError) as caught:
        run_tap(config)
    message = str(caught.value)
    assert message.startswith("HTTP 404 Not Found for GET /api/v1/nope")
    assert "stream 'gone', page 1" in message
    assert "X-Ca-Error-Code=A404NF" in message
    assert "X-Ca-Request-Id=" in message
    assert "pageNum" not in message  # no query string


def test_wrong_secret_exits_with_one_line(
    platform: MockPlatform, tmp_path: Path
) -> None:
    secret = "not-the-secret-5d1c"
    result = run_cli(
        config=platform.tap_config(client_secret=secret), tmp_path=tmp_path
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "invalid_client" in last
    assert "Traceback" not in result.stderr
    assert secret not in result.stderr + result.stdout
    assert result.stdout == ""


def test_unknown_setting_suggests_nearest(
    platform: MockPlatform, tmp_path: Path
) -> None:
    config = platform.tap_config(pagesize=100)
    result = run_cli(config=config, tmp_path=tmp_path)
    assert result.returncode == 1
    assert "Unknown setting 'pagesize'; did you mean 'page_size'?" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_stream_key_suggests_nearest(
    platform: MockPlatform, tmp_path: Path
) -> None:
    config = platform.tap_config(
        streams=[{"name": "fake", "path": "/api/v1/sync/fake", "primary_key": ["id"]}]
    )
    result = run_cli("--discover", config=config, tmp_path=tmp_path)
    assert result.returncode == 1
    expected = "Unknown setting 'streams[0].primary_key'; did you mean 'primary_keys'?"
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_discover_with_bad_value_fails_cleanly(
    platform: MockPlatform, tmp_path: Path
) -> None:
    config = platform.tap_config(page_size=5000)
    result = run_cli("--discover", config=config, tmp_path=tmp_path)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "5000 is greater than the maximum of 2000 in config['page_size']" in last


def test_unreachable_platform_fails_in_one_line(tmp_path: Path) -> None:
    config = {
        "base_url": "http://127.0.0.1:9",
        "client_id": "demo-client",
        "client_secret": "demo-secret",
        "max_retries": 0,
        "streams": streams("fake"),
    }
    result = run_cli(config=config, tmp_path=tmp_path)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "TransportError" in last
    assert "unreachable" in last
    assert "demo-secret" not in result.stderr


def test_about_lists_settings_with_secrets_marked(tmp_path: Path) -> None:
    result = run_cli("--about", "--format", "json", config={}, tmp_path=tmp_path)
    assert result.returncode == 0
    settings = json.loads(result.stdout)["settings"]["properties"]
    for key in ("client_secret", "password", "refresh_token"):
        assert settings[key]["secret"] is True
    for key, spec in settings.items():
        if key in TapOpenAPI.config_jsonschema["properties"]:
            assert spec.get("title"), key
            assert spec.get("description"), key
    assert settings["page_size"]["maximum"] == 2000
    assert settings["grant_type"]["enum"][0] == "client_credentials"
    markdown = run_cli("--about", "--format", "markdown", config={}, tmp_path=tmp_path)
    assert "| max_concurrent_requests |" in markdown.stdout


def test_verify_tls_off_is_warned(
    platform: MockPlatform, caplog: pytest.LogCaptureFixture
) -> None:
    config = platform.tap_config(
        verify_tls=False, streams=streams("fake", schema=FAKE_SCHEMA)
    )
    out = run_tap(config)
    assert len(out.records("fake")) == platform.rows
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "verify_tls is false: the platform's TLS certificate is not checked" in (
        warnings
    )
