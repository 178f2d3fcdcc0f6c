"""touch() and delete(): new versions, soft deletes, ts order and full=1."""

from __future__ import annotations

import typing as t

import pytest

from tap_openapi.mock_platform import BASE_TS, MockPlatform

FAKE = "/api/v1/sync/fake"
FAKEWITHTS = "/api/v1/sync/fakewithts"
LAST_BASE_TS = BASE_TS + 2  # ids 21..30 of the 30-row platform


def _ids(rows: list[dict[str, t.Any]]) -> list[int]:
    return [r["id"] for r in rows]


def test_touch_gives_new_values_and_a_newer_updated_at(
    client: t.Any, small: MockPlatform
) -> None:
    before = {r["id"]: r for r in client.data(FAKEWITHTS, pageSize=30)["rows"]}
    stamp = small.touch([3, 25])
    assert stamp == LAST_BASE_TS + 1
    rows = client.data(FAKEWITHTS, pageSize=30)["rows"]
    # Untouched rows first in id order, then the touched ones by (updated_at, id).
    assert _ids(rows) == [i for i in range(1, 31) if i not in (3, 25)] + [3, 25]
    touched = rows[-1]
    assert touched["colString1"] == "str-25-1-v2"
    assert touched["updated_at"] == stamp
    assert touched["deleted_mark"] == 0
    for column in ("colInt1", "colFloat2", "colSqlTime3", "colString3"):
        assert touched[column] != before[25][column]
    assert rows[0] == before[1]
    recent = client.data(FAKEWITHTS, ts=stamp)
    assert _ids(recent["rows"]) == [3, 25]
    assert recent["totalNum"] == 2
    # /fake keeps id order and shows the new values.
    fake = client.data(FAKE, pageSize=30)["rows"]
    assert _ids(fake) == list(range(1, 31))
    assert fake[24]["colString1"] == "str-25-1-v2"


def test_touch_again_moves_the_row_to_the_end(
    client: t.Any, small: MockPlatform
) -> None:
    first = small.touch([5, 6])
    second = small.touch([5])
    assert second == first + 1
    rows = client.data(FAKEWITHTS, ts=first)["rows"]
    assert _ids(rows) == [6, 5]
    assert rows[1]["colString1"] == "str-5-1-v3"
    assert small.expected_row(5) == rows[1]


def test_delete_hides_rows_unless_full(client: t.Any, small: MockPlatform) -> None:
    stamp = small.delete([4, 30])
    fake = client.data(FAKE, pageSize=100)
    assert 4 not in _ids(fake["rows"])
    assert fake["totalNum"] == 28
    plain = client.data(FAKEWITHTS, pageSize=100)
    assert _ids(plain["rows"]) == [i for i in range(1, 30) if i != 4]
    assert plain["totalNum"] == 28
    full = client.data(FAKEWITHTS, pageSize=100, full=1)
    assert full["totalNum"] == 30
    assert _ids(full["rows"][-2:]) == [4, 30]
    assert {r["deleted_mark"] for r in full["rows"][-2:]} == {1}
    assert {r["updated_at"] for r in full["rows"][-2:]} == {stamp}
    assert client.data(FAKEWITHTS, ts=stamp)["rows"] == []
    assert _ids(client.data(FAKEWITHTS, ts=stamp, full="true")["rows"]) == [4, 30]


def test_touching_a_deleted_row_keeps_it_deleted(small: MockPlatform) -> None:
    small.delete([7])
    small.touch([7])
    row = small.expected_row(7)
    assert row["deleted_mark"] == 1
    assert row["colString1"] == "str-7-1-v2"


def test_bad_ids_are_rejected(small: MockPlatform) -> None:
    with pytest.raises(ValueError, match="out of range"):
        small.touch([0])
    with pytest.raises(ValueError, match="out of range"):
        small.delete([31])


def _oracle(platform: MockPlatform, ts: int, full: bool) -> list[dict[str, t.Any]]:
    rows = [platform.expected_row(i) for i in range(1, platform.rows + 1)]
    chosen = [
        r for r in rows if r["updated_at"] >= ts and (full or not r["deleted_mark"])
    ]
    return sorted(chosen, key=lambda r: (r["updated_at"], r["id"]))


def test_pages_match_a_naive_model_after_many_changes(connect: t.Any) -> None:
    with MockPlatform(rows=95) as platform:
        api = connect(platform)
        platform.touch([1, 2, 50, 95])
        platform.delete([3, 50, 60])
        platform.touch([2, 17, 61])
        platform.delete([94])
        stamps = sorted({r["updated_at"] for r in platform.rows_snapshot()})
        for ts in (0, BASE_TS + 1, BASE_TS + 5, stamps[-3], stamps[-1], stamps[-1] + 1):
            for full in (False, True):
                expected = _oracle(platform, ts, full)
                params = {"ts": ts, "full": 1} if full else {"ts": ts}
                for page_size in (1, 7, 100):
                    rows = api.all_rows(FAKEWITHTS, page_size, **params)
                    assert rows == expected, (ts, full, page_size)
                data = api.data(FAKEWITHTS, pageSize=1, **params)
                assert data["totalNum"] == len(expected)
        live = [platform.expected_row(i, FAKE) for i in range(1, 96)]
        deleted = {3, 50, 60, 94}
        live = [r for r in live if r["id"] not in deleted]
        for page_size in (1, 7, 100):
            assert api.all_rows(FAKE, page_size) == live
        assert platform.rows_snapshot(FAKE) == live
        assert platform.rows_snapshot("fakewithts") == _oracle(platform, 0, True)


def test_rows_snapshot_rejects_unknown_paths(small: MockPlatform) -> None:
    with pytest.raises(ValueError, match="no sample API"):
        small.rows_snapshot("/api/v1/items")
