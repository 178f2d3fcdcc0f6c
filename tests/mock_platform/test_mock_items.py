"""The items CRUD API."""

from __future__ import annotations

import typing as t

ITEMS = "/api/v1/items"


def test_items_crud(client: t.Any) -> None:
    base = f"{client.platform.url}{ITEMS}"
    session = client.session
    created = [
        session.post(base, json={"name": f"item {n}", "tags": ["a"]}, timeout=10)
        for n in range(3)
    ]
    assert [c.json()["data"]["id"] for c in created] == [1, 2, 3]
    assert created[0].json()["data"] == {"name": "item 0", "tags": ["a"], "id": 1}
    got = session.get(f"{base}/2", timeout=10).json()
    assert got["errCode"] == 0
    assert got["data"] == {"name": "item 1", "tags": ["a"], "id": 2}
    put = session.put(f"{base}/2", json={"name": "renamed", "id": 99}, timeout=10)
    assert put.json()["data"] == {"name": "renamed", "id": 2}
    page = client.data(ITEMS, pageNum=1, pageSize=2)
    assert page["totalNum"] == 3
    assert [i["id"] for i in page["rows"]] == [1, 2]
    assert [i["id"] for i in client.data(ITEMS, pageNum=2, pageSize=2)["rows"]] == [3]
    deleted = session.delete(f"{base}/1", timeout=10)
    assert deleted.json()["data"]["id"] == 1
    missing = session.get(f"{base}/1", timeout=10)
    assert missing.status_code == 404
    assert missing.headers["X-Ca-Error-Code"] == "A404NF"
    assert "item 1 not found" in missing.headers["X-Ca-Error-Message"]
    assert session.delete(f"{base}/1", timeout=10).status_code == 404
    assert session.put(f"{base}/1", json={}, timeout=10).status_code == 404
    assert client.data(ITEMS)["totalNum"] == 2


def test_items_reject_a_body_that_is_not_an_object(client: t.Any) -> None:
    base = f"{client.platform.url}{ITEMS}"
    for body in (b"[1]", b"not json", b""):
        answer = client.session.post(base, data=body, timeout=10)
        assert answer.status_code == 400
        assert answer.headers["X-Ca-Error-Code"] == "A400IB"


def test_items_need_a_token(client: t.Any) -> None:
    import requests

    answer = requests.get(f"{client.platform.url}{ITEMS}", timeout=10)
    assert answer.status_code == 401
    assert answer.headers["X-Ca-Error-Code"] == "A401AT"
