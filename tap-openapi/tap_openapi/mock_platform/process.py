"""Run the mock platform as a child process (for the demo and the benchmarks).

A separate process keeps the mock's CPU use out of the measured process, which
an in-process :class:`MockPlatform` thread would not.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import typing as t
from collections.abc import Iterator

READY_PREFIX = "mock platform ready at "


@contextlib.contextmanager
def platform_process(rows: int, **flags: t.Any) -> Iterator[str]:
    """Start ``python -m tap_openapi.mock_platform`` and yield its base URL.

    Args:
        rows: Rows served by the sample APIs.
        **flags: More command-line flags, ``latency_ms=100`` becoming
            ``--latency-ms 100``.

    Yields:
        The platform's base URL, e.g. ``http://127.0.0.1:41234``.
    """
    command = [sys.executable, "-m", "tap_openapi.mock_platform", "--port", "0"]
    command += ["--rows", str(rows)]
    for name, value in flags.items():
        command += ["--" + name.replace("_", "-"), str(value)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line.startswith(READY_PREFIX):
            msg = f"mock platform did not start (said {line!r})"
            raise RuntimeError(msg)
        yield line[len(READY_PREFIX) :].strip()
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
