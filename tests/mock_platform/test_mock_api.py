"""The envelope, paging and the sample APIs over real HTTP."""

from __future__ import annotations

import math
import re
import socket
import time
import typing as t
from pathlib import Path

import pytest
import requests
from tls_helpers import self_signed

from tap_openapi.mock_platform import BASE_TS, MockPlatform

FAKE = "/api/v1/sync/fake"
FAKEWITHTS = "/api/v1/sync/fakewithts"
SQL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def test_envelope_shape_and_request_id(client: t.Any) -> None:
    answer = client.get(FAKE, pageNum=1, pageSize=10)
    body = answer.json()
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert set(body) == {"errCode", "errMsg", "requestId", "data"}
    assert (body["errCode"], body["errMsg"]) == (0, "success")
    assert re.fullmatch(r"[0-9a-f]{32}", body["requestId"])
    assert answer.headers["X-Ca-Request-Id"] == body["requestId"]
    assert client.get(FAKE).json()["requestId"] != body["requestId"]
    assert body["data"]["pageSize"] == 10
    assert body["data"]["pageNum"] == 1
    assert body["data"]["totalNum"] == 30
    assert [r["id"] for r in body["data"]["rows"]] == list(range(1, 11))


@pytest.mark.parametrize(
    ("page_num", "page_size", "ids"),
    [
        pytest.param(1, 30, list(range(1, 31)), id="exactly-one-page"),
        pytest.param(6, 5, list(range(26, 31)), id="exact-last-page"),
        pytest.param(3, 12, list(range(25, 31)), id="partial-last-page"),
        pytest.param(7, 5, [], id="page-past-the-end"),
        pytest.param(100, 2000, [], id="far-past-the-end"),
    ],
)
def test_paging_edges(
    client: t.Any, page_num: int, page_size: int, ids: list[int]
) -> None:
    for path in (FAKE, FAKEWITHTS):
        data = client.data(path, pageNum=page_num, pageSize=page_size)
        assert [r["id"] for r in data["rows"]] == ids
        assert data["totalNum"] == 30
        assert (data["pageNum"], data["pageSize"]) == (page_num, page_size)


def test_empty_table(connect: t.Any) -> None:
    with MockPlatform(rows=0) as platform:
        api = connect(platform)
        for path in (FAKE, FAKEWITHTS):
            data = api.data(path, pageNum=1, pageSize=100)
            assert data == {"pageSize": 100, "pageNum": 1, "totalNum": 0, "rows": []}


def test_page_size_is_capped_at_2000(connect: t.Any) -> None:
    with MockPlatform(rows=2500) as platform:
        api = connect(platform)
        data = api.data(FAKE, pageNum=1, pageSize=5000)
        assert data["pageSize"] == 2000
        assert len(data["rows"]) == 2000
        second = api.data(FAKE, pageNum=2, pageSize=5000)
        assert [r["id"] for r in second["rows"]] == list(range(2001, 2501))


def test_default_paging(client: t.Any) -> None:
    data = client.data(FAKE)
    assert (data["pageNum"], data["totalNum"], len(data["rows"])) == (1, 30, 30)


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"pageNum": 0}, id="page-zero"),
        pytest.param({"pageNum": "x"}, id="page-not-int"),
        pytest.param({"pageSize": -1}, id="size-negative"),
        pytest.param({"ts": "yesterday"}, id="ts-not-number"),
    ],
)
def test_bad_query_parameters(client: t.Any, params: dict[str, t.Any]) -> None:
    answer = client.get(FAKEWITHTS, **params)
    assert answer.status_code == 400
    assert answer.headers["X-Ca-Error-Code"] == "A400IP"
    name = next(iter(params))
    assert name in answer.headers["X-Ca-Error-Message"]
    assert answer.headers["X-Ca-Request-Id"] == answer.json()["requestId"]


def test_unknown_api_is_404(client: t.Any) -> None:
    answer = client.get("/api/v1/nope")
    assert answer.status_code == 404
    assert answer.headers["X-Ca-Error-Code"] == "A404NF"


def test_wrong_method_is_405(client: t.Any) -> None:
    answer = client.session.post(f"{client.platform.url}{FAKE}", timeout=10)
    assert answer.status_code == 405
    assert answer.headers["X-Ca-Error-Code"] == "A405MN"


def test_fake_row_columns_and_types(connect: t.Any) -> None:
    with MockPlatform(rows=70) as platform:
        rows = connect(platform).data(FAKE, pageSize=70)["rows"]
    assert list(rows[0]) == [
        "id",
        *(f"colString{k}" for k in range(1, 5)),
        *(f"colInt{k}" for k in range(1, 5)),
        *(f"colFloat{k}" for k in range(1, 5)),
        *(f"colSqlTime{k}" for k in range(1, 5)),
    ]
    for row in rows:
        for k in range(1, 5):
            value = row[f"colInt{k}"]
            assert isinstance(value, int)
            assert 0 <= value < 2**63
            number = row[f"colFloat{k}"]
            assert isinstance(number, float)
            assert math.isfinite(number)
            assert float(repr(number)) == number
            assert SQL_TIME.match(row[f"colSqlTime{k}"])
            assert isinstance(row[f"colString{k}"], str)
        assert ("数据" in row["colString4"]) == (row["id"] % 7 == 0)
        assert ('"' in row["colString2"] and "," in row["colString2"]) == (
            row["id"] % 5 == 0
        )
    # Columns vary between rows, not only in the id.
    assert len({r["colInt1"] for r in rows}) == 70
    assert len({r["colSqlTime1"] for r in rows}) == 70


def test_fakewithts_adds_updated_at_and_deleted_mark(client: t.Any) -> None:
    rows = client.data(FAKEWITHTS, pageSize=30)["rows"]
    fake_rows = client.data(FAKE, pageSize=30)["rows"]
    for row, fake in zip(rows, fake_rows, strict=True):
        assert row == {
            **fake,
            "updated_at": BASE_TS + (row["id"] - 1) // 10,
            "deleted_mark": 0,
        }


def test_ts_filters_at_or_after(client: t.Any) -> None:
    data = client.data(FAKEWITHTS, ts=BASE_TS + 1, pageSize=100)
    assert [r["id"] for r in data["rows"]] == list(range(11, 31))
    assert data["totalNum"] == 20
    assert client.data(FAKEWITHTS, ts=BASE_TS + 3)["totalNum"] == 0
    assert client.data(FAKEWITHTS, ts=0)["totalNum"] == 30
    # A fractional ts means "at or after" too.
    assert client.data(FAKEWITHTS, ts=f"{BASE_TS + 0.5}")["totalNum"] == 20


def test_rows_are_deterministic_across_requests_and_servers(connect: t.Any) -> None:
    with MockPlatform(rows=500) as one, MockPlatform(rows=900) as two:
        first = connect(one).data(FAKEWITHTS, pageNum=3, pageSize=100)["rows"]
        again = connect(one).data(FAKEWITHTS, pageNum=3, pageSize=100)["rows"]
        other = connect(two).data(FAKEWITHTS, pageNum=3, pageSize=100)["rows"]
        assert first == again == other
        assert one.expected_row(250) == first[49]
        assert one.expected_row(250, "fake") == {
            k: v
            for k, v in first[49].items()
            if k not in ("updated_at", "deleted_mark")
        }


def test_business_error_api(client: t.Any) -> None:
    answer = client.get("/api/v1/error/business")
    body = answer.json()
    assert answer.status_code == 200
    assert body["errCode"] == 40001
    assert body["errMsg"] == "simulated business error"
    assert body["requestId"] == answer.headers["X-Ca-Request-Id"]


def test_tap_config(small: MockPlatform) -> None:
    config = small.tap_config(page_size=500)
    assert config == {
        "base_url": small.url,
        "client_id": "demo-client",
        "client_secret": "demo-secret",
        "page_size": 500,
        "streams": [
            {"name": "fake", "path": FAKE, "primary_keys": ["id"]},
            {
                "name": "fakewithts",
                "path": FAKEWITHTS,
                "primary_keys": ["id"],
                "replication_key": "updated_at",
            },
        ],
    }
    assert small.tap_config(streams=[])["streams"] == []


def test_stats_count_requests_per_path(client: t.Any, small: MockPlatform) -> None:
    small.reset_stats()
    client.get(FAKE)
    client.get(FAKE)
    client.get(FAKEWITHTS)
    client.fetch_token()
    stats = small.stats
    assert stats["api_requests"] == 3
    assert stats[f"requests:{FAKE}"] == 2
    assert stats[f"requests:{FAKEWITHTS}"] == 1
    assert stats["token_requests"] == 1
    assert stats["token_requests:client_credentials"] == 1
    assert stats["requests:/nothing"] == 0


def test_time_a_2000_row_page(connect: t.Any) -> None:
    # Printed, not asserted: run with -s to see it.
    with MockPlatform(rows=100_000) as platform:
        api = connect(platform)
        timings = []
        for page in range(1, 11):
            started = time.perf_counter()
            answer = api.get(FAKE, pageNum=page, pageSize=2000)
            assert len(answer.content) > 900_000
            timings.append(time.perf_counter() - started)
    timings.sort()
    print(
        f"\n2000-row page of {FAKE}: median {timings[5] * 1000:.1f} ms, "
        f"best {timings[0] * 1000:.1f} ms (client in the same process)"
    )


def test_server_stops_cleanly_with_open_connections(connect: t.Any) -> None:
    platform = MockPlatform(rows=10).start()
    api = connect(platform)
    assert api.data(FAKE)["totalNum"] == 10
    url = platform.url
    platform.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}{FAKE}", timeout=2)
    # Stopping twice is harmless; restarting a stopped object works.
    platform.stop()
    with platform:
        assert connect(platform).data(FAKE)["totalNum"] == 10


def test_chunked_and_malformed_bodies_are_refused(small: MockPlatform) -> None:
    chunked = requests.post(
        f"{small.url}/api/v1/items", data=iter([b'{"a":', b"1}"]), timeout=10
    )
    assert chunked.status_code == 411
    assert chunked.headers["X-Ca-Error-Code"] == "A411LR"
    with socket.create_connection(("127.0.0.1", small.port), timeout=10) as raw:
        raw.sendall(
            b"POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n"
        )
        head = raw.recv(65536).decode()
    assert head.startswith("HTTP/1.1 400")
    assert "X-Ca-Error-Code: A400IH" in head


@pytest.mark.parametrize(
    ("mode", "total"),
    [
        pytest.param("exact", 30, id="exact"),
        pytest.param("omit", None, id="omit"),
        pytest.param("overstate", 2 * 30 + 7, id="overstate"),
    ],
)
def test_total_num_modes(connect: t.Any, mode: str, total: int | None) -> None:
    with MockPlatform(rows=30, total_num=mode) as platform:
        api = connect(platform)
        for path in (FAKE, FAKEWITHTS):
            data = api.data(path, pageNum=5, pageSize=7)
            assert data.get("totalNum") == total
            assert ("totalNum" in data) is (total is not None)
            assert (data["pageNum"], data["pageSize"]) == (5, 7)
            assert [r["id"] for r in data["rows"]] == [29, 30]


def test_total_num_mode_is_checked() -> None:
    with pytest.raises(ValueError, match="total_num must be one of exact, omit"):
        MockPlatform(total_num="sometimes")


def test_forbidden_api_is_403_with_x_ca_headers(client: t.Any) -> None:
    answer = client.get("/api/v1/forbidden", pageNum=1)
    assert answer.status_code == 403
    assert answer.headers["X-Ca-Error-Code"] == "A403NP"
    assert answer.headers["X-Ca-Error-Message"] == (
        "the client has no permission for this API"
    )
    assert answer.headers["X-Ca-Request-Id"] == answer.json()["requestId"]


def test_unauthorized_api_is_401_about_the_client_not_the_token(
    client: t.Any, small: MockPlatform
) -> None:
    answer = client.get("/api/v1/error/unauthorized")
    assert answer.status_code == 401
    assert answer.headers["X-Ca-Error-Code"] == "A401IP"
    assert answer.headers["X-Ca-Error-Message"] == (
        "the client may not call the platform from this address"
    )
    # RFC 6750: not invalid_token, which would tell clients to renew it.
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="mock-platform"'
    assert answer.json()["errCode"] == 401
    # The token is still good for the other APIs.
    assert client.get("/api/v1/sync/fake").status_code == 200
    assert small.stats["requests:/api/v1/error/unauthorized"] == 1


def test_ts_param_names_the_incremental_parameter(connect: t.Any) -> None:
    with MockPlatform(rows=30, ts_param="since") as platform:
        api = connect(platform)
        since = api.data(FAKEWITHTS, since=BASE_TS + 1, pageSize=100)
        assert [r["id"] for r in since["rows"]] == list(range(11, 31))
        # ts means nothing to this server: every row comes.
        ignored = api.data(FAKEWITHTS, ts=BASE_TS + 1, pageSize=100)
        assert len(ignored["rows"]) == 30
        bad = api.get(FAKEWITHTS, since="yesterday")
        assert bad.status_code == 400
        assert (
            "query parameter since must be unix seconds"
            in (bad.headers["X-Ca-Error-Message"])
        )


def test_requests_are_logged_with_their_query(
    client: t.Any, small: MockPlatform
) -> None:
    small.reset_stats()
    client.get(FAKE, pageNum=2, pageSize=5)
    client.get(FAKEWITHTS, ts=BASE_TS)
    assert [(r.method, r.path, r.query) for r in small.requests()] == [
        ("GET", FAKE, {"pageNum": "2", "pageSize": "5"}),
        ("GET", FAKEWITHTS, {"ts": str(BASE_TS)}),
    ]
    assert [r.path for r in small.requests(FAKEWITHTS)] == [FAKEWITHTS]
    small.reset_stats()
    assert small.requests() == []


def test_tls_serves_https_with_the_given_certificate(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    with MockPlatform(rows=5, tls_cert=cert, tls_key=key) as platform:
        assert platform.url.startswith("https://127.0.0.1:")
        with pytest.raises(requests.exceptions.SSLError, match="self-signed"):
            requests.post(platform.token_url, timeout=10)
        token = requests.post(
            platform.token_url,
            data={"grant_type": "client_credentials"},
            auth=(platform.client_id, platform.client_secret),
            verify=str(cert),
            timeout=10,
        )
        assert token.status_code == 200
        stats = platform.stats
        # The refused handshake is a connection, but no request.
        assert stats["connections"] == 2
        assert stats["requests:/oauth2/token"] == 1


def test_tls_needs_both_certificate_and_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tls_cert and tls_key go together"):
        MockPlatform(tls_cert=tmp_path / "cert.pem")
