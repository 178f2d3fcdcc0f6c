"""The client library against the live mock platform: calls, rows, models.

Retries: test_library_retries.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pydantic
import pytest

import tap_openapi
from tap_openapi import (
    HTTPStatusError,
    OpenAPIClient,
    PlatformError,
    RowConversionError,
)
from tap_openapi.mock_platform import MockPlatform

ITEMS = "/api/v1/items"
FAKE = "/api/v1/sync/fake"
FAKEWITHTS = "/api/v1/sync/fakewithts"


@dataclasses.dataclass
class FakeRow:
    id: int
    colString1: str
    colInt1: int
    colFloat1: float
    colSqlTime1: dt.datetime
    colSqlTime2: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class SnakeRow:
    id: int
    col_string2: str
    col_sql_time3: dt.datetime
    updated_at: dt.datetime
    comment: str = "default"


class FakeModel(pydantic.BaseModel):
    id: int
    colString1: str
    colInt4: int
    colSqlTime4: dt.datetime


@pytest.fixture
def client(platform: MockPlatform) -> Iterator[OpenAPIClient]:
    with OpenAPIClient(platform.tap_config()) as running:
        yield running


def sql_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


def test_library_api_is_exported() -> None:
    for name in ("OpenAPIClient", "TokenManager", "PlatformError", "TransportError"):
        assert name in tap_openapi.__all__


def test_each_http_method_on_items() -> None:
    with MockPlatform(rows=10) as own, OpenAPIClient(own.tap_config()) as client:
        created = client.post(ITEMS, json={"name": "pen", "price": 1.5})
        assert created == {"id": created["id"], "name": "pen", "price": 1.5}
        item_path = f"{ITEMS}/{created['id']}"
        assert client.get(item_path) == created
        replaced = client.put(item_path, json={"name": "pencil"})
        assert replaced == {"id": created["id"], "name": "pencil"}
        listed = client.get(ITEMS, params={"pageSize": 10})
        assert listed["rows"] == [replaced]
        assert client.delete(item_path) == replaced
        with pytest.raises(HTTPStatusError) as caught:
            client.get(item_path)
        assert caught.value.status == 404
        assert caught.value.request_id
        assert item_path in str(caught.value)
        assert client.get(ITEMS)["rows"] == []


def test_business_error_raises_platform_error(client: OpenAPIClient) -> None:
    with pytest.raises(PlatformError) as caught:
        client.get("/api/v1/error/business")
    assert caught.value.err_code == 40001
    assert caught.value.err_msg
    assert caught.value.request_id
    assert "/api/v1/error/business" in str(caught.value)


def test_from_config_reads_a_file_and_applies_overrides(
    platform: MockPlatform, tmp_path: Path
) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(platform.tap_config(base_url="http://nowhere")))
    with OpenAPIClient.from_config(config, base_url=platform.url) as client:
        assert client.get(ITEMS)["totalNum"] >= 0


def test_from_config_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(tap_openapi.ConfigurationError, match="missing.json"):
        OpenAPIClient.from_config(tmp_path / "missing.json")


def test_iter_rows_yields_every_row_as_dicts(
    platform: MockPlatform, client: OpenAPIClient
) -> None:
    rows = list(client.iter_rows(FAKE, page_size=3000))  # capped to 2000
    assert rows == platform.rows_snapshot(FAKE)
    assert len(rows) == 10_000


def test_iter_rows_is_lazy(platform: MockPlatform) -> None:
    with MockPlatform(rows=5000) as own, OpenAPIClient(own.tap_config()) as client:
        rows = client.iter_rows(FAKE, page_size=1000)
        assert own.stats["api_requests"] == 0
        first = next(rows)
        assert first["id"] == 1
        assert own.stats["api_requests"] == 1
        rows.close()


def test_iter_rows_into_dataclass(
    platform: MockPlatform, client: OpenAPIClient
) -> None:
    expected = platform.rows_snapshot(FAKE)
    got = list(client.iter_rows(FAKE, model=FakeRow))
    assert len(got) == len(expected)
    for row, source in zip(
        got[:50] + got[-50:], expected[:50] + expected[-50:], strict=True
    ):
        assert row == FakeRow(
            id=source["id"],
            colString1=source["colString1"],
            colInt1=source["colInt1"],
            colFloat1=source["colFloat1"],
            colSqlTime1=sql_time(source["colSqlTime1"]),
            colSqlTime2=sql_time(source["colSqlTime2"]),
        )
    assert all(isinstance(row.colSqlTime1, dt.datetime) for row in got)


def test_iter_rows_maps_snake_case_fields_and_unix_seconds(
    platform: MockPlatform, client: OpenAPIClient
) -> None:
    got = list(client.iter_rows(FAKEWITHTS, model=SnakeRow, page_size=500))
    source = platform.rows_snapshot(FAKEWITHTS)
    live = [row for row in source if not row["deleted_mark"]]
    assert [row.id for row in got] == [row["id"] for row in live]
    first, expected = got[0], live[0]
    assert first.col_string2 == expected["colString2"]
    assert first.col_sql_time3 == sql_time(expected["colSqlTime3"])
    assert first.updated_at == dt.datetime.fromtimestamp(
        expected["updated_at"], tz=dt.timezone.utc
    )
    assert first.comment == "default"


def test_iter_rows_into_pydantic_model(
    platform: MockPlatform, client: OpenAPIClient
) -> None:
    got = list(client.iter_rows(FAKE, model=FakeModel))
    expected = platform.rows_snapshot(FAKE)
    assert [row.id for row in got] == [row["id"] for row in expected]
    assert got[7] == FakeModel(
        id=expected[7]["id"],
        colString1=expected[7]["colString1"],
        colInt4=expected[7]["colInt4"],
        colSqlTime4=sql_time(expected[7]["colSqlTime4"]),
    )


def test_iter_rows_since_ts_sends_ts() -> None:
    with MockPlatform(rows=3000) as own, OpenAPIClient(own.tap_config()) as client:
        since = own.touch(range(100, 150))
        got = list(client.iter_rows(FAKEWITHTS, since_ts=since))
        assert [row["id"] for row in got] == list(range(100, 150))
        deleted_at = own.delete([7])
        got = list(
            client.iter_rows(FAKEWITHTS, since_ts=deleted_at, params={"full": 1})
        )
        assert [(row["id"], row["deleted_mark"]) for row in got] == [(7, 1)]


def test_row_that_does_not_fit_the_model_names_row_and_field(
    client: OpenAPIClient,
) -> None:
    @dataclasses.dataclass
    class Wrong:
        id: int
        missing_column: str

    with pytest.raises(RowConversionError, match=r"page 1.*missing_column"):
        next(client.iter_rows(FAKE, model=Wrong))


def test_model_must_be_a_dataclass_or_pydantic(client: OpenAPIClient) -> None:
    with pytest.raises(TypeError, match="dataclass or a pydantic"):
        next(client.iter_rows(FAKE, model=dict))


def test_context_manager_closes_the_session(platform: MockPlatform) -> None:
    client = OpenAPIClient(platform.tap_config())
    with client:
        client.get(ITEMS)
        adapter = client._session.get_adapter(platform.url)
        assert adapter.poolmanager.pools  # type: ignore[attr-defined]
    assert not adapter.poolmanager.pools  # type: ignore[attr-defined]


def test_client_from_a_tap_config_uses_the_taps_defaults(
    platform: MockPlatform,
) -> None:
    from tap_openapi.tap import TapOpenAPI

    # No timeout, retries or page size in the config: both take the defaults.
    # (Each gets its own copy: the tap writes its defaults into the dict.)
    assert "request_timeout" not in platform.tap_config()
    tap = TapOpenAPI(config=platform.tap_config(), validate_config=True)
    connection = tap.connection
    with OpenAPIClient(platform.tap_config()) as client:
        assert client.timeout == connection.request_timeout == 60
        assert client.tokens.settings.request_timeout == 60
        assert client.max_retries == connection.max_retries
        assert client.tokens.settings.max_retries == connection.max_retries
        assert client.page_size == connection.page_size == 2000
        assert client.max_retry_seconds == connection.max_retry_seconds == 600
        assert client.retry_policy.max_seconds == 600
        version = metadata.version("tap-openapi")
        assert client._user_agent == connection.user_agent == f"tap-openapi/{version}"
    documented = TapOpenAPI.config_jsonschema["properties"]
    assert documented["request_timeout"]["default"] == 60
