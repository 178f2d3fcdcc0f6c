"""Everything one mock platform instance knows: data, tokens, faults, counters."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from tap_openapi.mock_platform.data import SampleTable
from tap_openapi.mock_platform.faults import FaultPlan
from tap_openapi.mock_platform.items import ItemStore
from tap_openapi.mock_platform.oauth import AuthorizationServer, Credentials, TokenStore


class Stats:
    """Thread-safe request counters, read as :class:`collections.Counter` copies.

    The keys are listed in :attr:`tap_openapi.mock_platform.MockPlatform.stats`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, *keys: str, amount: int = 1) -> None:
        """Count ``amount`` (one event by default) under each key."""
        with self._lock:
            for key in keys:
                self._counts[key] += amount

    def snapshot(self) -> Counter[str]:
        """Return a copy; a missing key reads as 0."""
        with self._lock:
            return Counter(self._counts)

    def reset(self) -> None:
        """Set every counter back to zero."""
        with self._lock:
            self._counts.clear()


@dataclass
class PlatformState:
    """The state the HTTP handler serves from."""

    table: SampleTable
    tokens: TokenStore
    faults: FaultPlan
    credentials: Credentials = field(default_factory=Credentials)
    items: ItemStore = field(default_factory=ItemStore)
    stats: Stats = field(default_factory=Stats)

    @property
    def auth(self) -> AuthorizationServer:
        """The authorization server over this state's credentials and tokens."""
        return AuthorizationServer(self.credentials, self.tokens, self.stats.add)
