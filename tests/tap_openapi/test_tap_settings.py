"""Settings checked before the tap reads anything: streams, URLs, secrets, cache."""

from __future__ import annotations

import os
import stat
import typing as t
from pathlib import Path

import pytest
from singer_sdk.exceptions import ConfigValidationError
from tap_runs import run_cli, streams

from tap_openapi.errors import ConfigurationError
from tap_openapi.tap import TapOpenAPI, url_setting_error
from tap_openapi.token_cache import CachedToken, TokenCache

SECRET = "S3cr3t-settings-8e1f"


def _config(**overrides: t.Any) -> dict[str, t.Any]:
    # Port 9 (discard) refuses: a test that got past validation would fail.
    config = {
        "base_url": "http://127.0.0.1:9",
        "client_id": "demo-client",
        "client_secret": "demo-secret",
        "streams": streams("fake"),
    }
    config.update(overrides)
    return {key: value for key, value in config.items() if value is not None}


def _errors(config: dict[str, t.Any]) -> list[str]:
    with pytest.raises(ConfigValidationError) as caught:
        TapOpenAPI(config=config)
    return list(caught.value.errors)


@pytest.mark.parametrize("value", [None, []], ids=["missing", "empty"])
def test_streams_are_required(value: list[t.Any] | None) -> None:
    errors = _errors(_config(streams=value))
    assert len(errors) == 1
    assert errors[0].startswith("Setting streams is required: list the paged APIs")


@pytest.mark.parametrize("mode", ["sync", "--discover", "--test"])
def test_cli_without_streams_fails_in_every_mode(mode: str, tmp_path: Path) -> None:
    args = [] if mode == "sync" else [mode]
    result = run_cli(*args, config=_config(streams=None), tmp_path=tmp_path)
    assert result.returncode == 1
    assert "Setting streams is required" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_about_and_help_need_no_config(tmp_path: Path) -> None:
    assert run_cli("--about", config={}, tmp_path=tmp_path).returncode == 0
    assert run_cli("--help", config={}, tmp_path=tmp_path).returncode == 0


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("client_secret", [SECRET]),
        ("client_secret", {"value": SECRET}),
        ("password", 987654321),
        ("refresh_token", [[SECRET], 12]),
    ],
)
def test_secret_of_wrong_type_is_not_echoed(key: str, value: t.Any) -> None:
    errors = _errors(_config(**{key: value}))
    assert len(errors) == 1
    assert errors[0].startswith(f"Setting {key} must be of type 'string'")
    assert "value hidden" in errors[0]
    for text in (SECRET, "987654321"):
        assert text not in errors[0]


def test_non_secret_errors_keep_jsonschema_wording() -> None:
    errors = _errors(_config(page_size="big"))
    assert errors == ["'big' is not of type 'integer', 'null' in config['page_size']"]


@pytest.mark.parametrize("value", [0, -5], ids=["zero", "negative"])
def test_retry_budget_must_be_positive(value: int) -> None:
    errors = _errors(_config(max_retry_seconds=value))
    assert errors == [
        f"{value} is less than or equal to the minimum of 0 in "
        "config['max_retry_seconds']"
    ]


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "base_url",
            "127.0.0.1:8080/api",
            "Setting base_url must be an http:// or https:// URL with a host, got "
            "'127.0.0.1:8080/api'; add the scheme, e.g. 'https://127.0.0.1:8080/api'",
        ),
        (
            "base_url",
            "localhost:8765",
            "Setting base_url must be an http:// or https:// URL with a host, got "
            "'localhost:8765'; add the scheme, e.g. 'https://localhost:8765'",
        ),
        (
            "base_url",
            "",
            "Setting base_url must be an http:// or https:// URL with a host, got ''",
        ),
        (
            "token_url",
            "ftp://example.com/token",
            "Setting token_url must be an http:// or https:// URL with a host, got "
            "'ftp://example.com/token'",
        ),
        (
            "authorize_url",
            "https:///oauth2/authorize",
            "Setting authorize_url must be an http:// or https:// URL with a host, "
            "got 'https:///oauth2/authorize'",
        ),
        (
            "base_url",
            "http://127.0.0.1:port",
            "Setting base_url must be an http:// or https:// URL with a host, got "
            "'http://127.0.0.1:port'",
        ),
    ],
)
def test_url_settings_are_checked(key: str, value: str, expected: str) -> None:
    assert _errors(_config(**{key: value})) == [expected]


@pytest.mark.parametrize(
    "value",
    ["http://127.0.0.1:8765", "https://api.example.com/v2/", "http://[::1]:8080"],
)
def test_good_urls_pass(value: str) -> None:
    assert url_setting_error("base_url", value) is None


def test_url_error_hides_userinfo() -> None:
    message = url_setting_error("token_url", f"ftp://user:{SECRET}@host/token")
    assert message is not None
    assert SECRET not in message
    assert "'ftp://***@host/token'" in message


def test_empty_optional_url_means_the_default() -> None:
    # An empty token_url is "not set" (the default under base_url), not an error.
    # streams missing too, so that validation has an error to raise.
    errors = _errors(_config(token_url="", streams=None))
    assert len(errors) == 1
    assert errors[0].startswith("Setting streams is required")


def test_cache_in_a_new_folder_creates_it_owner_only(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "a" / "b" / "tokens.json")
    with cache.lock():
        cache.save(CachedToken(access_token="at", refresh_token="rt"))
    assert stat.S_IMODE(cache.path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    loaded = cache.load()
    assert loaded is not None
    assert loaded.refresh_token == "rt"


def test_cache_leaves_an_existing_folder_mode_alone(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    os.chmod(folder, 0o755)  # noqa: S103 (the mode a user might have chosen)
    TokenCache(folder / "tokens.json").save(CachedToken(access_token="at"))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755


def test_cache_folder_that_cannot_be_created_is_a_config_error(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = TokenCache(blocker / "tokens.json")
    with (
        pytest.raises(ConfigurationError, match="Cannot create the token cache"),
        cache.lock(),
    ):
        pass


def test_connection_defaults_are_the_settings_defaults() -> None:
    import dataclasses

    from tap_openapi import defaults
    from tap_openapi.client import Connection

    documented = TapOpenAPI.config_jsonschema["properties"]
    fields = {f.name: f for f in dataclasses.fields(Connection)}
    checked = 0
    for name, field in fields.items():
        if field.default is not dataclasses.MISSING:
            assert field.default == documented[name]["default"], name
            checked += 1
    assert checked == 6  # page size, concurrency, timeout, retries, budget, start
    user_agent = fields["user_agent"].default_factory
    assert callable(user_agent)
    assert user_agent() == defaults.default_user_agent()
    assert documented["max_retry_seconds"]["default"] == 600
