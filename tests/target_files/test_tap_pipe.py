"""tap-openapi piped into target-files, against the live mock platform."""

from __future__ import annotations

import csv
import datetime
import json
import subprocess
import sys
import typing as t
from pathlib import Path

import openpyxl
import pytest
from files_samples import files_in

pytest.importorskip("tap_openapi.tap", reason="tap-openapi is not installed")

BIN = Path(sys.executable).parent


def pipe(platform: t.Any, tmp_path: Path, **target_config: t.Any) -> str:
    """Run ``tap-openapi | target-files``; return the target's stdout."""
    tap_config = tmp_path / "tap.json"
    tap_config.write_text(json.dumps(platform.tap_config()))
    target_config_path = tmp_path / "target.json"
    target_config_path.write_text(json.dumps(target_config))
    with subprocess.Popen(
        [str(BIN / "tap-openapi"), "--config", str(tap_config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    ) as tap:
        target = subprocess.run(
            [str(BIN / "target-files"), "--config", str(target_config_path)],
            stdin=tap.stdout,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert tap.wait(timeout=120) == 0
    assert target.returncode == 0, target.stderr[-2000:]
    return target.stdout


def csv_text(value: t.Any) -> str:
    if isinstance(value, str) and len(value) == 19 and value[10] == " ":
        return value.replace(" ", "T")  # a platform date-time, as ISO 8601
    return repr(value) if isinstance(value, float) else str(value)


def test_tap_to_csv(platform: t.Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    stdout = pipe(platform, tmp_path, output_path=str(out), encoding="utf-8-sig")

    assert files_in(out) == ["fake.csv", "fakewithts.csv"]
    for stream in ("fake", "fakewithts"):
        expected = platform.rows_snapshot(f"/api/v1/sync/{stream}")
        with (out / f"{stream}.csv").open(encoding="utf-8-sig", newline="") as f:
            header, *rows = list(csv.reader(f))
        assert header == list(expected[0])
        assert len(rows) == len(expected) == 10_000
        by_id = {int(row[0]): row for row in rows}
        for source in expected:
            assert by_id[source["id"]] == [csv_text(v) for v in source.values()]
    # The bookmark comes out only after the files are in place.
    states = [json.loads(line) for line in stdout.splitlines()]
    assert states[-1]["bookmarks"]["fakewithts"]["replication_key_value"] > 0


@pytest.mark.slow
def test_tap_to_xlsx(platform: t.Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    pipe(platform, tmp_path, output_path=str(out), format="xlsx")

    assert files_in(out) == ["fake.xlsx", "fakewithts.xlsx"]
    workbook = openpyxl.load_workbook(out / "fake.xlsx", read_only=True)
    rows = list(workbook["fake"].iter_rows(values_only=True))
    workbook.close()
    expected = {r["id"]: r for r in platform.rows_snapshot("/api/v1/sync/fake")}
    assert len(rows) == 10_001
    header = rows[0]
    for row in rows[1:]:
        source = expected[row[0]]
        for column, cell in zip(header, row, strict=True):
            value = source[column]
            if column.startswith("colInt"):
                assert cell == (str(value) if value >= 10**15 else value)
            elif column.startswith("colSqlTime"):
                assert cell == datetime.datetime.fromisoformat(value)
            else:
                assert cell == value
