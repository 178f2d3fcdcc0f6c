"""Secrets stay secret: --about, DEBUG logs, the token cache, TLS verification."""

from __future__ import annotations

import json
import stat
import subprocess
import typing as t
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
import yaml  # type: ignore[import-untyped]
from rel_helpers import BIN, ENV, TAP, TARGET, run_pipe, run_tap, write_json
from tls_helpers import self_signed, system_trust_env

from tap_openapi.mock_platform import MockPlatform

SECRET = "S3cr3t-XYZ-about-3e9c"
DB_PASSWORD = "S3cr3t-XYZ-dbpw-77a1"
REPO = Path(__file__).resolve().parents[2]

TAP_SECRETS = ("client_secret", "password", "refresh_token")
TARGET_SECRETS = ("sqlalchemy_url",)


def _run(*command: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command),
        input=stdin,
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("script", "config"),
    [
        pytest.param(
            TAP,
            {
                "base_url": "http://127.0.0.1:9",
                "client_id": "c",
                "client_secret": SECRET,
                "password": SECRET + "-pw",
                "refresh_token": SECRET + "-rt",
            },
            id="tap",
        ),
        pytest.param(
            TARGET,
            {"sqlalchemy_url": f"postgresql://u:{SECRET}@127.0.0.1:9/db"},
            id="target",
        ),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "markdown", None])
def test_about_shows_no_secret(
    script: str, config: dict[str, t.Any], fmt: str | None, tmp_path: Path
) -> None:
    args = [script, "--about", "--config", str(write_json(tmp_path / "c.json", config))]
    if fmt:
        args += ["--format", fmt]
    done = _run(*args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert SECRET not in done.stdout + done.stderr
    if fmt == "json":
        properties = json.loads(done.stdout)["settings"]["properties"]
        secret_keys = TAP_SECRETS if script == TAP else TARGET_SECRETS
        for key in secret_keys:
            assert properties[key].get("secret") is True, f"{key} is not secret"


def test_meltano_marks_the_same_settings_sensitive() -> None:
    project = yaml.safe_load((REPO / "meltano.yml").read_text())
    plugins = {
        p["name"]: p
        for kind in project["plugins"].values()
        for p in kind
        if p["name"] in ("tap-openapi", "target-sqlalchemy")
    }
    for name, keys in (
        ("tap-openapi", TAP_SECRETS),
        ("target-sqlalchemy", TARGET_SECRETS),
    ):
        settings = {s["name"]: s for s in plugins[name].get("settings", [])}
        for key in keys:
            assert settings[key].get("sensitive") is True, f"{name}: {key}"


def test_debug_logs_of_a_full_run_show_no_secret(
    postgres_url: str, tmp_path: Path
) -> None:
    """Password grant, early token expiry and DEBUG logging on both sides."""
    cache = tmp_path / "tokens.json"
    url = sa.make_url(postgres_url).set(password=DB_PASSWORD)
    # Sequential page requests of 0.3 s each outlive the 1 s token: renewals.
    slow: dict[str, t.Any] = {"latency_ms": 300, "token_ttl": 1, "advertised_ttl": 3600}
    with MockPlatform(rows=300, **slow) as platform:
        tap_config = platform.tap_config(
            grant_type="password",
            username=platform.username,
            password=platform.password,
            token_cache_path=str(cache),
            page_size=50,
            max_concurrent_requests=1,
        )
        run = run_pipe(
            tmp_path,
            tap_config,
            {"sqlalchemy_url": url.render_as_string(hide_password=False)},
            env={"LOGLEVEL": "DEBUG"},
        )
        client_secret = platform.client_secret
    assert (run.tap_rc, run.target_rc) == (0, 0), run.output[-2000:]
    assert "| DEBUG " in run.tap_stderr
    assert "| DEBUG " in run.target_stderr
    assert "Access token expired" in run.tap_stderr
    tokens = json.loads(cache.read_text())
    secrets = {
        "client_secret": client_secret,
        "password": tap_config["password"],
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "database password": DB_PASSWORD,
    }
    leaked = [name for name, value in secrets.items() if value in run.output]
    assert not leaked, f"{leaked} appear in the logs"


def _login(platform: MockPlatform, cache: Path, tmp_path: Path) -> tuple[int, str]:
    """Run ``tap-openapi-login --no-browser``, approving as a browser would."""
    config = platform.tap_config(
        grant_type="authorization_code",
        token_cache_path=str(cache),
        redirect_uri="http://127.0.0.1/callback",
    )
    config_file = write_json(tmp_path / "config.json", config)
    login = subprocess.Popen(
        [str(BIN / "tap-openapi-login"), "--config", str(config_file), "--no-browser"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    assert login.stdout is not None
    authorize_url = login.stdout.readline().strip()
    answer = requests.get(authorize_url, allow_redirects=False, timeout=10)
    out, err = login.communicate(answer.headers["Location"] + "\n", timeout=60)
    return login.returncode, authorize_url + out + err


def test_login_writes_token_cache_0600_and_prints_no_token(tmp_path: Path) -> None:
    cache = tmp_path / "tokens.json"
    with MockPlatform(rows=10) as platform:
        returncode, output = _login(platform, cache, tmp_path)
        client_secret = platform.client_secret
    assert returncode == 0, output[-2000:]
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    tokens = json.loads(cache.read_text())
    assert tokens["access_token"]
    assert tokens["refresh_token"]
    for key in ("access_token", "refresh_token"):
        assert tokens[key] not in output, f"{key} printed by tap-openapi-login"
    assert client_secret not in output


def test_login_creates_the_token_cache_folder(tmp_path: Path) -> None:
    cache = tmp_path / "new-folder" / "tokens.json"
    with MockPlatform(rows=10) as platform:
        returncode, output = _login(platform, cache, tmp_path)
    assert returncode == 0, output[-2000:]
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600


# --- TLS ----------------------------------------------------------------------


@pytest.fixture
def tls_platform(tmp_path: Path) -> Iterator[MockPlatform]:
    """The mock platform over HTTPS, with a certificate nobody trusts."""
    cert, key = self_signed(tmp_path)
    with MockPlatform(rows=20, tls_cert=cert, tls_key=key) as platform:
        assert platform.url.startswith("https://")
        yield platform


def _tls_env() -> dict[str, str]:
    # Only the system trust store: the self-signed certificate is not in it.
    return system_trust_env(ENV)


def test_tls_verified_by_default(tls_platform: MockPlatform, tmp_path: Path) -> None:
    platform = tls_platform
    # Default retries: an untrusted certificate must not be retried.
    done = run_tap(tmp_path, platform.tap_config(), env=_tls_env())
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert "ERROR" in last
    assert "certificate" in last
    assert "REQUESTS_CA_BUNDLE" in last
    assert "Retrying" not in done.stderr
    assert platform.stats["token_requests"] == 0
    assert "RECORD" not in done.stdout


def test_verify_tls_false_warns_and_works(
    tls_platform: MockPlatform, tmp_path: Path
) -> None:
    platform = tls_platform
    config = platform.tap_config(verify_tls=False)
    done = run_tap(tmp_path, config, env=_tls_env())
    assert done.returncode == 0, done.stderr[-2000:]
    warnings = [ln for ln in done.stderr.splitlines() if "WARNING" in ln]
    assert any("verify_tls" in ln for ln in warnings), warnings
    records = [ln for ln in done.stdout.splitlines() if '"RECORD"' in ln]
    assert len(records) == 2 * 20
