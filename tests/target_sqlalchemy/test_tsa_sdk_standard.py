"""singer-sdk's standard target tests on each live database, plus table checks.

After every standard test, a check reads what landed in the database (the
standard suite itself only checks that the target did not fail).
"""

from __future__ import annotations

import json
import typing as t

import pytest
import sqlalchemy as sa
from singer_sdk.testing import get_target_test_class
from singer_sdk.testing.runners import TargetTestRunner

from target_sqlalchemy.target import TargetSQLAlchemy

StandardTests = get_target_test_class(
    TargetSQLAlchemy, config={"sqlalchemy_url": "sqlite://"}
)


def _rows(engine: sa.Engine, table: str, order_by: str) -> list[dict[str, t.Any]]:
    tbl = sa.Table(table, sa.MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        result = conn.execute(sa.select(tbl).order_by(tbl.c[order_by]))
        return [dict(r._mapping) for r in result]


def _json(value: t.Any) -> t.Any:
    return json.loads(value) if isinstance(value, str) else value


def _check_array_data(engine: sa.Engine) -> None:
    rows = _rows(engine, "test_array_data", "id")
    assert [(r["id"], _json(r["fruits"])) for r in rows] == [
        (1, ["apple", "orange", "pear"]),
        (2, ["banana", "apple"]),
        (3, ["pear"]),
        (4, ["orange", "banana", "apple", "pear"]),
    ]


def _check_camelcase(engine: sa.Engine) -> None:
    assert _rows(engine, "TestCamelcase", "Id") == [
        {"Id": "1", "clientName": "Gitter Windows Desktop App"},
        {"Id": "2", "clientName": "Gitter iOS App"},
    ]


def _check_duplicate_records(engine: sa.Engine) -> None:
    assert _rows(engine, "test_duplicate_records", "id") == [
        {"id": 1, "metric": 100},
        {"id": 2, "metric": 20},
    ]


def _check_encoded_strings(engine: sa.Engine) -> None:
    info = {r["id"]: r["info"] for r in _rows(engine, "test_strings", "id")}
    assert info[2] == "απλή συμβολοσειρά"
    assert info[3] == "简单的字串"
    assert info[5] == 'quoted "string"'
    assert info[6] == 'various " \\ / \n escape sequences'
    assert info[7] == "m"


def _check_no_primary_keys(engine: sa.Engine) -> None:
    rows = _rows(engine, "test_no_pk", "id")
    assert [(r["id"], r["metric"]) for r in rows] == [(1, 11), (2, 22), (3, 33)]


def _check_optional_attributes(engine: sa.Engine) -> None:
    rows = _rows(engine, "test_optional_attributes", "id")
    assert [r["optional"] for r in rows] == [
        "This is optional",
        None,
        "Also optional",
        None,
    ]


def _check_missing_fields(engine: sa.Engine) -> None:
    rows = _rows(engine, "record_missing_fields", "id")
    assert [(r["id"], r["optional"]) for r in rows] == [
        (1, "now you see me"),
        (2, None),
    ]


def _check_schema_updates(engine: sa.Engine) -> None:
    rows = _rows(engine, "test_schema_updates", "id")
    assert [r["id"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0]["a3"] is None
    assert rows[0]["a6"] is None
    assert bool(rows[1]["a3"]) is True
    assert _json(rows[2]["a5"]) == ["banana", "apple"]
    assert rows[5]["a6"] == 341


def _check_special_chars(engine: sa.Engine) -> None:
    (row,) = _rows(engine, "test:SpecialChars!in?attributes", "_id")
    assert row["_id"] == "a2e98886"
    assert _json(row["d"])["agent:os:version"] == "10.13.1"


def _check_pk_updates(engine: sa.Engine) -> None:
    rows = _rows(engine, "example_stream", "id")
    assert [(r["id"], r["email"]) for r in rows] == [
        (1, "alice@example.com"),
        (2, "bob@example.com"),
    ]


def _check_complex_schema(engine: sa.Engine) -> None:
    # Two SCHEMA messages and no records: the second adds three columns.
    table = "ForecastingTypeToCategory"
    inspector = sa.inspect(engine)
    columns = {c["name"]: c["type"] for c in inspector.get_columns(table)}
    assert list(columns) == [
        "Id",
        "IsDeleted",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
        "ForecastingTypeId",
        "ForecastingItemCategory",
        "DisplayPosition",
        "IsAdjustable",
        "IsOwnerAdjustable",
        "age",
        "NewCamelCasedAttribute",
        "_attribute_startswith_underscore",
    ]
    assert inspector.get_pk_constraint(table)["constrained_columns"] == ["Id"]
    assert isinstance(columns["DisplayPosition"], sa.Integer)
    assert isinstance(columns["CreatedDate"], sa.DateTime)
    assert _rows(engine, table, "Id") == []


def _check_absent_or_empty(table: str) -> t.Callable[[sa.Engine], None]:
    def check(engine: sa.Engine) -> None:
        # The run failed: no table, or one without rows.
        if sa.inspect(engine).has_table(table):
            assert _rows(engine, table, "id") == []

    return check


def _check_no_tables(engine: sa.Engine) -> None:
    assert sa.inspect(engine).get_table_names() == []


def _check_missing_required(engine: sa.Engine) -> None:
    # Records are not validated unless validate_records is on: the row lands.
    rows = _rows(engine, "test_record_missing_required_property", "metric")
    assert rows == [{"id": None, "metric": 3215}]


def _check_no_properties(engine: sa.Engine) -> None:
    rows = _rows(engine, "test_object_schema_with_properties", "object_store")
    assert sorted(_json(r["object_store"])["id"] for r in rows) == [1, 2]


CHECKS: dict[str, t.Callable[[sa.Engine], None]] = {
    "array_data": _check_array_data,
    "camelcase": _check_camelcase,
    "camelcase_complex_schema": _check_complex_schema,
    "duplicate_records": _check_duplicate_records,
    "encoded_string_data": _check_encoded_strings,
    "no_primary_keys": _check_no_primary_keys,
    "optional_attributes": _check_optional_attributes,
    "record_missing_fields": _check_missing_fields,
    "schema_updates": _check_schema_updates,
    "special_chars_in_attributes": _check_special_chars,
    "pk_updates": _check_pk_updates,
    "schema_no_properties": _check_no_properties,
    "cli_prints": _check_no_tables,
    "invalid_schema": _check_no_tables,
    "record_before_schema": _check_absent_or_empty("test_record_before_schema"),
    "record_missing_key_property": _check_absent_or_empty(
        "test_record_missing_key_property"
    ),
    "record_missing_required_property": _check_missing_required,
}


class TestStandardTargetSuite(StandardTests):  # type: ignore[misc,valid-type]
    """The standard suite over SQLite, PostgreSQL and MariaDB."""

    @pytest.fixture
    def runner(self, db_url: str) -> t.Iterator[TargetTestRunner]:
        runner = TargetTestRunner(
            target_class=TargetSQLAlchemy, config={"sqlalchemy_url": db_url}
        )
        yield runner
        # The SDK's runner opens the .singer file and never closes it.
        if runner._input is not None:
            runner._input.close()

    @pytest.fixture
    def resource(self, db_url: str, request: pytest.FixtureRequest) -> t.Iterator[None]:
        yield
        name = request.node.originalname.removeprefix("test_target_")
        engine = sa.create_engine(db_url)
        try:
            CHECKS[name](engine)
        finally:
            engine.dispose()
