"""Schema evolution on each live database: every widening, values read back."""

from __future__ import annotations

import datetime
import decimal
import logging
import typing as t

import pytest
import sqlalchemy as sa
from tsa_helpers import Harness, as_json, record_msg, schema_msg

from target_sqlalchemy import sqlite_rebuild
from target_sqlalchemy.errors import TableChangeError, UnsupportedChangeError
from target_sqlalchemy.target import describe_failure
from target_sqlalchemy.typemap import Kind

BIG = 2**63 - 1


def _two_runs(
    harness: Harness,
    before: dict[str, t.Any],
    first: t.Any,
    after: dict[str, t.Any],
    second: t.Any,
) -> list[t.Any]:
    """Load v=first under schema ``before``, then v=second under ``after``."""
    for schema, value, row_id in ((before, first, 1), (after, second, 2)):
        props = {"id": {"type": "integer"}, "v": schema}
        harness.run(
            [
                schema_msg("t", props, ["id"]),
                record_msg("t", {"id": row_id, "v": value}),
            ]
        )
    return [r["v"] for r in harness.rows("t", "id")]


def test_boolean_widens_to_integer(harness: Harness) -> None:
    got = _two_runs(harness, {"type": "boolean"}, True, {"type": "integer"}, 1000)
    assert got == [1, 1000]
    assert [type(v) for v in got] == [int, int]  # not read back as True


def test_boolean_widens_to_text(harness: Harness) -> None:
    got = _two_runs(harness, {"type": "boolean"}, True, {"type": "string"}, "x")
    assert got == ["true", "x"]


def test_object_widens_to_text(harness: Harness) -> None:
    got = _two_runs(harness, {"type": "object"}, {"a": 1}, {"type": "string"}, "plain")
    assert as_json(got[0]) == {"a": 1}
    assert got[1] == "plain"


def test_datetime_widens_to_text(harness: Harness) -> None:
    got = _two_runs(
        harness,
        {"type": "string", "format": "date-time"},
        "2024-01-02 03:04:05",
        {"type": "integer"},
        5,
    )
    assert str(got[0]).startswith("2024-01-02 03:04:05")
    assert got[1] == "5"


def test_date_widens_to_datetime(harness: Harness) -> None:
    got = _two_runs(
        harness,
        {"type": "string", "format": "date"},
        "2024-01-02",
        {"type": "string", "format": "date-time"},
        "2024-01-03T04:05:06Z",
    )
    assert got == [
        datetime.datetime(2024, 1, 2),
        datetime.datetime(2024, 1, 3, 4, 5, 6),
    ]


def test_integer_with_number_keeps_integers_exact_or_warns(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="target_sqlalchemy.connector"):
        got = _two_runs(harness, {"type": "integer"}, BIG, {"type": "number"}, 1.5)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    if harness.dialect == "mysql":
        # No exact type holds both: DOUBLE, and a WARNING naming the column.
        assert got == [float(BIG), 1.5]
        assert len(warnings) == 1
        assert "Column v of table" in warnings[0]
        assert "2**53" in warnings[0]
    else:
        assert got == [BIG, 1.5]
        assert got[0] == BIG  # exact: NUMERIC on PostgreSQL, INTEGER on SQLite
        assert warnings == []


def test_number_with_integer_on_postgresql_is_exact(harness: Harness) -> None:
    if harness.dialect != "postgresql":
        pytest.skip("only PostgreSQL has an exact type for both")
    got = _two_runs(
        harness, {"type": "number"}, 1.2345678901234567, {"type": "integer"}, BIG
    )
    assert got == [decimal.Decimal("1.2345678901234567"), BIG]


def test_narrow_integer_column_widens_to_bigint(harness: Harness) -> None:
    metadata = sa.MetaData()
    sa.Table(
        "t",
        metadata,
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("v", sa.Integer),
    )
    metadata.create_all(harness.engine)
    props = {"id": {"type": "integer"}, "v": {"type": "integer"}}
    harness.run(
        [schema_msg("t", props, ["id"]), record_msg("t", {"id": 1, "v": 2**40})]
    )
    assert harness.rows("t") == [{"id": 1, "v": 2**40}]
    if harness.dialect != "sqlite":  # SQLite integers are all 64-bit
        assert isinstance(harness.table("t").c["v"].type, sa.BigInteger)


def test_widening_keeps_default_and_not_null(harness: Harness) -> None:
    harness.execute(
        "CREATE TABLE t (id BIGINT PRIMARY KEY, "
        "note VARCHAR(50) NOT NULL DEFAULT 'user')"
    )
    props = {"id": {"type": "integer"}, "note": {"type": "string", "maxLength": 100}}
    harness.run(
        [schema_msg("t", props, ["id"]), record_msg("t", {"id": 1, "note": "n" * 80})]
    )
    harness.execute("INSERT INTO t (id) VALUES (2)")
    assert harness.rows("t", "id") == [
        {"id": 1, "note": "n" * 80},
        {"id": 2, "note": "user"},
    ]
    (note,) = [
        c for c in sa.inspect(harness.engine).get_columns("t") if c["name"] == "note"
    ]
    assert note["nullable"] is False
    assert "user" in str(note["default"])
    if harness.dialect != "sqlite":  # SQLite does not enforce lengths
        assert note["type"].length == 100
    with pytest.raises(sa.exc.IntegrityError):
        harness.execute("INSERT INTO t (id, note) VALUES (3, NULL)")


def test_sqlite_rebuild_keeps_keys_indexes_triggers_and_views(
    sqlite_harness: Harness,
) -> None:
    h = sqlite_harness
    h.execute(
        "CREATE TABLE t (id BIGINT PRIMARY KEY, v BOOLEAN, w TEXT DEFAULT 'd', "
        "code TEXT UNIQUE, n INTEGER CHECK (n IS NULL OR n > 0))"
    )
    h.execute("CREATE INDEX t_w ON t (w)")
    h.execute("CREATE TABLE log (id BIGINT)")
    h.execute(
        "CREATE TRIGGER t_ins AFTER INSERT ON t "
        "BEGIN INSERT INTO log VALUES (new.id); END"
    )
    h.execute("CREATE VIEW t_view AS SELECT id, v FROM t")
    h.execute("INSERT INTO t (id, v, code) VALUES (1, 1, 'c1')")
    props = {"id": {"type": "integer"}, "v": {"type": "integer"}}
    h.run([schema_msg("t", props, ["id"]), record_msg("t", {"id": 2, "v": 7})])
    h.run([schema_msg("t", props, ["id"]), record_msg("t", {"id": 2, "v": 8})])
    assert [(r["id"], r["v"], r["w"], r["code"]) for r in h.rows("t", "id")] == [
        (1, 1, "d", "c1"),
        (2, 8, "d", None),
    ]
    for broken in ("(9, 'c1', NULL)", "(9, 'c9', -1)"):  # UNIQUE and CHECK kept
        with pytest.raises(sa.exc.IntegrityError):
            h.execute(f"INSERT INTO t (id, code, n) VALUES {broken}")
    inspector = sa.inspect(h.engine)
    assert isinstance(h.table("t").c["v"].type, sa.BigInteger)
    assert inspector.get_pk_constraint("t")["constrained_columns"] == ["id"]
    assert [i["name"] for i in inspector.get_indexes("t")] == ["t_w"]
    with h.engine.connect() as conn:
        # The trigger fired for the user's row and, after the rebuild, for ours.
        assert conn.exec_driver_sql("SELECT id FROM log").scalars().all() == [1, 2]
        assert conn.exec_driver_sql(
            "SELECT v FROM t_view ORDER BY id"
        ).scalars().all() == [1, 8]


def test_refused_change_names_stream_table_and_column(harness: Harness) -> None:
    if harness.dialect != "postgresql":
        pytest.skip("PostgreSQL refuses to alter a column a view uses")
    props = {"id": {"type": "integer"}, "a": {"type": "integer"}}
    harness.run([schema_msg("t", props, ["id"]), record_msg("t", {"id": 1, "a": 1})])
    harness.execute("CREATE VIEW t_view AS SELECT a FROM t")
    widened = {**props, "a": {"type": "number"}}
    with pytest.raises(TableChangeError) as failure:
        harness.run(
            [schema_msg("t", widened, ["id"]), record_msg("t", {"id": 2, "a": 0.5})]
        )
    message = describe_failure(failure.value)
    assert message.startswith(
        "target-sqlalchemy failed: stream 't': table t: widening column 'a' "
        "from BIGINT to NUMERIC failed: "
    )
    assert "used by a view or rule" in message
    assert harness.rows("t") == [{"id": 1, "a": 1}]


def test_widening_steps_with_special_names(harness: Harness) -> None:
    table, column = 'odd "t" %`x', 'b"%`c'
    for kind, row_id, value in (
        ("boolean", 1, True),
        ("integer", 2, 300),
        ("string", 3, "s"),
    ):
        props = {"id": {"type": "integer"}, column: {"type": kind}}
        harness.run(
            [
                schema_msg(table, props, ["id"]),
                record_msg(table, {"id": row_id, column: value}),
            ]
        )
    assert [r[column] for r in harness.rows(table, "id")] == ["1", "300", "s"]
    assert isinstance(harness.table(table).c[column].type, sa.String)


def test_sqlite_rebuild_refuses_with_foreign_keys_on(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    h.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, v BOOLEAN)")
    h.execute("INSERT INTO t VALUES (1, 1)")
    with h.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys = ON")
        with pytest.raises(UnsupportedChangeError, match="needs foreign_keys off"):
            sqlite_rebuild.rebuild(conn, None, "t", {"v": (Kind.BOOLEAN, sa.Text())})
    assert h.rows("t") == [{"id": 1, "v": True}]
