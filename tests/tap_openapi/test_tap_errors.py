"""What the tap says when things go wrong, and that it says it in one line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tap_runs import FAKE_SCHEMA, TAP_SCRIPT, parse, run_cli, run_tap, streams
from tls_helpers import self_signed, system_trust_env

from tap_openapi.errors import HTTPStatusError, PlatformError
from tap_openapi.mock_platform import MockPlatform
from tap_openapi.tap import TapOpenAPI


def _last_error(result: subprocess.CompletedProcess[str]) -> str:
    """The last line the tap printed, which must be its one ERROR line."""
    last = result.stderr.strip().splitlines()[-1]
    assert "ERROR" in last, result.stderr[-2000:]
    return last


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
    last = _last_error(result)
    assert "invalid_client" in last
    assert "check client_id and client_secret" in last
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
    last = _last_error(result)
    assert "TransportError" in last
    assert "unreachable" in last
    assert "Connection refused; check base_url (or token_url) and the network" in (last)
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
    assert (
        "| max_retry_seconds | False | 600 | Time budget of one request (a page or "
        "a token request)"
    ) in markdown.stdout


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


def test_missing_api_says_to_check_the_path(
    platform: MockPlatform, tmp_path: Path
) -> None:
    config = platform.tap_config(
        streams=[{"name": "gone", "path": "/api/v1/nope", "schema": FAKE_SCHEMA}]
    )
    result = run_cli(config=config, tmp_path=tmp_path)
    assert result.returncode == 1
    last = _last_error(result)
    assert "HTTP 404 Not Found for GET /api/v1/nope (stream 'gone', page 1)" in last
    assert last.endswith("; check the stream's path setting (and base_url)")


@pytest.mark.parametrize(
    "schema",
    [pytest.param(FAKE_SCHEMA, id="given-schema"), pytest.param(None, id="inferred")],
)
def test_rows_not_at_records_path_say_to_check_it(
    platform: MockPlatform, tmp_path: Path, schema: dict[str, object] | None
) -> None:
    item = {"name": "fake", "path": "/api/v1/sync/fake", "records_path": "data"}
    if schema is not None:
        item["schema"] = schema
    result = run_cli(config=platform.tap_config(streams=[item]), tmp_path=tmp_path)
    assert result.returncode == 1
    last = _last_error(result)
    assert "page 1" in last
    assert "at $.data, found {" in last
    assert "check the stream's records_path setting" in last


def test_forbidden_api_fails_at_once_with_a_permissions_hint(
    tmp_path: Path,
) -> None:
    with MockPlatform(rows=10) as platform:
        config = platform.tap_config(
            streams=[{"name": "secret", "path": "/api/v1/forbidden"}]
        )
        result = run_cli(config=config, tmp_path=tmp_path)
        requests_made = platform.stats["requests:/api/v1/forbidden"]
    assert result.returncode == 1
    assert requests_made == 1  # a 403 is not retried
    last = _last_error(result)
    assert "HTTPStatusError" in last
    assert "HTTP 403 Forbidden for GET /api/v1/forbidden (stream 'secret'" in last
    assert "X-Ca-Error-Code=A403NP" in last
    assert "X-Ca-Error-Message=the client has no permission for this API" in last
    assert "X-Ca-Request-Id=" in last
    assert "check the scope setting and the client's permissions" in last
    assert "Retrying" not in result.stderr


def test_untrusted_certificate_fails_at_once_and_says_how_to_fix(
    tmp_path: Path,
) -> None:
    cert, key = self_signed(tmp_path)
    # Only the system's trust store, which does not hold this certificate.
    env = system_trust_env()
    with MockPlatform(rows=10, tls_cert=cert, tls_key=key) as platform:
        config_file = tmp_path / "config.json"
        # Retries are left at their defaults: a TLS failure must not use them.
        config_file.write_text(json.dumps(platform.tap_config(streams=streams("fake"))))
        command = [TAP_SCRIPT, "--config", str(config_file)]
        refused = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=60, check=False
        )
        attempts = platform.stats["connections"]
        # The fix the message names works: trust the certificate.
        trusted = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env={**env, "REQUESTS_CA_BUNDLE": str(cert)},
            timeout=60,
            check=False,
        )
    assert refused.returncode == 1
    assert attempts == 1
    last = _last_error(refused)
    assert "TLS certificate of 127.0.0.1:" in last
    assert "is not trusted (self-signed certificate)" in last
    assert "REQUESTS_CA_BUNDLE=" in last
    assert "verify_tls: false" in last
    assert "unreachable" not in last
    assert "Retrying" not in refused.stderr
    assert trusted.returncode == 0, trusted.stderr[-2000:]
    assert len(parse(trusted.stdout).records("fake")) == 10
