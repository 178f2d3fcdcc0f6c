"""Schema evolution, existing user tables and identifier limits."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from tsa_helpers import Harness, record_msg, schema_msg

from target_sqlalchemy.errors import SchemaMappingError


def test_new_property_adds_a_column_and_integer_widens(harness: Harness) -> None:
    harness.run(
        [
            schema_msg(
                "t", {"id": {"type": "integer"}, "a": {"type": "integer"}}, ["id"]
            ),
            record_msg("t", {"id": 1, "a": 5}),
        ]
    )
    harness.run(
        [
            schema_msg(
                "t",
                {
                    "id": {"type": "integer"},
                    "a": {"type": "number"},
                    "b": {"type": ["null", "string"]},
                },
                ["id"],
            ),
            record_msg("t", {"id": 2, "a": 1.5, "b": "new"}),
        ]
    )
    rows = harness.rows("t", "id")
    assert rows == [{"id": 1, "a": 5, "b": None}, {"id": 2, "a": 1.5, "b": "new"}]
    column_type = harness.table("t").c["a"].type
    if harness.dialect == "postgresql":  # exact: NUMERIC holds both
        assert isinstance(column_type, sa.Numeric)
        assert not isinstance(column_type, sa.Float)
    elif harness.dialect == "mysql":  # DOUBLE, with a warning
        assert isinstance(column_type, sa.Float)
    else:  # SQLite's INTEGER affinity stores floats as they are
        assert isinstance(column_type, sa.Integer)


def test_schema_change_within_one_run_keeps_order(harness: Harness) -> None:
    v1 = {"id": {"type": "integer"}, "a": {"type": ["null", "string"]}}
    v2 = {**v1, "c": {"type": ["null", "boolean"]}}
    harness.run(
        [
            schema_msg("t", v1, ["id"]),
            record_msg("t", {"id": 1, "a": "old"}),
            schema_msg("t", v2, ["id"]),
            record_msg("t", {"id": 1, "a": "new", "c": True}),
            record_msg("t", {"id": 2, "a": "x", "c": False}),
        ]
    )
    rows = harness.rows("t", "id")
    assert [
        (r["id"], r["a"], None if r["c"] is None else bool(r["c"])) for r in rows
    ] == [
        (1, "new", True),
        (2, "x", False),
    ]


def test_varchar_widens(harness: Harness) -> None:
    def schema(n: int) -> dict[str, object]:
        return schema_msg(
            "t",
            {"id": {"type": "integer"}, "s": {"type": "string", "maxLength": n}},
            ["id"],
        )

    harness.run([schema(5), record_msg("t", {"id": 1, "s": "abcde"})])
    harness.run([schema(50), record_msg("t", {"id": 2, "s": "x" * 40})])
    assert [r["s"] for r in harness.rows("t", "id")] == ["abcde", "x" * 40]
    if harness.dialect != "sqlite":
        assert harness.table("t").c["s"].type.length == 50


def test_existing_user_table_is_used_as_is(harness: Harness) -> None:
    metadata = sa.MetaData()
    sa.Table(
        "Orders",
        metadata,
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("amount", sa.Float),
        sa.Column("note", sa.String(50), server_default="user"),
    )
    metadata.create_all(harness.engine)
    orders = harness.quote("Orders")
    harness.execute(f"INSERT INTO {orders} (id, amount, note) VALUES (1, 2.5, 'mine')")
    props = {
        "id": {"type": "integer"},
        "amount": {"type": ["null", "number"]},
        "status": {"type": ["null", "string"]},
    }
    harness.run(
        [
            schema_msg("Orders", props, ["id"]),
            record_msg("Orders", {"id": 1, "amount": 3.5, "status": "paid"}),
            record_msg("Orders", {"id": 2, "amount": 1.0, "status": "new"}),
        ]
    )
    assert harness.rows("Orders", "id") == [
        {"id": 1, "amount": 3.5, "note": "mine", "status": "paid"},
        {"id": 2, "amount": 1.0, "note": "user", "status": "new"},
    ]


def test_user_table_without_unique_key_upserts_by_delete_insert(
    harness: Harness,
) -> None:
    metadata = sa.MetaData()
    sa.Table(
        "plain",
        metadata,
        sa.Column("id", sa.BigInteger),
        sa.Column("v", sa.Text),
    )
    metadata.create_all(harness.engine)
    props = {"id": {"type": "integer"}, "v": {"type": ["null", "string"]}}
    messages = [
        schema_msg("plain", props, ["id"]),
        record_msg("plain", {"id": 1, "v": "a"}),
        record_msg("plain", {"id": 2, "v": "b"}),
    ]
    harness.run(messages)
    harness.run([*messages, record_msg("plain", {"id": 2, "v": "c"})])
    assert harness.rows("plain", "id") == [{"id": 1, "v": "a"}, {"id": 2, "v": "c"}]


@pytest.mark.parametrize("what", ["table", "column"])
def test_identifier_too_long_is_a_clear_error(harness: Harness, what: str) -> None:
    if harness.dialect == "sqlite":
        pytest.skip("SQLite has no identifier length limit")
    long_name = "x" * 70
    stream = long_name if what == "table" else "t"
    props = {"id": {"type": "integer"}}
    if what == "column":
        props[long_name] = {"type": "string"}
    with pytest.raises(SchemaMappingError, match=r"allows at most 6[34]"):
        harness.run([schema_msg(stream, props, ["id"])])
    assert sa.inspect(harness.engine).get_table_names() == []


def test_backtick_column_survives_reflection(harness: Harness) -> None:
    props = {"id": {"type": "integer"}, "b`b": {"type": ["null", "string"]}}
    for value in ("one", "two", "three"):
        harness.run(
            [schema_msg("t", props, ["id"]), record_msg("t", {"id": 1, "b`b": value})]
        )
    assert harness.rows("t") == [{"id": 1, "b`b": "three"}]
    assert len(sa.inspect(harness.engine).get_columns("t")) == 2


@pytest.mark.mysql
def test_default_target_schema_is_created_on_mysql(
    mysql_url: str, tmp_path: Path
) -> None:
    database = f"raw_{uuid.uuid4().hex[:8]}"
    harness = Harness(mysql_url, tmp_path)
    try:
        for value in ("a", "b"):
            harness.run(
                [
                    schema_msg(
                        "t",
                        {"id": {"type": "integer"}, "v": {"type": "string"}},
                        ["id"],
                    ),
                    record_msg("t", {"id": 1, "v": value}),
                ],
                default_target_schema=database,
            )
        with harness.engine.connect() as conn:
            rows = conn.exec_driver_sql(f"SELECT id, v FROM `{database}`.`t`").all()
        assert [tuple(r) for r in rows] == [(1, "b")]
        assert not harness.has_table("t")  # not in the connection's database
    finally:
        harness.execute(f"DROP DATABASE IF EXISTS `{database}`")
        harness.engine.dispose()


@pytest.mark.postgres
def test_default_target_schema_is_created(postgres_url: str, tmp_path: Path) -> None:
    schema = f"raw_{uuid.uuid4().hex[:8]}"
    harness = Harness(postgres_url, tmp_path)
    try:
        harness.run(
            [
                schema_msg("t", {"id": {"type": "integer"}}, ["id"]),
                record_msg("t", {"id": 1}),
            ],
            default_target_schema=schema,
        )
        with harness.engine.connect() as conn:
            count = conn.exec_driver_sql(f'SELECT count(*) FROM "{schema}"."t"')
            assert count.scalar() == 1
    finally:
        harness.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        harness.engine.dispose()
