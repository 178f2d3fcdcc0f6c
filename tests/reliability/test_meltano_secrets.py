"""Secrets stay out of Meltano's output, on success and on every kind of failure.

Each case runs ``meltano --log-level=debug run tap-openapi target-sqlalchemy``
with distinctive secret values, then searches everything Meltano printed and
every file it left under ``.meltano/run`` for them.
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest
import sqlalchemy as sa

from meltano_helpers import ROOT, meltano, meltano_env
from tap_openapi.mock_platform import MockPlatform

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

STREAMS = [
    {
        "name": "fakewithts",
        "path": "/api/v1/sync/fakewithts",
        "primary_keys": ["id"],
        "replication_key": "updated_at",
    }
]
WRONG_SECRET = "S3cr3t-XYZ-meltano-client-5d1e"
WRONG_PASSWORD = "S3cr3t-XYZ-meltano-pw-9c2a"
DB_PASSWORD = "S3cr3t-XYZ-meltano-db-1f7b"


def _left_in_run_folder(values: t.Iterable[str]) -> list[str]:
    """Secret values found in the files Meltano keeps under ``.meltano/run``."""
    found = []
    for path in (ROOT / ".meltano" / "run").rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            found += [f"{path.name}: {v}" for v in values if v in text]
    return found


def _db_url(postgres_url: str, port: int | None = None) -> str:
    url = sa.make_url(postgres_url).set(password=DB_PASSWORD)
    if port is not None:
        url = url.set(port=port)
    return url.render_as_string(hide_password=False)


@pytest.mark.parametrize(
    "case",
    [
        "success-password-grant",
        "wrong-client-secret",
        "wrong-password",
        "database-unreachable",
    ],
)
def test_meltano_output_shows_no_secret(
    case: str, postgres_url: str, tmp_path: Path
) -> None:
    cache = tmp_path / "tokens.json"
    # Tokens die after 1 s but are advertised for an hour, and the 9 page
    # requests take 0.3 s each: the tap must renew a token mid-run (A401OT), so
    # more than one access token passes through the logs.
    slow = {"latency_ms": 300, "token_ttl": 1, "advertised_ttl": 3600}
    with MockPlatform(rows=400, **slow) as platform:
        env = meltano_env(tmp_path, platform.url, STREAMS)
        env |= {
            "TAP_OPENAPI_GRANT_TYPE": "password",
            "TAP_OPENAPI_USERNAME": platform.username,
            "TAP_OPENAPI_PASSWORD": platform.password,
            "TAP_OPENAPI_TOKEN_CACHE_PATH": str(cache),
            "TAP_OPENAPI_PAGE_SIZE": "50",
            "TAP_OPENAPI_MAX_CONCURRENT_REQUESTS": "1",
            "TARGET_SQLALCHEMY_SQLALCHEMY_URL": _db_url(postgres_url),
        }
        secrets = {
            "client_secret": platform.client_secret,
            "password": platform.password,
            "database password": DB_PASSWORD,
        }
        if case == "wrong-client-secret":
            env["TAP_OPENAPI_CLIENT_SECRET"] = secrets["client_secret"] = WRONG_SECRET
        elif case == "wrong-password":
            env["TAP_OPENAPI_PASSWORD"] = secrets["password"] = WRONG_PASSWORD
        elif case == "database-unreachable":
            env["TARGET_SQLALCHEMY_SQLALCHEMY_URL"] = _db_url(postgres_url, port=9)
        run = meltano(
            "--log-level=debug",
            "run",
            "tap-openapi",
            "target-sqlalchemy",
            env=env,
            check=False,
        )
    output = run.stdout + run.stderr
    assert "debug" in output.lower()
    if case.startswith("success"):
        assert run.returncode == 0, run.stderr[-3000:]
        assert "Access token expired" in output
        tokens = json.loads(cache.read_text())
        secrets["access_token"] = tokens["access_token"]
        secrets["refresh_token"] = tokens["refresh_token"]
    else:
        assert run.returncode != 0
        expected = {
            "wrong-client-secret": "invalid_client",
            "wrong-password": "invalid_grant",
            "database-unreachable": "cannot connect to database",
        }[case]
        assert expected in output
    leaked = [name for name, value in secrets.items() if value in output]
    assert not leaked, f"{leaked} appear in Meltano's output"
    assert not _left_in_run_folder(secrets.values())
