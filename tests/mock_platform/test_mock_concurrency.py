"""Many clients at once, while the data changes underneath."""

from __future__ import annotations

import typing as t
from concurrent.futures import ThreadPoolExecutor

from tap_openapi.mock_platform import MockPlatform

FAKE = "/api/v1/sync/fake"


def test_concurrent_clients_get_consistent_pages(connect: t.Any) -> None:
    with MockPlatform(rows=2000) as platform:
        clients = [connect(platform) for _ in range(6)]
        expected = [platform.expected_row(i, FAKE) for i in range(1, 2001)]

        def read_all(index: int) -> list[t.Any]:
            return clients[index % 6].all_rows(FAKE, 250)

        with ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(read_all, range(12)))
        assert all(result == expected for result in results)
        assert platform.stats["api_requests"] == 12 * 9

        def read_while_touching(index: int) -> int:
            if index % 4 == 0:
                platform.touch(range(index + 1, index + 50))
                return 0
            return len(clients[index % 6].all_rows(FAKE, 500))

        with ThreadPoolExecutor(max_workers=8) as pool:
            counts = list(pool.map(read_while_touching, range(16)))
        assert sorted(set(counts)) == [0, 2000]
