"""Fault injection: every Nth API request fails in a chosen way.

Only ``/api/`` requests count and only they get faults, so token requests and
the admin endpoints never disturb the sequence a test relies on; with
``token_faults`` the token endpoint draws from the same sequence too.
"""

from __future__ import annotations

import enum
import threading
import typing as t
from dataclasses import dataclass, field
from http import HTTPStatus


class Fault(enum.Enum):
    """What goes wrong with one API request."""

    FAIL = "fail"  # an HTTP 5xx (fail_status, 500 by default)
    THROTTLE = "throttle"  # HTTP 429 with Retry-After
    DROP = "drop"  # headers and part of the body, then the socket closes
    GARBAGE = "garbage"  # HTTP 200 with a truncated, non-JSON body
    RESET = "reset"  # no answer: the connection is reset (TCP RST)


class Planned(t.NamedTuple):
    """What happens to one request: its fault, if any, and a delay first."""

    fault: Fault | None
    delay_seconds: float


_EVERY = ("fail_every", "throttle_every", "drop_every", "garbage_every", "reset_every")


@dataclass
class FaultPlan:
    """Which API requests fail, and how.

    Request number ``n`` (from 1) gets a fault when ``n`` is a multiple of the
    fault's ``*_every`` (0 turns a fault off). When several apply, the first
    in the order fail, throttle, drop, garbage, reset wins.

    Attributes:
        fail_every: Answer every Nth request with ``fail_status``.
        throttle_every: Answer every Nth request with 429 and ``Retry-After``.
        drop_every: Cut every Nth answer mid-body and close the connection.
        garbage_every: Answer every Nth request with 200 and a non-JSON body.
        reset_every: Reset the connection (TCP RST) instead of answering
            every Nth request.
        fail_status: The status of a ``fail`` fault: 500 to 599 (e.g. 502,
            503 and 504, as proxies and load balancers send them).
        retry_after: The ``Retry-After`` of throttled answers, in seconds.
        latency_ms: Delay added to every API request.
        slow_first: Delay the first N API requests (since the last reset)
            by ``slow_ms`` more, e.g. to make exactly one request time out.
        slow_ms: The extra delay of the first ``slow_first`` requests.
        token_faults: Count token requests too, and give them the faults and
            delays of API requests.
    """

    fail_every: int = 0
    throttle_every: int = 0
    drop_every: int = 0
    garbage_every: int = 0
    reset_every: int = 0
    fail_status: int = HTTPStatus.INTERNAL_SERVER_ERROR
    retry_after: int = 1
    latency_ms: float = 0.0
    slow_first: int = 0
    slow_ms: float = 0.0
    token_faults: bool = False
    _count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for name in (*_EVERY, "slow_first"):
            if getattr(self, name) < 0:
                msg = f"{name} must be >= 0, got {getattr(self, name)}"
                raise ValueError(msg)
        if not 500 <= self.fail_status <= 599:
            msg = f"fail_status must be an HTTP 5xx status, got {self.fail_status}"
            raise ValueError(msg)

    def next(self) -> Planned:
        """Count one request and return its fault, if any, and its delay."""
        with self._lock:
            self._count += 1
            n = self._count
        delay = self.latency_ms
        if n <= self.slow_first:
            delay += self.slow_ms
        for every, fault in (
            (self.fail_every, Fault.FAIL),
            (self.throttle_every, Fault.THROTTLE),
            (self.drop_every, Fault.DROP),
            (self.garbage_every, Fault.GARBAGE),
            (self.reset_every, Fault.RESET),
        ):
            if every and n % every == 0:
                return Planned(fault, delay / 1000)
        return Planned(None, delay / 1000)

    def reset(self) -> None:
        """Restart the request count, so the next API request is number 1."""
        with self._lock:
            self._count = 0
