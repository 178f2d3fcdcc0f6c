"""Schema inference, discovery, catalog selection and --test."""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest
from tap_runs import parse, run_cli, run_tap, streams

from tap_openapi.mock_platform import MockPlatform
from tap_openapi.schema_inference import infer_schema, rows_match_schema

NULLABLE_DATETIME = {"type": ["string", "null"], "format": "date-time"}


def test_inference_rules() -> None:
    rows = [
        {"i": 1, "f": 1.5, "m": 1, "b": True, "s": "x", "t": "2024-01-02 03:04:05"},
        {"i": None, "f": 2.0, "m": 2.5, "b": False, "s": "2024-01-02 03:04:05"},
        {"o": {"k": 1}, "a": [1, 2], "n": None, "x": "a", "t": None},
        {"x": 3},
    ]
    properties = infer_schema(rows)["properties"]
    assert properties == {
        "i": {"type": ["integer", "null"]},
        "f": {"type": ["number", "null"]},
        "m": {"type": ["number", "null"]},
        "b": {"type": ["boolean", "null"]},
        "s": {"type": ["string", "null"]},
        "t": NULLABLE_DATETIME,
        "o": {
            "type": ["object", "null"],
            "properties": {"k": {"type": ["integer", "null"]}},
        },
        "a": {"type": ["array", "null"], "items": {"type": ["integer", "null"]}},
        "n": {"type": ["string", "null"]},
        "x": {"type": ["integer", "string", "null"]},
    }
    assert list(properties)[:3] == ["i", "f", "m"]


@pytest.mark.parametrize(
    ("row", "fits"),
    [
        pytest.param({"id": 1, "v": 1.5}, True, id="typed"),
        pytest.param({"id": None, "v": 2}, True, id="int-as-number"),
        pytest.param({"id": "1", "v": 1.5}, False, id="string-for-integer"),
        pytest.param({"id": True, "v": 1.5}, False, id="bool-for-integer"),
        pytest.param({"id": 1, "w": 1}, False, id="unknown-column"),
    ],
)
def test_rows_match_schema(row: dict[str, t.Any], fits: bool) -> None:
    schema = {
        "properties": {"id": {"type": ["integer", "null"]}, "v": {"type": "number"}}
    }
    assert rows_match_schema([row], schema) is fits


def test_sample_api_schema_is_inferred(platform: MockPlatform) -> None:
    out = run_tap(platform.tap_config(streams=streams("fakewithts")))
    schema = out.of_type("SCHEMA")[0]
    assert schema["key_properties"] == ["id"]
    assert schema["bookmark_properties"] == ["updated_at"]
    properties = schema["schema"]["properties"]
    assert list(properties) == list(platform.expected_row(1, "fakewithts"))
    for n in range(1, 5):
        assert properties[f"colString{n}"] == {"type": ["string", "null"]}
        assert properties[f"colInt{n}"] == {"type": ["integer", "null"]}
        assert properties[f"colFloat{n}"] == {"type": ["number", "null"]}
        assert properties[f"colSqlTime{n}"] == NULLABLE_DATETIME
    assert properties["updated_at"] == {"type": ["integer", "null"]}


def test_configured_schema_wins_and_records_are_conformed(
    platform: MockPlatform,
) -> None:
    schema = {
        "type": "object",
        "properties": {
            "id": {"type": ["integer", "null"]},
            "colString1": {"type": ["string", "null"]},
        },
    }
    platform.reset_stats()
    out = run_tap(platform.tap_config(streams=streams("fake", schema=schema)))
    assert out.of_type("SCHEMA")[0]["schema"] == schema
    # Columns outside the configured schema are dropped by the SDK's conforming.
    assert out.records("fake")[0] == {"id": 1, "colString1": "str-1-1"}
    assert platform.stats["requests:/api/v1/sync/fake"] == 5  # no sample page


def _select(catalog: dict[str, t.Any], stream: str, drop: str) -> None:
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] == stream
            elif item["breadcrumb"] == ["properties", drop]:
                item["metadata"]["selected"] = False


def test_discover_then_sync_one_selected_stream(
    platform: MockPlatform, tmp_path: Path
) -> None:
    config = platform.tap_config(page_size=1000)
    discovered = run_cli("--discover", config=config, tmp_path=tmp_path)
    assert discovered.returncode == 0, discovered.stderr
    catalog = json.loads(discovered.stdout)
    assert sorted(e["tap_stream_id"] for e in catalog["streams"]) == [
        "fake",
        "fakewithts",
    ]
    _select(catalog, "fakewithts", drop="colString2")

    platform.reset_stats()
    out = run_tap(config, catalog=catalog)
    assert {m["stream"] for m in out.of_type("SCHEMA")} == {"fakewithts"}
    assert len(out.records("fakewithts")) == platform.rows
    assert not out.records("fake")
    assert "colString2" not in out.records("fakewithts")[0]
    assert "colString3" in out.records("fakewithts")[0]
    # With a catalog nothing is sampled, and the deselected stream is not read.
    # Keyset paging: each request after the first starts at the last row's
    # second, whose ten rows come again: 1000 new rows, then 990 a page.
    assert platform.stats["requests:/api/v1/sync/fakewithts"] == 11
    assert platform.stats["requests:/api/v1/sync/fake"] == 0


def test_cli_sync_with_catalog_and_state_files(
    platform: MockPlatform, tmp_path: Path
) -> None:
    config = platform.tap_config(streams=streams("fakewithts"))
    discovered = run_cli("--discover", config=config, tmp_path=tmp_path)
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(discovered.stdout)
    last = platform.rows_snapshot("fakewithts")[-1]["updated_at"]
    bookmark = {"replication_key": "updated_at", "replication_key_value": last}
    state = {"bookmarks": {"fakewithts": bookmark}}
    state_path = tmp_path / "state.json"
    state_path.write_text(json.dumps(state))
    args = ("--catalog", str(catalog_path), "--state", str(state_path))
    result = run_cli(*args, config=config, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    out = parse(result.stdout)
    expected = [
        r for r in platform.rows_snapshot("fakewithts") if r["updated_at"] >= last
    ]
    assert out.records("fakewithts") == expected
    assert out.bookmark("fakewithts") == last


def test_connection_test_reads_one_record_per_stream(
    platform: MockPlatform, tmp_path: Path
) -> None:
    result = run_cli("--test", config=platform.tap_config(), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    out = parse(result.stdout)
    assert out.ids("fake") == [1]
    assert out.ids("fakewithts") == [1]


def test_schema_only_test(platform: MockPlatform, tmp_path: Path) -> None:
    result = run_cli("--test=schema", config=platform.tap_config(), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    out = parse(result.stdout)
    assert [m["stream"] for m in out.of_type("SCHEMA")] == ["fake", "fakewithts"]
    assert not out.of_type("RECORD")
