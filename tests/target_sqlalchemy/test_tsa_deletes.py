"""Deleted rows (_sdc_deleted_at) and ACTIVATE_VERSION on each live database."""

from __future__ import annotations

import pytest
from tsa_helpers import Harness, record_msg, schema_msg

PROPS = {"id": {"type": "integer"}, "v": {"type": ["null", "string"]}}
WITH_DELETED = {
    **PROPS,
    "_sdc_deleted_at": {"type": ["null", "string"], "format": "date-time"},
}


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared"])
def test_hard_delete_removes_rows(harness: Harness, declared: bool) -> None:
    props = WITH_DELETED if declared else PROPS
    harness.run(
        [schema_msg("t", props, ["id"])]
        + [record_msg("t", {"id": i, "v": str(i)}) for i in range(1, 5)]
    )
    harness.run(
        [
            schema_msg("t", props, ["id"]),
            record_msg(
                "t", {"id": 2, "v": "2", "_sdc_deleted_at": "2024-01-01 00:00:00"}
            ),
            record_msg("t", {"id": 3, "v": "gone", "_sdc_deleted_at": None}),
            record_msg(
                "t", {"id": 3, "v": "3", "_sdc_deleted_at": "2024-01-01 00:00:00"}
            ),
            record_msg("t", {"id": 5, "v": "5", "_sdc_deleted_at": None}),
        ],
        hard_delete=True,
    )
    assert [r["id"] for r in harness.rows("t", "id")] == [1, 4, 5]


def test_soft_delete_keeps_rows_flagged(harness: Harness) -> None:
    harness.run(
        [
            schema_msg("t", WITH_DELETED, ["id"]),
            record_msg("t", {"id": 1, "v": "a", "_sdc_deleted_at": None}),
            record_msg(
                "t", {"id": 2, "v": "b", "_sdc_deleted_at": "2024-03-04 05:06:07"}
            ),
        ]
    )
    rows = harness.rows("t", "id")
    assert [r["id"] for r in rows] == [1, 2]
    assert rows[0]["_sdc_deleted_at"] is None
    assert str(rows[1]["_sdc_deleted_at"]).startswith("2024-03-04 05:06:07")


def _full_sync(stream: str, version: int, ids: list[int], *, at_end: bool) -> list:
    activate = {"type": "ACTIVATE_VERSION", "stream": stream, "version": version}
    records = [record_msg(stream, {"id": i, "v": f"v{version}"}, version) for i in ids]
    head = [schema_msg(stream, PROPS, ["id"])]
    return head + records + [activate] if at_end else [*head, activate, *records]


@pytest.mark.parametrize("at_end", [False, True], ids=["sdk-style", "at-end"])
def test_activate_version_hard_delete(harness: Harness, at_end: bool) -> None:
    harness.run(_full_sync("t", 100, [1, 2, 3, 4], at_end=at_end), hard_delete=True)
    harness.run(_full_sync("t", 200, [1, 3], at_end=at_end), hard_delete=True)
    rows = harness.rows("t", "id")
    assert [(r["id"], r["v"], r["_sdc_table_version"]) for r in rows] == [
        (1, "v200", 200),
        (3, "v200", 200),
    ]


def test_activate_version_soft_delete(harness: Harness) -> None:
    harness.run(_full_sync("t", 100, [1, 2, 3], at_end=False))
    harness.run(_full_sync("t", 200, [2], at_end=False))
    rows = harness.rows("t", "id")
    assert [r["id"] for r in rows] == [1, 2, 3]
    flagged = {r["id"]: r["_sdc_deleted_at"] is not None for r in rows}
    assert flagged == {1: True, 2: False, 3: True}
    assert [r["_sdc_table_version"] for r in rows] == [100, 200, 100]


def test_activate_version_with_empty_sync_empties_table(harness: Harness) -> None:
    harness.run(_full_sync("t", 100, [1, 2], at_end=False), hard_delete=True)
    harness.run(_full_sync("t", 200, [], at_end=False), hard_delete=True)
    assert harness.rows("t") == []


def test_soft_deleted_row_that_returns_is_undeleted(harness: Harness) -> None:
    harness.run(_full_sync("t", 100, [1, 2], at_end=False))
    harness.run(_full_sync("t", 200, [2], at_end=False))
    harness.run(_full_sync("t", 300, [1, 2], at_end=False))
    rows = harness.rows("t", "id")
    assert [(r["id"], r["_sdc_deleted_at"], r["_sdc_table_version"]) for r in rows] == [
        (1, None, 300),
        (2, None, 300),
    ]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(1_700_000_000_123, 1_700_000_000_124, id="milliseconds-apart"),
        pytest.param(1_700_000_000, 1_699_999_999, id="clock-stepped-back"),
        pytest.param(1_700_000_000_000, 1_700_000_000, id="milliseconds-to-seconds"),
    ],
)
def test_activate_version_retires_any_other_version(
    harness: Harness, first: int, second: int
) -> None:
    harness.run(_full_sync("t", first, [1, 2, 3], at_end=False), hard_delete=True)
    harness.run(_full_sync("t", second, [2], at_end=True), hard_delete=True)
    rows = harness.rows("t", "id")
    assert [(r["id"], r["_sdc_table_version"]) for r in rows] == [(2, second)]
