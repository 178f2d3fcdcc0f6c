"""Helpers for the reliability suite: run the console scripts, digest tables.

The suite drives the real ``tap-openapi`` and ``target-sqlalchemy`` console
scripts as subprocesses against a mock platform on loopback and live databases,
then compares what landed with what the platform serves, row by row.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import json
import os
import re
import subprocess
import sys
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

BIN = Path(sys.executable).parent
TAP = str(BIN / "tap-openapi")
TARGET = str(BIN / "target-sqlalchemy")

#: Quiet third-party warnings so the last stderr line is the tool's own.
ENV = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONUNBUFFERED": "1"}

_SQL_TIME_LEN = len("2020-01-01 00:00:00")


def write_json(path: Path, payload: t.Any) -> Path:
    """Write ``payload`` as JSON to ``path`` and return the path."""
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def write_lines(path: Path, messages: t.Iterable[t.Any]) -> Path:
    """Write Singer messages (dicts, or raw strings as they are) one per line."""
    with path.open("w", encoding="utf-8") as out:
        for message in messages:
            text = message if isinstance(message, str) else json.dumps(message)
            out.write(text + "\n")
    return path


def run_tap(
    tmp_path: Path,
    config: dict[str, t.Any],
    *,
    env: dict[str, str] | None = None,
    name: str = "tap",
) -> subprocess.CompletedProcess[str]:
    """Run ``tap-openapi --config`` alone to the end; its stdout and stderr."""
    config_file = write_json(tmp_path / f"{name}.json", config)
    return subprocess.run(
        [TAP, "--config", str(config_file)],
        capture_output=True,
        text=True,
        env=ENV if env is None else env,
        timeout=60,
        check=False,
    )


@dataclass
class PipeRun:
    """The outcome of one ``tap-openapi | target-sqlalchemy`` run."""

    tap_rc: int
    target_rc: int
    tap_stderr: str
    target_stdout: str
    target_stderr: str
    states: list[dict[str, t.Any]] = field(default_factory=list)

    @property
    def output(self) -> str:
        """Everything both processes printed."""
        return self.tap_stderr + self.target_stdout + self.target_stderr


def parse_states(text: str) -> list[dict[str, t.Any]]:
    """The STATE values a target printed, one JSON object per line."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def run_pipe(
    tmp_path: Path,
    tap_config: dict[str, t.Any],
    target_config: dict[str, t.Any],
    *,
    state: dict[str, t.Any] | None = None,
    timeout: float = 180,
    name: str = "run",
    env: dict[str, str] | None = None,
) -> PipeRun:
    """Run ``tap-openapi | target-sqlalchemy`` to the end, as a shell pipe would."""
    tap_file = write_json(tmp_path / f"{name}-tap.json", tap_config)
    target_file = write_json(tmp_path / f"{name}-target.json", target_config)
    tap_cmd = [TAP, "--config", str(tap_file)]
    if state is not None:
        tap_cmd += ["--state", str(write_json(tmp_path / f"{name}-state.json", state))]
    env = {**ENV, **(env or {})}
    tap_err = tmp_path / f"{name}-tap.err"
    with tap_err.open("w") as err:
        tap = subprocess.Popen(tap_cmd, stdout=subprocess.PIPE, stderr=err, env=env)
        assert tap.stdout is not None
        try:
            target = subprocess.run(
                [TARGET, "--config", str(target_file)],
                stdin=tap.stdout,
                capture_output=True,
                text=True,
                env=env,
                timeout=timeout,
                check=False,
            )
        finally:
            tap.stdout.close()
            tap_rc = tap.wait(timeout=timeout)
    return PipeRun(
        tap_rc=tap_rc,
        target_rc=target.returncode,
        tap_stderr=tap_err.read_text(),
        target_stdout=target.stdout,
        target_stderr=target.stderr,
        states=parse_states(target.stdout),
    )


def loaded_total(target_stderr: str, stream: str) -> int:
    """The row count of ``stream`` in the target's closing ``Total:`` log line."""
    found = re.search(rf"Total: stream={re.escape(stream)} rows=(\d+)", target_stderr)
    assert found, f"no Total line for stream {stream!r} in the target's log"
    return int(found.group(1))


# --- digests -------------------------------------------------------------------


def canonical(value: t.Any) -> t.Any:
    """One comparable form per value, whatever the database or driver returned.

    Integers stay integers, numbers become floats, timestamps become naive UTC
    ``datetime`` ISO strings (the platform's ``"YYYY-MM-DD HH:MM:SS"`` included),
    booleans stay booleans.
    """
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float | decimal.Decimal):
        number = float(value)
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    if isinstance(value, str) and len(value) == _SQL_TIME_LEN and value[10] in " T":
        try:
            return canonical(datetime.datetime.fromisoformat(value))
        except ValueError:
            return value
    return value


def canonical_rows(
    rows: t.Iterable[t.Mapping[str, t.Any]], columns: t.Sequence[str]
) -> dict[t.Any, tuple[t.Any, ...]]:
    """Rows keyed by ``id``, each a tuple of the canonical values of ``columns``."""
    out: dict[t.Any, tuple[t.Any, ...]] = {}
    for row in rows:
        out[row["id"]] = tuple(canonical(row.get(c)) for c in columns)
    return out


def digest(rows: dict[t.Any, tuple[t.Any, ...]]) -> tuple[int, str]:
    """Row count and SHA-256 of every value of every row, in id order."""
    sha = hashlib.sha256()
    for key in sorted(rows):
        sha.update(json.dumps([key, *rows[key]], default=str).encode())
        sha.update(b"\n")
    return len(rows), sha.hexdigest()


def read_table(url: str, table: str) -> list[dict[str, t.Any]]:
    """Every row of ``table`` as a dict."""
    engine = sa.create_engine(url)
    try:
        reflected = sa.Table(table, sa.MetaData(), autoload_with=engine)
        for column in reflected.columns:
            # MySQL's DOUBLE reflects with asdecimal=True, rounding to 10 places.
            if isinstance(column.type, sa.Float):
                column.type.asdecimal = False
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(reflected))]
    finally:
        engine.dispose()


def count_rows(url: str, table: str) -> int:
    """``SELECT count(*)``, so duplicates in a key-less table would show."""
    engine = sa.create_engine(url)
    try:
        reflected = sa.Table(table, sa.MetaData(), autoload_with=engine)
        with engine.connect() as conn:
            stmt = sa.select(sa.func.count()).select_from(reflected)
            return int(conn.execute(stmt).scalar_one())
    finally:
        engine.dispose()


def compare_rows(
    actual: list[dict[str, t.Any]], expected: list[dict[str, t.Any]]
) -> str | None:
    """Return ``None`` if both hold the same rows, else a description of how not.

    The columns compared are the platform's (``expected``'s); the target's
    ``_sdc_*`` columns are ignored.
    """
    if not expected:
        return None if not actual else f"{len(actual)} rows where none expected"
    columns = sorted(expected[0])
    if len({r["id"] for r in actual}) != len(actual):
        return "duplicate ids in the table"
    got = canonical_rows(actual, columns)
    want = canonical_rows(expected, columns)
    if digest(got) == digest(want):
        return None
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    differing = sorted(k for k in set(want) & set(got) if want[k] != got[k])
    lines = [
        f"table has {len(got)} rows, platform {len(want)}",
        f"missing ids ({len(missing)}): {missing[:10]}",
        f"unexpected ids ({len(extra)}): {extra[:10]}",
        f"differing ids ({len(differing)}): {differing[:10]}",
    ]
    if differing:
        key = differing[0]
        diffs = [
            (c, w, g)
            for c, w, g in zip(columns, want[key], got[key], strict=True)
            if w != g
        ]
        lines.append(f"id {key} (column, platform, table): {diffs[:5]}")
    return "; ".join(lines)
