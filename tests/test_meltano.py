"""End-to-end runs through Meltano against the mock platform."""

from __future__ import annotations

import csv
import datetime as dt
import json
import typing as t
from pathlib import Path

import pytest
import yaml

from meltano_helpers import ROOT, meltano, meltano_env

FAKE = [{"name": "fake", "path": "/api/v1/sync/fake", "primary_keys": ["id"]}]


def _same_value(expected: object, got: str) -> bool:
    if isinstance(expected, bool):
        return got.lower() == str(expected).lower()
    if isinstance(expected, int):
        return int(got) == expected
    if isinstance(expected, float):
        return float(got) == expected
    if isinstance(expected, str) and len(expected) == 19 and expected[10] == " ":
        stored = dt.datetime.fromisoformat(got.replace("Z", ""))
        return stored == dt.datetime.fromisoformat(expected)
    return got == expected


@pytest.mark.slow
def test_meltano_run_into_stock_target_csv(platform, tmp_path: Path) -> None:
    env = meltano_env(tmp_path, platform.url, FAKE)
    meltano("run", "tap-openapi", "target-csv", env=env)

    with open(tmp_path / "csv" / "fake.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    expected = platform.rows_snapshot("/api/v1/sync/fake")
    assert len(rows) == len(expected) == 10_000
    by_id = {int(row["id"]): row for row in rows}
    assert sorted(by_id) == [row["id"] for row in expected]
    for want in expected[::997]:
        got = by_id[want["id"]]
        assert set(got) == set(want)
        for column, value in want.items():
            assert _same_value(value, got[column]), (column, value, got[column])


@pytest.mark.slow
def test_meltano_run_into_stock_target_jsonl(platform, tmp_path: Path) -> None:
    env = meltano_env(tmp_path, platform.url, FAKE)
    meltano("run", "tap-openapi", "target-jsonl", env=env)

    lines = (tmp_path / "jsonl" / "fake.jsonl").read_text(encoding="utf-8").splitlines()
    expected = platform.rows_snapshot("/api/v1/sync/fake")
    assert len(lines) == len(expected)
    first = json.loads(lines[0])
    assert first["id"] == expected[0]["id"]
    assert first["colInt1"] == expected[0]["colInt1"]
    assert first["colString1"] == expected[0]["colString1"]


def test_meltano_settings_match_the_tap() -> None:
    """meltano.yml declares exactly the tap's settings, secrets marked."""
    from tap_openapi.tap import TapOpenAPI

    # The tap's own settings, without those singer-sdk adds to every tap
    # (singer-sdk merges them into the class's schema once a tap has run).
    builtin: dict[str, t.Any] = {"properties": {}}
    TapOpenAPI.append_builtin_config(builtin)
    schema = {
        name: prop
        for name, prop in TapOpenAPI.config_jsonschema["properties"].items()
        if name not in builtin["properties"]
    }
    assert {"base_url", "streams", "client_secret"} <= set(schema)
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    tap = next(
        p for p in project["plugins"]["extractors"] if p["name"] == "tap-openapi"
    )
    declared = {s["name"]: s for s in tap["settings"]}
    assert set(declared) == set(schema)
    secrets = {name for name, prop in schema.items() if prop.get("secret")}
    assert secrets == {"client_secret", "password", "refresh_token"}
    for name in secrets:
        assert declared[name].get("sensitive") is True
        assert declared[name]["kind"] == "password"


@pytest.mark.slow
def test_meltano_run_into_target_files_csv_and_xlsx(platform, tmp_path: Path) -> None:
    import openpyxl

    env = meltano_env(tmp_path, platform.url, FAKE)
    env["TARGET_FILES_XLSX_OUTPUT_PATH"] = str(tmp_path / "xlsx")
    meltano(
        "run",
        "tap-openapi",
        "target-files",
        "tap-openapi",
        "target-files-xlsx",
        env=env,
    )

    expected = platform.rows_snapshot("/api/v1/sync/fake")
    with open(tmp_path / "files" / "fake.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(expected)
    assert int(rows[-1]["id"]) == expected[-1]["id"]
    assert rows[-1]["colString4"] == expected[-1]["colString4"]

    book = openpyxl.load_workbook(tmp_path / "xlsx" / "fake.xlsx", read_only=True)
    sheet = book["fake"]
    values = list(sheet.iter_rows(values_only=True))
    book.close()
    assert list(values[0]) == list(expected[0])
    assert len(values) - 1 == len(expected)
    assert values[1][0] == expected[0]["id"]
