"""Fixtures for the mock platform's own tests: small in-process servers."""

from __future__ import annotations

import typing as t
from collections.abc import Iterator

import pytest
import requests

from tap_openapi.mock_platform import MockPlatform


class ApiClient:
    """A requests session holding a client_credentials token for one platform."""

    def __init__(self, platform: MockPlatform) -> None:
        self.platform = platform
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {self.fetch_token()}"

    def fetch_token(self) -> str:
        answer = requests.post(
            self.platform.token_url,
            data={"grant_type": "client_credentials"},
            auth=(self.platform.client_id, self.platform.client_secret),
            timeout=10,
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def get(self, path: str, **params: t.Any) -> requests.Response:
        return self.session.get(f"{self.platform.url}{path}", params=params, timeout=10)

    def data(self, path: str, **params: t.Any) -> t.Any:
        answer = self.get(path, **params)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["errCode"] == 0, body
        return body["data"]

    def all_rows(self, path: str, page_size: int, **params: t.Any) -> list[t.Any]:
        rows: list[t.Any] = []
        page = 1
        while True:
            data = self.data(path, pageNum=page, pageSize=page_size, **params)
            if not data["rows"]:
                return rows
            rows.extend(data["rows"])
            page += 1


@pytest.fixture
def small() -> Iterator[MockPlatform]:
    """A fresh 30-row platform that a test may change."""
    with MockPlatform(rows=30) as platform:
        yield platform


@pytest.fixture
def client(small: MockPlatform) -> ApiClient:
    """An authorised client of :func:`small`."""
    return ApiClient(small)


@pytest.fixture
def connect() -> t.Callable[[MockPlatform], ApiClient]:
    """Build an authorised client for any platform a test starts."""
    return ApiClient
