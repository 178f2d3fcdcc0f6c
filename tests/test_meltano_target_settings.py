"""meltano.yml declares exactly the settings target-sqlalchemy accepts."""

from __future__ import annotations

import copy
import typing as t

import yaml

from meltano_helpers import ROOT
from target_sqlalchemy.target import TargetSQLAlchemy

#: Meltano setting kind for each JSON Schema type.
KINDS = {
    "string": "string",
    "integer": "integer",
    "boolean": "boolean",
    "object": "object",
}


def _target_schema() -> dict[str, t.Any]:
    # The target's own settings plus those singer-sdk adds to every SQL target
    # (merging them into a copy keeps the result independent of test order).
    schema = copy.deepcopy(TargetSQLAlchemy.config_jsonschema)
    TargetSQLAlchemy.append_builtin_config(schema)
    return dict(schema["properties"])


def _declared() -> dict[str, dict[str, t.Any]]:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    loader = next(
        p for p in project["plugins"]["loaders"] if p["name"] == "target-sqlalchemy"
    )
    return {s["name"]: s for s in loader["settings"]}


def _json_type(prop: dict[str, t.Any]) -> str:
    types = prop.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    (kind,) = [x for x in types if x != "null"]
    return str(kind)


def test_meltano_settings_match_the_target() -> None:
    schema, declared = _target_schema(), _declared()
    assert {"sqlalchemy_url", "batch_size_bytes", "stream_maps"} <= set(schema)
    assert set(declared) == set(schema)
    for name, prop in schema.items():
        setting = declared[name]
        assert setting.get("description"), f"{name} has no description"
        if prop.get("secret"):
            assert setting.get("sensitive") is True, name
            assert setting["kind"] == "password", name
        elif prop.get("enum"):
            assert setting["kind"] == "options", name
            assert [o["value"] for o in setting["options"]] == prop["enum"], name
        else:
            assert setting["kind"] == KINDS[_json_type(prop)], name
            assert not setting.get("sensitive"), name
        # Secrets get their value in the plugin's config, not as a default.
        if prop.get("default") is not None and not prop.get("secret"):
            assert setting.get("value") == prop["default"], name


def test_only_the_url_is_secret() -> None:
    secrets = {n for n, p in _target_schema().items() if p.get("secret")}
    assert secrets == {"sqlalchemy_url"}
    sensitive = {n for n, s in _declared().items() if s.get("sensitive")}
    assert sensitive == secrets
