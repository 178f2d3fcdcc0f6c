"""``make bench``: the pipeline against the floor, in one invocation.

For each size it starts the mock platform (a separate process), then times:

- ``floor-<db>``: benchmarks/floor.py, plain fetch + COPY/INSERT;
- ``pipe-<db>``: ``tap-openapi | target-sqlalchemy`` into a fresh schema;
- ``pipe-postgres-again``: the same rows upserted a second time;
- ``tap-only``: the tap into /dev/null; ``target-only-<db>``: the target fed
  from a file of the tap's output;
- ``*-latency``: the PostgreSQL floor, the PostgreSQL pipe and the tap alone
  with 100 ms added to every platform request; their last column compares
  each with the same case without latency.

It prints one table (wall seconds, rows/s, each process's peak RSS, ratio to
the floor of the same database) and writes it to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from measure import Measurement, run_pipeline
from tap_openapi.mock_platform.process import platform_process

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
POSTGRES = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)
MYSQL = os.environ.get("BENCH_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
LATENCY_MS = 100


def fresh_database(dialect: str, workdir: Path) -> str:
    """Empty the benchmark schema of ``dialect`` and return its URL."""
    if dialect == "sqlite":
        path = workdir / "bench.db"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    if dialect == "postgres":
        engine = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS bench CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA bench"))
        engine.dispose()
        url = sa.make_url(POSTGRES).update_query_dict(
            {"options": "-csearch_path=bench"}
        )
        return url.render_as_string(hide_password=False)
    engine = sa.create_engine(MYSQL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("DROP DATABASE IF EXISTS bench"))
        conn.execute(sa.text("CREATE DATABASE bench CHARACTER SET utf8mb4"))
    engine.dispose()
    return sa.make_url(MYSQL).set(database="bench").render_as_string(False)


def write_json(path: Path, payload: object) -> Path:
    path.write_text(json.dumps(payload, indent=2))
    return path


class Bench:
    """Runs the cases of one size and collects result rows."""

    def __init__(self, rows: int, workdir: Path, dialects: list[str]) -> None:
        self.rows = rows
        self.workdir = workdir
        self.dialects = dialects
        self.results: list[dict[str, object]] = []
        self.floors: dict[str, float] = {}
        self.walls: dict[str, float] = {}
        self.current_url: dict[str, str] = {}

    def record(self, case: str, m: Measurement, floor_key: str | None) -> None:
        floor = self.floors.get(floor_key or "")
        row: dict[str, object] = {
            "case": case,
            "rows": self.rows,
            "wall_s": round(m.wall_s, 2),
            "rows_per_s": round(self.rows / m.wall_s),
            "peak_rss_mb": m.peak_rss_mb,
            "ratio_to_floor": round(m.wall_s / floor, 2) if floor else None,
        }
        self.walls[case] = m.wall_s
        if case.endswith("-latency"):
            plain = self.walls.get(case.removesuffix("-latency"))
            row["ratio_to_no_latency"] = round(m.wall_s / plain, 2) if plain else None
        self.results.append(row)
        print(format_row(row), flush=True)

    def tap_config(self, base_url: str) -> Path:
        return write_json(
            self.workdir / "tap.json",
            {
                "base_url": base_url,
                "client_id": "demo-client",
                "client_secret": "demo-secret",
                "streams": [
                    {
                        "name": "fake",
                        "path": "/api/v1/sync/fake",
                        "primary_keys": ["id"],
                    }
                ],
            },
        )

    def target_config(self, url: str) -> Path:
        return write_json(self.workdir / "target.json", {"sqlalchemy_url": url})

    def floor(self, base_url: str, dialect: str, key: str) -> None:
        url = fresh_database(dialect, self.workdir)
        command = [sys.executable, str(ROOT / "benchmarks" / "floor.py")]
        command += ["--base-url", base_url, "--dialect", dialect, "--url", url]
        m = run_pipeline([("floor", command)])
        self.floors[key] = m.wall_s
        self.record(f"floor-{key}", m, key)

    def pipe(
        self, base_url: str, dialect: str, case: str, *, fresh: bool, floor: str
    ) -> None:
        url = (
            fresh_database(dialect, self.workdir)
            if fresh
            else self.current_url[dialect]
        )
        self.current_url[dialect] = url
        tap = [str(BIN / "tap-openapi"), "--config", str(self.tap_config(base_url))]
        target = [str(BIN / "target-sqlalchemy"), "--config"]
        target.append(str(self.target_config(url)))
        m = run_pipeline([("tap", tap), ("target", target)])
        self.record(case, m, floor)

    def tap_only(self, base_url: str, case: str, messages: Path | None) -> None:
        tap = [str(BIN / "tap-openapi"), "--config", str(self.tap_config(base_url))]
        m = run_pipeline([("tap", tap)], stdout_path=messages)
        self.record(case, m, None)

    def run(self, latency: bool) -> None:
        with platform_process(rows=self.rows) as base_url:
            for dialect in self.dialects:
                self.floor(base_url, dialect, dialect)
                case = f"pipe-{dialect}"
                self.pipe(base_url, dialect, case, fresh=True, floor=dialect)
                if dialect == "postgres":
                    case = "pipe-postgres-again"
                    self.pipe(base_url, dialect, case, fresh=False, floor=dialect)
            messages = self.workdir / "messages.jsonl"
            self.tap_only(base_url, "tap-only", messages)
            for dialect in self.dialects:
                url = fresh_database(dialect, self.workdir)
                target = [str(BIN / "target-sqlalchemy"), "--config"]
                target.append(str(self.target_config(url)))
                m = run_pipeline([("target", target)], stdin_path=messages)
                self.record(f"target-only-{dialect}", m, dialect)
            messages.unlink()
        if latency and "postgres" in self.dialects:
            with platform_process(rows=self.rows, latency_ms=LATENCY_MS) as base_url:
                self.floor(base_url, "postgres", "postgres-latency")
                case = "pipe-postgres-latency"
                self.pipe(
                    base_url, "postgres", case, fresh=True, floor="postgres-latency"
                )
                self.tap_only(base_url, "tap-only-latency", None)


HEADER = (
    f"{'case':<24} {'rows':>9} {'wall s':>8} {'rows/s':>9} "
    f"{'tap MB':>7} {'target MB':>9} {'x floor':>8} {'x no-latency':>12}"
)


def format_row(row: dict[str, object]) -> str:
    rss = dict(row["peak_rss_mb"])  # type: ignore[call-overload]
    tap = rss.get("tap", rss.get("floor", ""))
    ratio = row["ratio_to_floor"]
    latency = row.get("ratio_to_no_latency")
    return (
        f"{row['case']:<24} {row['rows']:>9} {row['wall_s']:>8} "
        f"{row['rows_per_s']:>9} {tap!s:>7} {rss.get('target', '')!s:>9} "
        f"{'' if ratio is None else ratio:>8} {'' if latency is None else latency:>12}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000", help="e.g. 10000,1000000")
    parser.add_argument("--dialects", default="postgres,mysql,sqlite")
    parser.add_argument("--no-latency", action="store_true")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    dialects = args.dialects.split(",")
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    print(HEADER)
    results = []
    try:
        for rows in sizes:
            bench = Bench(rows, workdir, dialects)
            bench.run(latency=not args.no_latency)
            results.extend(bench.results)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"pipeline-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"\nResults written to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
