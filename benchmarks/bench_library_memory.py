"""Peak memory of the client library: iterate N mock rows into dataclasses.

The old SDK loaded whole results into memory (695 MB for 1,000,000 rows).
``OpenAPIClient.iter_rows`` streams page by page, so the peak RSS of a process
that turns 10,000 or 1,000,000 rows into dataclass instances should be the same
within a few MB. Each size runs in a fresh Python process (peak RSS only grows),
against a mock platform running as a separate process::

    python benchmarks/bench_library_memory.py [--sizes 10000,1000000]

A baseline row shows the same process importing everything and reading one
page, so the table separates the interpreter's own footprint from the rows'.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import resource
import subprocess
import sys
import time

from tap_openapi.mock_platform.process import platform_process

FAKE = "/api/v1/sync/fake"


@dataclasses.dataclass
class Fake:
    id: int
    colString1: str
    colString2: str
    colString3: str
    colString4: str
    colInt1: int
    colInt2: int
    colInt3: int
    colInt4: int
    colFloat1: float
    colFloat2: float
    colFloat3: float
    colFloat4: float
    colSqlTime1: dt.datetime
    colSqlTime2: dt.datetime
    colSqlTime3: dt.datetime
    colSqlTime4: dt.datetime


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def child(base_url: str, limit: int | None) -> None:
    """Iterate rows into Fake instances; print a JSON line with the numbers."""
    from tap_openapi import OpenAPIClient

    settings = {
        "base_url": base_url,
        "client_id": "demo-client",
        "client_secret": "demo-secret",
    }
    count = checksum = 0
    started = time.perf_counter()
    with OpenAPIClient(settings) as client:
        for row in client.iter_rows(FAKE, model=Fake):
            # Touch the typed values so the conversion cannot be skipped.
            checksum += row.colSqlTime1.second + row.id
            count += 1
            if limit is not None and count >= limit:
                break
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "rows": count,
                "seconds": seconds,
                "peak_rss_mb": peak_rss_mb(),
                "checksum": checksum,
            }
        )
    )


def measure(rows: int, limit: int | None = None) -> dict[str, float]:
    with platform_process(rows) as url:
        command = [sys.executable, __file__, "--child", url]
        if limit is not None:
            command += ["--limit", str(limit)]
        output = subprocess.run(
            command, capture_output=True, text=True, check=True, timeout=3600
        ).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--child", metavar="BASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.limit)
        return 0

    sizes = [int(size) for size in args.sizes.split(",")]
    results = [("baseline (1 page)", measure(2000, limit=2000))]
    for size in sizes:
        print(f"... {size:,} rows", file=sys.stderr, flush=True)
        results.append((f"{size:,} rows", measure(size)))

    print()
    print("Library memory: iter_rows(model=dataclass), one fresh process per size")
    print(f"{'run':<20} {'rows':>10} {'seconds':>9} {'rows/s':>9} {'peak RSS':>10}")
    for label, result in results:
        rate = result["rows"] / result["seconds"] if result["seconds"] else 0.0
        print(
            f"{label:<20} {int(result['rows']):>10,} {result['seconds']:>9.1f} "
            f"{rate:>9,.0f} {result['peak_rss_mb']:>7.1f} MB"
        )
    spread = max(r["peak_rss_mb"] for _, r in results[1:]) - min(
        r["peak_rss_mb"] for _, r in results[1:]
    )
    print(f"peak RSS spread across sizes: {spread:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
