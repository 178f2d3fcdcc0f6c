"""meltano.yml's settings groups: one complete set of settings per grant."""

from __future__ import annotations

import os
import subprocess
import typing as t
from pathlib import Path

import pytest
import yaml

from meltano_helpers import ROOT, meltano_bin
from tap_openapi.auth import GRANT_TYPES, OAuthSettings


def groups() -> list[list[str]]:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    tap = next(
        p for p in project["plugins"]["extractors"] if p["name"] == "tap-openapi"
    )
    return [list(group) for group in tap["settings_group_validation"]]


def filled(group: t.Iterable[str], grant: str) -> dict[str, t.Any]:
    """Settings holding a value for each member of ``group`` and nothing else."""
    settings: dict[str, t.Any] = {"grant_type": grant}
    for name in group:
        settings[name] = "https://api.example.com" if name == "base_url" else "x"
    return settings


def accepted(settings: dict[str, t.Any]) -> bool:
    try:
        OAuthSettings.from_settings(settings)
    except ValueError:
        return False
    return True


def test_every_group_names_the_streams_and_the_platform() -> None:
    for group in groups():
        assert {"base_url", "client_id", "streams"} <= set(group), group


@pytest.mark.parametrize("grant", GRANT_TYPES)
def test_each_grant_has_a_group_the_tap_accepts(grant: str) -> None:
    usable = [group for group in groups() if accepted(filled(group, grant))]
    assert usable, f"no settings group is enough for grant_type {grant}"


@pytest.mark.parametrize("grant", ["authorization_code", "refresh_token"])
def test_public_client_grants_need_no_client_secret(grant: str) -> None:
    # A public PKCE client or a refresh-token setup has no client secret.
    usable = [
        group
        for group in groups()
        if "client_secret" not in group and accepted(filled(group, grant))
    ]
    assert usable, f"every group for {grant} demands client_secret"


def test_meltano_lists_the_alternatives(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        MELTANO_DATABASE_URI=f"sqlite:///{tmp_path}/meltano.db",
        MELTANO_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    result = subprocess.run(
        [meltano_bin(), "config", "list", "tap-openapi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "one of the following combinations is required" in out
    assert "client_secret (required by group 1)" in out
    assert "streams (required)" in out
