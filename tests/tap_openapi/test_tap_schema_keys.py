"""Key columns a stream's schema lacks, and other singer-sdk errors, in one line.

singer-sdk would end such a run on a raw traceback
(``InvalidReplicationKeyException``, ``StreamMapConfigError``...) or, for a
primary key, not at all: targets would get records without their key. The
tap names the stream, the key and the schema's properties instead.
"""

from __future__ import annotations

import copy
import json
import typing as t
from pathlib import Path

import pytest
from singer_sdk.exceptions import ConfigValidationError
from tap_runs import FAKE_SCHEMA, run_cli

from tap_openapi.mock_platform import MockPlatform
from tap_openapi.tap import TapOpenAPI

FAKE = "/api/v1/sync/fake"
FAKEWITHTS = "/api/v1/sync/fakewithts"


def _stream(**item: t.Any) -> dict[str, t.Any]:
    stream = {
        "name": "fakewithts",
        "path": FAKEWITHTS,
        "primary_keys": ["id"],
        "schema": FAKE_SCHEMA,
    }
    stream.update(item)
    return {key: value for key, value in stream.items() if value is not None}


def _errors(streams: list[dict[str, t.Any]]) -> list[str]:
    config = {
        "base_url": "http://127.0.0.1:9",
        "client_id": "demo-client",
        "client_secret": "demo-secret",
        "streams": streams,
    }
    with pytest.raises(ConfigValidationError) as caught:
        TapOpenAPI(config=config)
    return list(caught.value.errors)


def _last_line(stderr: str) -> str:
    last = stderr.strip().splitlines()[-1]
    assert "ERROR" in last, stderr[-2000:]
    return last


@pytest.mark.parametrize(
    ("streams", "expected"),
    [
        pytest.param(
            [_stream(replication_key="updated_at")],
            "Setting streams[0].replication_key of stream 'fakewithts' names "
            "'updated_at', which is not a property of streams[0].schema (its "
            "properties: id, colString1): add 'updated_at' to the schema's "
            "properties or correct replication_key",
            id="replication-key",
        ),
        pytest.param(
            [_stream(), _stream(name="fake", path=FAKE, primary_keys=["uid"])],
            "Setting streams[1].primary_keys of stream 'fake' names 'uid', which "
            "is not a property of streams[1].schema (its properties: id, "
            "colString1): add 'uid' to the schema's properties or correct "
            "primary_keys",
            id="primary-key",
        ),
        pytest.param(
            [_stream(schema={"type": "object", "properties": {"id": "integer"}})],
            "Setting streams[0].schema of stream 'fakewithts' is not a valid JSON "
            "Schema: 'integer' is not of type 'object', 'boolean' at properties.id",
            id="invalid-json-schema",
        ),
        pytest.param(
            [_stream(), _stream(path=FAKE)],
            "Two items of setting 'streams' are named 'fakewithts'",
            id="duplicate-name",
        ),
    ],
)
def test_stream_errors_are_config_errors(
    streams: list[dict[str, t.Any]], expected: str
) -> None:
    assert _errors(streams) == [expected]


def test_many_properties_are_listed_shortened() -> None:
    schema = {
        "type": "object",
        "properties": {f"c{n}": {"type": "string"} for n in range(30)},
    }
    (error,) = _errors([_stream(primary_keys=["id"], schema=schema)])
    assert "(its properties: c0, c1, c2," in error
    assert "c19, ... and 10 more)" in error
    assert "c20" not in error


@pytest.mark.parametrize("mode", ["sync", "--discover", "--test"])
def test_replication_key_not_in_the_schema_fails_before_any_request(
    mode: str, tmp_path: Path
) -> None:
    with MockPlatform(rows=10) as platform:
        config = platform.tap_config(streams=[_stream(replication_key="updated_at")])
        args = [] if mode == "sync" else [mode]
        result = run_cli(*args, config=config, tmp_path=tmp_path)
        stats = platform.stats
    assert result.returncode == 1
    assert stats["requests:/oauth2/token"] == 0
    assert stats["api_requests"] == 0
    last = _last_line(result.stderr)
    assert "streams[0].replication_key of stream 'fakewithts' names 'updated_at'" in (
        last
    )
    assert "(its properties: id, colString1)" in last
    assert "InvalidReplicationKey" not in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("item", "setting", "key"),
    [
        pytest.param(
            {"replication_key": "updated_at"},
            "replication_key",
            "updated_at",
            id="replication-key",
        ),
        pytest.param({"primary_keys": ["uid"]}, "primary_keys", "uid", id="pk"),
    ],
)
@pytest.mark.parametrize("mode", ["sync", "--discover"])
def test_key_the_apis_rows_lack_fails_after_the_sample_page(
    item: dict[str, t.Any], setting: str, key: str, mode: str, tmp_path: Path
) -> None:
    # No schema: it is inferred from /fake, whose rows have no updated_at.
    stream = {"name": "fake", "path": FAKE, "primary_keys": ["id"], **item}
    with MockPlatform(rows=10) as platform:
        config = platform.tap_config(streams=[stream])
        args = [] if mode == "sync" else [mode]
        result = run_cli(*args, config=config, tmp_path=tmp_path)
        stats = platform.stats
    assert result.returncode == 1
    assert stats["api_requests"] == 1  # the sample page, nothing more
    last = _last_line(result.stderr)
    assert last.split("| ")[-1] == (
        f"ConfigurationError: Stream 'fake': {setting} names '{key}', which the "
        "API's rows do not have (schema inferred from a sample page; its "
        "properties: id, colString1, colString2, colString3, colString4, "
        "colInt1, colInt2, colInt3, colInt4, colFloat1, colFloat2, colFloat3, "
        "colFloat4, colSqlTime1, colSqlTime2, colSqlTime3, colSqlTime4): "
        f"correct {setting} in the stream's settings, or give the stream a "
        "schema that has the column"
    )
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_catalog_schema_without_the_replication_key_fails_before_any_page(
    tmp_path: Path,
) -> None:
    with MockPlatform(rows=10) as platform:
        config = platform.tap_config(
            streams=[_stream(replication_key="updated_at", schema=None)]
        )
        discovered = run_cli("--discover", config=config, tmp_path=tmp_path)
        assert discovered.returncode == 0, discovered.stderr[-2000:]
        catalog = json.loads(discovered.stdout)
        edited = copy.deepcopy(catalog)
        del edited["streams"][0]["schema"]["properties"]["updated_at"]
        path = tmp_path / "catalog.json"
        path.write_text(json.dumps(edited))
        platform.reset_stats()
        result = run_cli("--catalog", str(path), config=config, tmp_path=tmp_path)
        stats = platform.stats
    assert "updated_at" in catalog["streams"][0]["schema"]["properties"]
    assert result.returncode == 1
    assert stats["api_requests"] == 0
    last = _last_line(result.stderr)
    assert (
        "ConfigurationError: Stream 'fakewithts': replication_key names "
        "'updated_at', which is not a property of the stream's schema in the "
        "catalog (its properties: id, colString1,"
    ) in last
    assert last.endswith("correct the catalog, or write a new one with --discover")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("stream_maps", "expected"),
    [
        pytest.param(
            {"fakewithts": {"__key_properties__": ["nope"]}},
            "StreamMapConfigError: Invalid key properties for 'fakewithts': "
            "[nope]. Property 'nope' was not detected in schema; check the "
            "stream_maps setting",
            id="unknown-key-property",
        ),
        pytest.param(
            {"fakewithts": {"double": "id +* 2"}},
            "MapExpressionError: Failed to parse expression id +* 2; check the "
            "stream_maps setting",
            id="bad-expression",
        ),
    ],
)
def test_stream_map_errors_are_one_line(
    stream_maps: dict[str, t.Any], expected: str, tmp_path: Path
) -> None:
    with MockPlatform(rows=10) as platform:
        config = platform.tap_config(streams=[_stream()], stream_maps=stream_maps)
        result = run_cli(config=config, tmp_path=tmp_path)
    assert result.returncode == 1
    assert _last_line(result.stderr).endswith(expected)
    assert "Traceback" not in result.stderr
