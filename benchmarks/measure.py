"""Run commands (alone or piped) and measure wall time and each peak RSS.

Each process is started under a tiny Python wrapper that reports its child's
``ru_maxrss`` to a file, so the figure is the kernel's own peak, not a sample.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import typing as t
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Measurement:
    """What one run of a pipeline took."""

    wall_s: float
    peak_rss_mb: dict[str, float] = field(default_factory=dict)


def _wrapped(command: list[str], report: Path) -> list[str]:
    return [sys.executable, __file__, "--report", str(report), "--", *command]


def run_pipeline(
    steps: list[tuple[str, list[str]]],
    *,
    stdin_path: Path | None = None,
    stdout_path: Path | None = None,
    env: dict[str, str] | None = None,
) -> Measurement:
    """Run ``steps`` piped into each other; raise if any step fails.

    Args:
        steps: ``(label, argv)`` pairs, the first one's stdout feeding the next.
        stdin_path: A file for the first step's stdin (default: nothing).
        stdout_path: Where the last step's stdout goes (default: /dev/null).
        env: The environment of every step.

    Returns:
        The wall time of the whole pipe and each step's peak RSS in MB.
    """
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    processes: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    with contextlib.ExitStack() as files:
        first_in: t.Any = subprocess.DEVNULL
        if stdin_path:
            first_in = files.enter_context(open(stdin_path, "rb"))
        last_out = files.enter_context(open(stdout_path or os.devnull, "wb"))
        started = time.perf_counter()
        previous = first_in
        for index, (label, command) in enumerate(steps):
            report = workdir / f"{index}.json"
            is_last = index == len(steps) - 1
            process = subprocess.Popen(
                _wrapped(command, report),
                stdin=previous,
                stdout=last_out if is_last else subprocess.PIPE,
                stderr=files.enter_context(open(workdir / f"{index}.log", "wb")),
                env=env,
            )
            if index > 0 and processes[-1][1].stdout is not None:
                # The parent must not hold the pipe, or EOF never reaches the reader.
                processes[-1][1].stdout.close()
            previous = process.stdout
            processes.append((label, process, report))
        failures = [label for label, process, _ in processes if process.wait() != 0]
    wall = time.perf_counter() - started
    if failures:
        logs = "\n".join(
            f"--- {label} ---\n"
            + (workdir / f"{i}.log").read_text(errors="replace")[-3000:]
            for i, (label, _p, _r) in enumerate(processes)
        )
        msg = f"benchmark step(s) failed: {', '.join(failures)}\n{logs}"
        raise RuntimeError(msg)
    result = Measurement(wall_s=wall)
    for label, _process, report in processes:
        result.peak_rss_mb[label] = json.loads(report.read_text())["peak_rss_mb"]
    return result


def _main() -> int:
    # Wrapper mode: run the command, then write its peak RSS.
    args = sys.argv[1:]
    report = Path(args[args.index("--report") + 1])
    command = args[args.index("--") + 1 :]
    code = subprocess.call(command)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    report.write_text(json.dumps({"peak_rss_mb": round(peak_kb / 1024, 1)}))
    return code


if __name__ == "__main__":
    sys.exit(_main())
