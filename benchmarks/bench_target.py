"""Time target-sqlalchemy alone, reading a Singer file of sample rows.

Usage:
    python benchmarks/bench_target.py --rows 100000 --url postgresql+psycopg2://...
    python benchmarks/bench_target.py --input messages.singer --url sqlite:///x.db

Without --input, a file of the platform's 17-column sample rows is generated
(same shape as /api/v1/sync/fake). Each run loads the file twice (the second
run upserts the same rows) and prints a table: seconds, rows/s and peak RSS of
the target process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
TARGET = Path(sys.executable).with_name("target-sqlalchemy")

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        **{f"colString{i}": {"type": ["null", "string"]} for i in range(1, 5)},
        **{f"colInt{i}": {"type": ["null", "integer"]} for i in range(1, 5)},
        **{f"colFloat{i}": {"type": ["null", "number"]} for i in range(1, 5)},
        **{
            f"colSqlTime{i}": {"type": ["null", "string"], "format": "date-time"}
            for i in range(1, 5)
        },
    },
}


def sample_row(i: int) -> dict[str, object]:
    row: dict[str, object] = {"id": i}
    for k in range(1, 5):
        row[f"colString{k}"] = f"string-{k}-{i:08d}-" + "x" * (k * 5)
        row[f"colInt{k}"] = (i * 2654435761 * k) % (2**62) + 2**61
        row[f"colFloat{k}"] = i / (k + 0.5)
        sec = (i * 37 + k) % 86400
        row[f"colSqlTime{k}"] = (
            f"2024-{1 + i % 12:02d}-{1 + i % 28:02d} "
            f"{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}"
        )
    return row


def write_sample(path: Path, rows: int, stream: str) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(
            json.dumps(
                {
                    "type": "SCHEMA",
                    "stream": stream,
                    "schema": SCHEMA,
                    "key_properties": ["id"],
                }
            )
            + "\n"
        )
        for i in range(1, rows + 1):
            out.write(
                json.dumps(
                    {"type": "RECORD", "stream": stream, "record": sample_row(i)}
                )
                + "\n"
            )
            if i % 10000 == 0:
                out.write(
                    json.dumps({"type": "STATE", "value": {"bookmarks": {stream: i}}})
                    + "\n"
                )


def run_target(config: dict[str, object], singer: Path) -> tuple[float, float, int]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as cfg:
        json.dump(config, cfg)
    started = time.perf_counter()
    script = (
        "import resource, runpy, sys;"
        "sys.argv=['target-sqlalchemy','--config',sys.argv[1],'--input',sys.argv[2]];"
        "import atexit;"
        "atexit.register(lambda: print('PEAK_RSS_KB', resource.getrusage("
        "resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr));"
        "from target_sqlalchemy.target import TargetSQLAlchemy;"
        "TargetSQLAlchemy.cli()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, cfg.name, str(singer)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    os.unlink(cfg.name)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(proc.returncode)
    peak = 0
    for line in proc.stderr.splitlines():
        if line.startswith("PEAK_RSS_KB"):
            peak = int(line.split()[1])
    states = sum(1 for line in proc.stdout.splitlines() if line.strip())
    return seconds, peak / 1024, states


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000", help="comma-separated sizes")
    parser.add_argument("--url", default="sqlite:///output/bench.db")
    parser.add_argument("--input", type=Path, help="Singer file to load instead")
    parser.add_argument("--stream", default="fake")
    args = parser.parse_args()

    _ = resource  # peak RSS is read inside the child process
    sizes = [0] if args.input else [int(s) for s in args.rows.split(",")]
    print(f"target-sqlalchemy into {sa.make_url(args.url).render_as_string()}")
    print(f"{'rows':>9} {'run':>8} {'seconds':>8} {'rows/s':>9} {'peak MB':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            singer = args.input or Path(tmp) / f"sample-{size}.singer"
            if not args.input:
                write_sample(singer, size, args.stream)
            count = size or sum(1 for line in singer.open() if '"RECORD"' in line)
            engine = sa.create_engine(args.url)
            sa.Table(args.stream, sa.MetaData()).drop(engine, checkfirst=True)
            engine.dispose()
            config = {"sqlalchemy_url": args.url}
            for run in ("load", "upsert"):
                seconds, peak, _states = run_target(config, singer)
                print(
                    f"{count:>9} {run:>8} {seconds:>8.2f} "
                    f"{count / seconds:>9.0f} {peak:>8.1f}"
                )


if __name__ == "__main__":
    main()
