"""Key columns: duplicates within a batch, exact comparison, indexable length."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from tsa_helpers import Harness, record_msg, schema_msg

from target_sqlalchemy.errors import RecordValueError
from target_sqlalchemy.target import describe_failure


@pytest.mark.parametrize(
    ("key_schema", "first", "second", "stored"),
    [
        pytest.param({"type": "integer"}, 1, "1", 1, id="int-and-string"),
        pytest.param({"type": "integer"}, 2, 2.0, 2, id="int-and-float"),
        pytest.param({"type": "number"}, 3, 3.0, 3.0, id="number-int-and-float"),
        pytest.param(
            {"type": "string", "format": "date-time"},
            "2024-01-01 00:00:00",
            "2024-01-01T00:00:00Z",
            "2024-01-01 00:00:00",
            id="datetime-spellings",
        ),
    ],
)
def test_duplicate_keys_compare_as_the_database_does(
    harness: Harness,
    key_schema: dict[str, str],
    first: object,
    second: object,
    stored: object,
) -> None:
    props = {"k": key_schema, "v": {"type": "string"}}
    harness.run(
        [
            schema_msg("t", props, ["k"]),
            record_msg("t", {"k": first, "v": "first"}),
            record_msg("t", {"k": second, "v": "last"}),
        ]
    )
    (row,) = harness.rows("t")
    assert str(row["k"]) == str(stored)
    assert row["v"] == "last"


def test_string_keys_differing_in_case_or_spaces_are_distinct(
    harness: Harness,
) -> None:
    props = {"k": {"type": "string"}, "v": {"type": "integer"}}
    keys = ["abc", "ABC", "abc "]
    messages = [schema_msg("t", props, ["k"])]
    messages += [record_msg("t", {"k": k, "v": i}) for i, k in enumerate(keys)]
    harness.run(messages)
    harness.run([schema_msg("t", props, ["k"]), record_msg("t", {"k": "ABC", "v": 10})])
    got = sorted((r["k"], r["v"]) for r in harness.rows("t"))
    assert got == [("ABC", 10), ("abc", 0), ("abc ", 2)]


def test_long_string_key_fits_its_index(harness: Harness) -> None:
    props = {"k": {"type": "string"}, "v": {"type": "integer"}}
    key = "k" * 700
    harness.run([schema_msg("t", props, ["k"]), record_msg("t", {"k": key, "v": 1})])
    harness.run([schema_msg("t", props, ["k"]), record_msg("t", {"k": key, "v": 2})])
    assert harness.rows("t") == [{"k": key, "v": 2}]


def test_string_key_lengths_share_the_mysql_key_limit(harness: Harness) -> None:
    if harness.dialect != "mysql":
        pytest.skip("only InnoDB limits a key to 3072 bytes")
    props = {
        "id": {"type": "integer"},
        "a": {"type": "string", "maxLength": 10},
        "b": {"type": "string"},
        "c": {"type": "string"},
    }
    record = {"id": 1, "a": "a" * 10, "b": "b" * 300, "c": "c" * 370}
    harness.run(
        [schema_msg("t", props, ["id", "a", "b", "c"]), record_msg("t", record)]
    )
    columns = harness.table("t").c
    # 3072 bytes less 17 for the integer key, over 4-byte characters: 763.
    assert [columns[n].type.length for n in "abc"] == [10, 376, 377]
    assert harness.rows("t") == [record]


def test_too_long_key_is_a_clear_error(harness: Harness) -> None:
    if harness.dialect != "mysql":
        pytest.skip("PostgreSQL and SQLite index unbounded text")
    props = {"k": {"type": "string"}, "v": {"type": "integer"}}
    with pytest.raises(RecordValueError) as failure:
        harness.run(
            [
                schema_msg("t", props, ["k"]),
                record_msg("t", {"k": "ok", "v": 1}),
                record_msg("t", {"k": "x" * 800, "v": 2}),
            ]
        )
    message = describe_failure(failure.value)
    assert "stream 't': property 'k' value 'xxx" in message
    assert "800 characters are more than the 768 that key column 'k' of table t" in (
        message
    )
    assert "3072 bytes per key" in message
    assert "(input line 3)" in message
    assert not harness.has_table("t") or harness.rows("t") == []


def test_mysql_key_columns_compare_exactly(harness: Harness) -> None:
    if harness.dialect != "mysql":
        pytest.skip("only MySQL/MariaDB key collations ignore case and spaces")
    props = {"k": {"type": "string"}}
    harness.run([schema_msg("t", props, ["k"]), record_msg("t", {"k": "a"})])
    with harness.engine.connect() as conn:
        collation = conn.execute(
            sa.text(
                "SELECT COLLATION_NAME FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't'"
            )
        ).scalar()
    assert collation == "utf8mb4_nopad_bin"
