"""The admin endpoints: change data and read counters over HTTP, no token."""

from __future__ import annotations

import typing as t

import pytest
import requests

from tap_openapi.mock_platform import MockPlatform


def _post(platform: MockPlatform, path: str, payload: t.Any) -> requests.Response:
    return requests.post(f"{platform.url}{path}", json=payload, timeout=10)


def test_admin_touch_and_delete(small: MockPlatform) -> None:
    answer = _post(small, "/admin/touch", {"ids": [1, 2]})
    assert answer.status_code == 200
    stamp = answer.json()["data"]["updated_at"]
    assert small.expected_row(1)["updated_at"] == stamp
    assert small.expected_row(1)["colString1"] == "str-1-1-v2"
    answer = _post(small, "/admin/delete", {"ids": [2]})
    assert answer.json()["data"] == {"updated_at": stamp + 1, "count": 1}
    assert small.expected_row(2)["deleted_mark"] == 1


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"ids": "1"}, id="not-a-list"),
        pytest.param({"ids": [1.5]}, id="not-integers"),
        pytest.param([1, 2], id="not-an-object"),
        pytest.param({"ids": [99]}, id="out-of-range"),
    ],
)
def test_admin_touch_rejects_bad_bodies(small: MockPlatform, payload: t.Any) -> None:
    answer = _post(small, "/admin/touch", payload)
    assert answer.status_code == 400
    assert answer.headers["X-Ca-Error-Code"] in ("A400IB", "A400IP")
    assert small.expected_row(1)["colString1"] == "str-1-1"


def test_admin_stats_and_reset(client: t.Any, small: MockPlatform) -> None:
    client.get("/api/v1/sync/fake")
    stats = requests.get(f"{small.url}/admin/stats", timeout=10).json()["data"]
    assert stats["api_requests"] == 1
    assert stats["token_requests:client_credentials"] == 1
    assert stats["requests:/admin/stats"] == 1
    assert _post(small, "/admin/reset-stats", {}).status_code == 200
    assert small.stats == {}
    # Admin requests are not API requests: they neither count nor get faults.
    small.faults.fail_every = 1
    assert requests.get(f"{small.url}/admin/stats", timeout=10).status_code == 200
    assert small.stats["api_requests"] == 0


def test_admin_expire_tokens(client: t.Any, small: MockPlatform) -> None:
    assert _post(small, "/admin/expire-tokens", {}).status_code == 200
    answer = client.get("/api/v1/sync/fake")
    assert answer.status_code == 401
    assert answer.headers["X-Ca-Error-Code"] == "A401OT"


def test_unknown_paths(small: MockPlatform) -> None:
    for path in ("/admin/nothing", "/", "/favicon.ico"):
        answer = requests.get(f"{small.url}{path}", timeout=10)
        assert answer.status_code == 404
        assert answer.headers["X-Ca-Error-Code"] == "A404NF"


def test_admin_requests_lists_method_path_and_query(
    client: t.Any, small: MockPlatform
) -> None:
    assert _post(small, "/admin/reset-stats", {}).status_code == 200
    client.get("/api/v1/sync/fake", pageNum=2, pageSize=5)
    log = requests.get(f"{small.url}/admin/requests", timeout=10).json()["data"]
    assert log == [
        {
            "method": "GET",
            "path": "/api/v1/sync/fake",
            "query": {"pageNum": "2", "pageSize": "5"},
        },
        {"method": "GET", "path": "/admin/requests", "query": {}},
    ]
    assert [r.path for r in small.requests()] == [
        "/api/v1/sync/fake",
        "/admin/requests",
    ]
