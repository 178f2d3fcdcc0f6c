"""Loading, upserting, load methods and type round-trips on each live database."""

from __future__ import annotations

import datetime
import decimal
import logging
import math

import pytest
from tsa_helpers import Harness, as_json, record_msg, schema_msg, state_msg

PROPS = {
    "id": {"type": "integer"},
    "name": {"type": ["null", "string"]},
    "score": {"type": ["null", "number"]},
}


def test_load_then_upsert_updates_in_place(harness: Harness) -> None:
    first = [
        schema_msg("people", PROPS, ["id"]),
        *[
            record_msg("people", {"id": i, "name": f"n{i}", "score": i / 2})
            for i in (1, 2, 3)
        ],
    ]
    harness.run(first)
    assert harness.rows("people", "id") == [
        {"id": 1, "name": "n1", "score": 0.5},
        {"id": 2, "name": "n2", "score": 1.0},
        {"id": 3, "name": "n3", "score": 1.5},
    ]
    second = [
        schema_msg("people", PROPS, ["id"]),
        record_msg("people", {"id": 2, "name": "changed", "score": None}),
        record_msg("people", {"id": 4, "name": "new", "score": 4.0}),
    ]
    harness.run(second)
    assert harness.rows("people", "id") == [
        {"id": 1, "name": "n1", "score": 0.5},
        {"id": 2, "name": "changed", "score": None},
        {"id": 3, "name": "n3", "score": 1.5},
        {"id": 4, "name": "new", "score": 4.0},
    ]


def test_reloading_the_same_rows_keeps_the_count(harness: Harness) -> None:
    messages = [
        schema_msg("people", PROPS, ["id"]),
        *[
            record_msg("people", {"id": i, "name": "x", "score": 1.0})
            for i in range(50)
        ],
    ]
    harness.run(messages)
    harness.run(messages)
    assert len(harness.rows("people")) == 50


def test_duplicate_keys_in_one_batch_last_record_wins(harness: Harness) -> None:
    harness.run(
        [
            schema_msg("people", PROPS, ["id"]),
            record_msg("people", {"id": 1, "name": "first", "score": 1}),
            record_msg("people", {"id": 2, "name": "other", "score": 2}),
            record_msg("people", {"id": 1, "name": "second", "score": 3}),
            record_msg("people", {"id": 1, "name": "last", "score": 4}),
        ]
    )
    assert harness.rows("people", "id") == [
        {"id": 1, "name": "last", "score": 4.0},
        {"id": 2, "name": "other", "score": 2.0},
    ]


def test_duplicates_across_small_batches(harness: Harness) -> None:
    records = [
        record_msg("people", {"id": i % 3, "name": f"v{i}", "score": i})
        for i in range(10)
    ]
    harness.run([schema_msg("people", PROPS, ["id"]), *records], batch_size_rows=4)
    assert harness.rows("people", "id") == [
        {"id": 0, "name": "v9", "score": 9.0},
        {"id": 1, "name": "v7", "score": 7.0},
        {"id": 2, "name": "v8", "score": 8.0},
    ]


def test_stream_without_keys_appends(harness: Harness) -> None:
    messages = [
        schema_msg("events", PROPS),
        record_msg("events", {"id": 1, "name": "a", "score": 1}),
        record_msg("events", {"id": 1, "name": "a", "score": 1}),
    ]
    harness.run(messages)
    harness.run(messages)
    assert len(harness.rows("events")) == 4


def test_append_only_keeps_every_record(harness: Harness) -> None:
    messages = [
        schema_msg("people", PROPS, ["id"]),
        record_msg("people", {"id": 1, "name": "a", "score": 1}),
        record_msg("people", {"id": 1, "name": "b", "score": 2}),
    ]
    harness.run(messages, load_method="append-only")
    harness.run(messages, load_method="append-only")
    names = sorted(r["name"] for r in harness.rows("people"))
    assert names == ["a", "a", "b", "b"]


def test_overwrite_replaces_the_table_once_per_run(harness: Harness) -> None:
    harness.run(
        [
            schema_msg("people", PROPS, ["id"]),
            *[
                record_msg("people", {"id": i, "name": "old", "score": 0})
                for i in range(5)
            ],
        ]
    )
    harness.run(
        [
            schema_msg("people", PROPS, ["id"]),
            *[
                record_msg("people", {"id": i, "name": "new", "score": i})
                for i in (10, 11, 12)
            ],
        ],
        load_method="overwrite",
        batch_size_rows=2,
    )
    assert [(r["id"], r["name"]) for r in harness.rows("people", "id")] == [
        (10, "new"),
        (11, "new"),
        (12, "new"),
    ]


def test_overwrite_with_no_records_empties_the_table(harness: Harness) -> None:
    harness.run([schema_msg("people", PROPS, ["id"]), record_msg("people", {"id": 1})])
    harness.run([schema_msg("people", PROPS, ["id"])], load_method="overwrite")
    assert harness.rows("people") == []


TYPES = {
    "id": {"type": "integer"},
    "big": {"type": ["null", "integer"]},
    "f": {"type": ["null", "number"]},
    "ts": {"type": ["null", "string"], "format": "date-time"},
    "d": {"type": ["null", "string"], "format": "date"},
    "flag": {"type": ["null", "boolean"]},
    "obj": {"type": ["null", "object"]},
    "arr": {"type": ["null", "array"]},
    "text": {"type": ["null", "string"]},
}


def test_type_round_trips(harness: Harness) -> None:
    big = 2**62 + 12345
    records = [
        {
            "id": 1,
            "big": big,
            "f": 0.1,
            "ts": "2024-01-02 03:04:05",
            "d": "2024-02-29",
            "flag": True,
            "obj": {"a": [1, 2], "b": "中文", "c": None},
            "arr": [1, "two", {"three": 3}],
            "text": "中文 tab\there \"quotes\" 'single' back\\slash\nnewline",
        },
        {
            "id": 2,
            "big": -big,
            "f": 1e-300,
            "ts": "2024-01-02T03:04:05.123456+02:00",
            "d": "1999-12-31",
            "flag": False,
            "obj": {},
            "arr": [],
            "text": "",
        },
        {
            "id": 3,
            "big": None,
            "f": None,
            "ts": None,
            "d": None,
            "flag": None,
            "obj": None,
            "arr": None,
            "text": None,
        },
        {
            "id": 4,
            "f": 123456789.123456789,
            "ts": "2024-06-30T23:59:59Z",
            "text": "\\N",
        },
    ]
    harness.run(
        [schema_msg("types", TYPES, ["id"])] + [record_msg("types", r) for r in records]
    )
    rows = harness.rows("types", "id")
    assert [r["big"] for r in rows] == [big, -big, None, None]
    assert rows[0]["f"] == 0.1
    assert rows[1]["f"] == 1e-300
    assert math.isclose(rows[3]["f"], 123456789.123456789, rel_tol=0, abs_tol=0)
    assert rows[0]["ts"] == datetime.datetime(2024, 1, 2, 3, 4, 5)
    assert rows[1]["ts"] == datetime.datetime(2024, 1, 2, 1, 4, 5, 123456)
    assert rows[3]["ts"] == datetime.datetime(2024, 6, 30, 23, 59, 59)
    assert [r["d"] for r in rows[:3]] == [
        datetime.date(2024, 2, 29),
        datetime.date(1999, 12, 31),
        None,
    ]
    assert [None if r["flag"] is None else bool(r["flag"]) for r in rows] == [
        True,
        False,
        None,
        None,
    ]
    assert as_json(rows[0]["obj"]) == {"a": [1, 2], "b": "中文", "c": None}
    assert as_json(rows[1]["obj"]) == {}
    assert as_json(rows[0]["arr"]) == [1, "two", {"three": 3}]
    assert as_json(rows[1]["arr"]) == []
    assert rows[2]["obj"] is None
    assert rows[0]["text"] == records[0]["text"]
    assert rows[1]["text"] == ""
    assert rows[2]["text"] is None
    assert rows[3]["text"] == "\\N"


SPECIAL_STREAM = 'odd "table"; 100% `name` 表'
SPECIAL_PROPS = {
    "key col": {"type": "integer"},
    "select": {"type": ["null", "string"]},
    'semi;colon "quoted"': {"type": ["null", "string"]},
    "中文列": {"type": ["null", "integer"]},
    "MixedCase": {"type": ["null", "boolean"]},
    "pct%": {"type": ["null", "string"], "maxLength": 5},
    "100%% done": {"type": ["null", "integer"]},
    "b`b": {"type": ["null", "string"]},
    "a VALUES (b": {"type": ["null", "string"]},
}


@pytest.mark.parametrize("load_method", ["upsert", "append-only"])
def test_special_character_names(harness: Harness, load_method: str) -> None:
    """Quotes, %, backticks and SQL keywords in table and column names, through
    table creation, loading, reflection on the next run, ADD COLUMN and a
    widened column."""
    stream, props = SPECIAL_STREAM, SPECIAL_PROPS
    record = {
        "key col": 1,
        "select": "reserved",
        'semi;colon "quoted"': "ok",
        "中文列": 7,
        "MixedCase": True,
        "pct%": "50%",
        "100%% done": 100,
        "b`b": "tick",
        "a VALUES (b": "values",
    }
    harness.run(
        [schema_msg(stream, props, ["key col"]), record_msg(stream, record)],
        load_method=load_method,
    )
    more = {**props, "pct%": {"type": ["null", "string"]}, "new%`col": {}}
    harness.run(
        [
            schema_msg(stream, more, ["key col"]),
            record_msg(
                stream,
                {**record, "select": "updated", "pct%": "x" * 20, "new%`col": [1]},
            ),
        ],
        load_method=load_method,
    )
    rows = harness.rows(stream)
    assert len(rows) == (1 if load_method == "upsert" else 2)
    row = rows[-1]
    assert set(row) == set(more)
    assert row["select"] == "updated"
    assert row['semi;colon "quoted"'] == "ok"
    assert row["中文列"] == 7
    assert row["pct%"] == "x" * 20
    assert row["100%% done"] == 100
    assert row["b`b"] == "tick"
    assert row["a VALUES (b"] == "values"
    assert as_json(row["new%`col"]) == [1]


def test_snake_case_names_setting(harness: Harness) -> None:
    harness.run(
        [
            schema_msg(
                "MyStream",
                {"Id": {"type": "integer"}, "Some Name": {"type": "string"}},
                ["Id"],
            ),
            record_msg("MyStream", {"Id": 1, "Some Name": "x"}),
        ],
        snake_case_names=True,
    )
    assert harness.rows("mystream") == [{"id": 1, "some_name": "x"}]


def test_state_is_passed_through_after_load(harness: Harness) -> None:
    run = harness.run(
        [
            schema_msg("people", PROPS, ["id"]),
            record_msg("people", {"id": 1}),
            state_msg({"bookmarks": {"people": 1}}),
        ]
    )
    assert run.states == [{"bookmarks": {"people": 1}}]
    assert len(harness.rows("people")) == 1


def test_batches_are_bounded_by_bytes(
    sqlite_harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    text = "x" * 1000
    records = [record_msg("t", {"id": i, "name": text}) for i in range(20)]
    with caplog.at_level(logging.INFO, logger="target_sqlalchemy.sinks"):
        sqlite_harness.run(
            [schema_msg("t", PROPS, ["id"]), *records], batch_size_bytes=5000
        )
    batches = [r for r in caplog.records if r.getMessage().startswith("Loaded batch")]
    assert len(batches) == 4  # 5 records of ~1,060 bytes each per batch
    assert len(sqlite_harness.rows("t")) == 20


def test_interleaved_streams(harness: Harness) -> None:
    messages: list[dict[str, object]] = [
        schema_msg("a", PROPS, ["id"]),
        schema_msg("b", PROPS),
    ]
    for i in range(30):
        messages.append(record_msg("a" if i % 2 else "b", {"id": i, "name": str(i)}))
    messages.append(state_msg({"bookmarks": {"a": 29, "b": 28}}))
    run = harness.run(messages, batch_size_rows=4)
    assert run.states[-1] == {"bookmarks": {"a": 29, "b": 28}}
    assert [r["id"] for r in harness.rows("a", "id")] == list(range(1, 30, 2))
    assert [r["id"] for r in harness.rows("b", "id")] == list(range(0, 30, 2))


def test_record_metadata_columns(harness: Harness) -> None:
    message = record_msg("t", {"id": 1, "name": "a"})
    message["time_extracted"] = "2024-05-06T07:08:09+00:00"
    harness.run([schema_msg("t", PROPS, ["id"]), message], add_record_metadata=True)
    (row,) = harness.rows("t")
    assert row["_sdc_extracted_at"] == datetime.datetime(2024, 5, 6, 7, 8, 9)
    assert isinstance(row["_sdc_received_at"], datetime.datetime)
    assert isinstance(row["_sdc_batched_at"], datetime.datetime)
    assert row["_sdc_deleted_at"] is None
    assert row["_sdc_sequence"] > 0


def test_decimal_columns_are_exact(harness: Harness) -> None:
    if harness.dialect == "sqlite":
        pytest.skip("SQLite has no exact decimal type")
    props = {
        "id": {"type": "integer"},
        "amount": {"type": "number", "multipleOf": 0.01},
    }
    harness.run(
        [
            schema_msg("t", props, ["id"]),
            record_msg("t", {"id": 1, "amount": 12345678901.23}),
            record_msg("t", {"id": 2, "amount": 0.1}),
        ]
    )
    amounts = [r["amount"] for r in harness.rows("t", "id")]
    assert amounts == [decimal.Decimal("12345678901.23"), decimal.Decimal("0.10")]


def test_integers_beyond_64_bits_in_number_columns(harness: Harness) -> None:
    props = {"id": {"type": "integer"}, "f": {"type": ["null", "number"]}}
    values = [2**64, -(2**63) - 1, 2**63 - 1, 10**30]
    harness.run(
        [schema_msg("t", props, ["id"])]
        + [record_msg("t", {"id": i, "f": v}) for i, v in enumerate(values)]
    )
    got = [r["f"] for r in harness.rows("t", "id")]
    assert got == [float(v) for v in values]
    assert all(isinstance(v, float) for v in got)
