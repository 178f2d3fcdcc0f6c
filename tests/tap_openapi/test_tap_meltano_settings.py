"""meltano.yml describes the tap's settings as the tap does: words, kinds, values.

tests/test_meltano.py checks the names and the secrets; this file checks
that each declaration says what the tap's own schema says (so ``meltano
config tap-openapi list`` and ``tap-openapi --about`` agree), and that a
value Meltano accepts is one the tap accepts too.
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest
import yaml

from meltano_helpers import ROOT, meltano
from tap_openapi.mock_platform import MockPlatform
from tap_openapi.tap import TapOpenAPI

#: Meltano kinds that only admit values of the tap's JSON Schema type. A tap
#: ``number`` is declared ``integer``: Meltano 4.4's ``decimal`` kind turns an
#: environment value into a Decimal and then fails to write the config
#: ("Object of type Decimal is not JSON serializable").
KINDS = {
    "string": {"string", "password", "options"},
    "integer": {"integer"},
    "number": {"integer"},
    "boolean": {"boolean"},
    "array": {"array"},
    "object": {"object"},
}


def _tap_settings() -> dict[str, dict[str, t.Any]]:
    builtin: dict[str, t.Any] = {"properties": {}}
    TapOpenAPI.append_builtin_config(builtin)
    return {
        name: prop
        for name, prop in TapOpenAPI.config_jsonschema["properties"].items()
        if name not in builtin["properties"]
    }


def _declared() -> dict[str, dict[str, t.Any]]:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    tap = next(
        p for p in project["plugins"]["extractors"] if p["name"] == "tap-openapi"
    )
    return {setting["name"]: setting for setting in tap["settings"]}


SETTINGS = sorted(_tap_settings())


def test_the_same_settings_are_declared() -> None:
    assert set(_declared()) == set(SETTINGS)


@pytest.mark.parametrize("name", SETTINGS, ids=SETTINGS)
def test_description_is_the_taps(name: str) -> None:
    tap = _tap_settings()[name]
    assert tap["description"]
    assert _declared()[name].get("description") == tap["description"]


@pytest.mark.parametrize("name", SETTINGS, ids=SETTINGS)
def test_kind_default_and_options_fit_the_tap(name: str) -> None:
    tap = _tap_settings()[name]
    declared = _declared()[name]
    json_type = next(kind for kind in tap["type"] if kind != "null")
    assert declared["kind"] in KINDS[json_type], (declared["kind"], json_type)
    assert declared.get("value") == tap.get("default")
    options = [option["value"] for option in declared.get("options", [])]
    assert options == tap.get("enum", [])
    assert (declared["kind"] == "options") == bool(options)


def test_activate_version_description_covers_incremental_resyncs() -> None:
    description = _declared()["emit_activate_version_messages"]["description"]
    assert "full-table stream" in description
    assert "incremental one read from 0 with no bookmark" in description


@pytest.mark.slow
def test_meltano_passes_numbers_from_the_environment_the_tap_accepts(
    platform: MockPlatform, tmp_path: Path
) -> None:
    env = {
        "TAP_OPENAPI_BASE_URL": platform.url,
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TAP_OPENAPI_CLIENT_SECRET": "demo-secret",
        "TAP_OPENAPI_MAX_RETRY_SECONDS": "900",
        "TAP_OPENAPI_REQUEST_TIMEOUT": "30",
        "TAP_OPENAPI_PAGE_SIZE": "500",
    }
    result = meltano("invoke", "--dump=config", "tap-openapi", env=env)
    config = json.loads(result.stdout)
    assert config["max_retry_seconds"] == 900
    assert config["request_timeout"] == 30
    assert config["page_size"] == 500
    # The tap validates the config Meltano wrote (no ConfigValidationError).
    tap = TapOpenAPI(config=config, validate_config=True)
    assert tap.connection.max_retry_seconds == 900
    assert tap.connection.request_timeout == 30
