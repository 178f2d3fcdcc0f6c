"""Fault injection: every Nth API request fails in a chosen way.

Only ``/api/`` requests count and only they get faults, so token requests and
the admin endpoints never disturb the sequence a test relies on.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass, field


class Fault(enum.Enum):
    """What goes wrong with one API request."""

    FAIL = "fail"  # HTTP 500
    THROTTLE = "throttle"  # HTTP 429 with Retry-After
    DROP = "drop"  # headers and part of the body, then the socket closes
    GARBAGE = "garbage"  # HTTP 200 with a truncated, non-JSON body


@dataclass
class FaultPlan:
    """Which API requests fail, and how.

    Request number ``n`` (from 1) gets a fault when ``n`` is a multiple of the
    fault's ``*_every`` (0 turns a fault off).

    When several apply, the first in the order fail, throttle, drop, garbage wins.
    """

    fail_every: int = 0
    throttle_every: int = 0
    drop_every: int = 0
    garbage_every: int = 0
    retry_after: int = 1
    latency_ms: float = 0.0
    _count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for name in ("fail_every", "throttle_every", "drop_every", "garbage_every"):
            if getattr(self, name) < 0:
                msg = f"{name} must be >= 0, got {getattr(self, name)}"
                raise ValueError(msg)

    def next(self) -> Fault | None:
        """Count one API request and return the fault it gets, if any."""
        with self._lock:
            self._count += 1
            n = self._count
        for every, fault in (
            (self.fail_every, Fault.FAIL),
            (self.throttle_every, Fault.THROTTLE),
            (self.drop_every, Fault.DROP),
            (self.garbage_every, Fault.GARBAGE),
        ):
            if every and n % every == 0:
                return fault
        return None

    def reset(self) -> None:
        """Restart the request count, so the next API request is number 1."""
        with self._lock:
            self._count = 0
