"""The READMEs name every setting each plugin has, so the docs cannot fall behind."""

from __future__ import annotations

import re
import typing as t

import pytest

from meltano_helpers import ROOT

# singer-sdk's own settings, documented by `--about`, not by our READMEs.
SDK_SETTINGS = {
    "stream_maps",
    "stream_map_config",
    "faker_config",
    "flattening_enabled",
    "flattening_max_depth",
    "flattening_max_key_length",
    "flattening_separator",
    "batch_config",
}


def _plugin_settings(name: str) -> set[str]:
    if name == "tap-openapi":
        from tap_openapi.tap import TapOpenAPI as plugin
    elif name == "target-sqlalchemy":
        from target_sqlalchemy.target import TargetSQLAlchemy as plugin
    else:
        from target_files.target import TargetFiles as plugin
    schema: dict[str, t.Any] = plugin.config_jsonschema
    return set(schema["properties"]) - SDK_SETTINGS


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    following = re.search(r"^## ", text[start + len(heading) :], re.MULTILINE)
    end = start + len(heading) + following.start() if following else len(text)
    return text[start:end]


@pytest.mark.parametrize(
    ("plugin", "folder"),
    [
        pytest.param("tap-openapi", "tap-openapi", id="tap-openapi"),
        pytest.param("target-sqlalchemy", "target-sqlalchemy", id="target-sqlalchemy"),
        pytest.param("target-files", "target-files", id="target-files"),
    ],
)
def test_every_setting_is_documented(plugin: str, folder: str) -> None:
    settings = _plugin_settings(plugin)
    assert settings, f"{plugin} declares no settings"
    root = _section((ROOT / "README.md").read_text(), "## Configuration")
    own = _section((ROOT / folder / "README.md").read_text(), "## Settings")
    for where, text in (
        ("README.md#configuration", root),
        (f"{folder}/README.md", own),
    ):
        missing = sorted(s for s in settings if f"`{s}`" not in text)
        assert not missing, f"{where} does not document {plugin} settings {missing}"
