"""target-files against the stock target-csv and a plain csv.writer floor.

For each size (``--sizes 100000,1000000``) it writes a file of Singer messages
shaped like the platform's ``/api/v1/sync/fake`` rows (the mock platform's own
row function, and the schema tap-openapi infers), then feeds that file to:

- ``floor``: this script in ``--floor`` mode, msgspec + ``csv.writer``, the
  least any Python CSV writer must do;
- ``target-files csv`` and ``target-files xlsx``;
- ``target-csv (stock)``: meltanolabs-target-csv from Meltano's install at
  .meltano/loaders/target-csv (skipped, with a note, if it is not there).

Every run is a fresh process under benchmarks/measure.py, which reports the
kernel's peak RSS (``ru_maxrss``). Output rows are counted to check each run.
It prints a table (seconds, rows/s, peak RSS, time ratio to the floor) and
writes the same as JSON to benchmarks/results/.

    .venv/bin/python benchmarks/bench_files.py --sizes 100000,1000000
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import platform
import shutil
import sys
import tempfile
import typing as t
from pathlib import Path

import msgspec

from measure import run_pipeline

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STOCK_TARGET_CSV = ROOT / ".meltano/loaders/target-csv/venv/bin/target-csv"
STREAM = "fake"

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": ["integer", "null"]},
        **{f"colString{k}": {"type": ["string", "null"]} for k in range(1, 5)},
        **{f"colInt{k}": {"type": ["integer", "null"]} for k in range(1, 5)},
        **{f"colFloat{k}": {"type": ["number", "null"]} for k in range(1, 5)},
        **{
            f"colSqlTime{k}": {"type": ["string", "null"], "format": "date-time"}
            for k in range(1, 5)
        },
    },
}


def row_function() -> t.Callable[[int], dict[str, t.Any]]:
    """The mock platform's row builder, or a stand-in of the same shape."""
    try:
        from tap_openapi.mock_platform.data import make_row
    except ImportError:

        def make_row(row_id: int, version: int = 1) -> dict[str, t.Any]:
            h = [(row_id * p) % 2**63 for p in (0x9E3779B97F4A7C15, 31, 37, 41)]
            return {
                "id": row_id,
                **{f"colString{k}": f"str-{row_id}-{k}" for k in range(1, 5)},
                **{f"colInt{k}": h[k - 1] for k in range(1, 5)},
                **{f"colFloat{k}": (h[k - 1] & 0xFFFFFF) / 1024 for k in range(1, 5)},
                **{f"colSqlTime{k}": "2024-05-06 07:08:09" for k in range(1, 5)},
            }

    return make_row


def write_messages(path: Path, rows: int) -> None:
    """Write SCHEMA, ``rows`` RECORDs and a STATE, as the tap would."""
    make_row = row_function()
    encode = msgspec.json.Encoder().encode
    with path.open("wb") as out:
        schema = {"type": "SCHEMA", "stream": STREAM, "schema": SCHEMA}
        out.write(encode({**schema, "key_properties": ["id"]}) + b"\n")
        for row_id in range(1, rows + 1):
            message = {"type": "RECORD", "stream": STREAM, "record": make_row(row_id)}
            out.write(encode(message) + b"\n")
        state = {"bookmarks": {STREAM: {"rows": rows}}}
        out.write(encode({"type": "STATE", "value": state}) + b"\n")


def floor(messages: Path, output: Path) -> None:
    """The floor: decode each line, write RECORDs with csv.writer, nothing else."""
    decode = msgspec.json.Decoder().decode
    with messages.open("rb") as lines, output.open("w", newline="") as out:
        writer = csv.writer(out)
        columns: list[str] = []
        for line in lines:
            message = decode(line)
            if message["type"] == "SCHEMA":
                columns = list(message["schema"]["properties"])
                writer.writerow(columns)
            elif message["type"] == "RECORD":
                record = message["record"]
                writer.writerow([record.get(c) for c in columns])


def csv_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def xlsx_rows(path: Path) -> int:
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        return sum(sheet.max_row - 1 for sheet in workbook.worksheets)
    finally:
        workbook.close()


def candidates(workdir: Path, messages: Path) -> list[dict[str, t.Any]]:
    """Each thing to time: label, command, where its output lands."""

    def config(name: str, values: dict[str, t.Any]) -> str:
        path = workdir / f"{name}.json"
        path.write_text(json.dumps(values))
        return str(path)

    out = workdir / "out"
    result = [
        {
            "label": "floor (msgspec + csv.writer)",
            "command": [
                sys.executable,
                __file__,
                "--floor",
                str(messages),
                str(out / "floor" / "fake.csv"),
            ],
            "output": out / "floor" / "fake.csv",
            "count": csv_rows,
        }
    ]
    for file_format, count in (("csv", csv_rows), ("xlsx", xlsx_rows)):
        folder = out / f"target-files-{file_format}"
        settings = {"format": file_format, "output_path": str(folder)}
        result.append(
            {
                "label": f"target-files {file_format}",
                "command": [
                    str(BIN / "target-files"),
                    "--config",
                    config(f"files-{file_format}", settings),
                ],
                "output": folder / f"fake.{file_format}",
                "count": count,
            }
        )
    if STOCK_TARGET_CSV.exists():
        folder = out / "target-csv"
        settings = {
            "output_path": str(folder),
            "file_naming_scheme": "{stream_name}.csv",
        }
        result.append(
            {
                "label": "target-csv (stock)",
                "command": [
                    str(STOCK_TARGET_CSV),
                    "--config",
                    config("stock", settings),
                ],
                "output": folder / "fake.csv",
                "count": csv_rows,
            }
        )
    return result


def bench(sizes: list[int], workdir: Path, keep: bool) -> list[dict[str, t.Any]]:
    results = []
    for rows in sizes:
        messages = workdir / f"messages-{rows}.jsonl"
        if not messages.exists():
            print(f"writing {rows:,} sample messages to {messages}", flush=True)
            write_messages(messages, rows)
        for candidate in candidates(workdir, messages):
            shutil.rmtree(candidate["output"].parent, ignore_errors=True)
            candidate["output"].parent.mkdir(parents=True)
            print(f"{rows:>9,} rows  {candidate['label']} ...", flush=True)
            measured = run_pipeline(
                [(candidate["label"], candidate["command"])],
                stdin_path=messages,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            written = candidate["count"](candidate["output"])
            if written != rows:
                msg = f"{candidate['label']} wrote {written:,} rows, expected {rows:,}"
                raise RuntimeError(msg)
            results.append(
                {
                    "rows": rows,
                    "label": candidate["label"],
                    "seconds": round(measured.wall_s, 2),
                    "rows_per_s": round(rows / measured.wall_s),
                    "peak_rss_mb": measured.peak_rss_mb[candidate["label"]],
                    "output_mb": round(candidate["output"].stat().st_size / 2**20, 1),
                }
            )
            if not keep:
                shutil.rmtree(candidate["output"].parent, ignore_errors=True)
        if not keep:
            messages.unlink()
    for result in results:
        floor_s = next(
            r["seconds"]
            for r in results
            if r["rows"] == result["rows"] and r["label"].startswith("floor")
        )
        result["time_vs_floor"] = round(result["seconds"] / floor_s, 2)
    return results


def print_table(results: list[dict[str, t.Any]], notes: list[str]) -> None:
    header = (
        f"{'rows':>10}  {'candidate':<30} {'seconds':>8} {'rows/s':>9} "
        f"{'peak RSS MB':>12} {'output MB':>10} {'x floor':>8}"
    )
    print()
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['rows']:>10,}  {r['label']:<30} {r['seconds']:>8.2f} "
            f"{r['rows_per_s']:>9,} {r['peak_rss_mb']:>12.1f} {r['output_mb']:>10.1f} "
            f"{r['time_vs_floor']:>8.2f}"
        )
    for note in notes:
        print(f"note: {note}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000", help="comma-separated row counts")
    parser.add_argument(
        "--workdir", type=Path, help="scratch folder (default: a new temp folder)"
    )
    parser.add_argument("--keep", action="store_true", help="keep inputs and outputs")
    parser.add_argument("--floor", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        floor(*args.floor)
        return 0

    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-files-"))
    workdir.mkdir(parents=True, exist_ok=True)
    notes = []
    if not STOCK_TARGET_CSV.exists():
        notes.append(
            f"stock target-csv skipped: {STOCK_TARGET_CSV} is missing "
            "(`meltano install loader target-csv` puts it there)"
        )
    load_before = os.getloadavg()
    try:
        results = bench(sizes, workdir, args.keep)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    load = {"before": load_before, "after": os.getloadavg()}
    if max(load["before"][0], load["after"][0]) > (os.cpu_count() or 1):
        notes.append(
            f"the machine was busy (1-minute load {load['before'][0]:.1f} before, "
            f"{load['after'][0]:.1f} after): times are noisy, peak RSS is not"
        )
    print_table(results, notes)

    results_dir = ROOT / "benchmarks" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = results_dir / f"bench_files-{stamp}.json"
    path.write_text(
        json.dumps(
            {
                "benchmark": "bench_files",
                "at": stamp,
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                    "load_average": load,
                },
                "notes": notes,
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"results written to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
