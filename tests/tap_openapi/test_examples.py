"""The examples in examples/ run against a live mock platform and do their job."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tap_openapi.mock_platform import MockPlatform

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ROWS = 3000


@pytest.fixture(scope="module")
def mock() -> Iterator[MockPlatform]:
    with MockPlatform(rows=ROWS) as running:
        yield running


def run_example(
    name: str, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_call_api(mock: MockPlatform, tmp_path: Path) -> None:
    result = run_example("call_api.py", "--base-url", mock.url, cwd=tmp_path)
    lines = result.stdout.splitlines()
    answers = {
        (line.split()[0], line.split()[1]): json.loads(line.split(" -> ", 1)[1])
        for line in lines
    }
    created = answers[("POST", "/api/v1/items")]
    assert created["name"] == "notebook"
    item = f"/api/v1/items/{created['id']}"
    assert answers[("PUT", item)] == {
        "id": created["id"],
        "name": "notebook",
        "price": 4,
    }
    assert answers[("DELETE", item)]["price"] == 4
    assert answers[("GET", item)]["status"] == 404  # the last GET, after DELETE
    assert answers[("GET", "/api/v1/error/business")] == {"errCode": 40001}
    assert [line.split()[0] for line in lines] == [
        "POST",
        "GET",
        "PUT",
        "GET",
        "DELETE",
        "GET",
        "GET",
    ]


def test_call_api_reads_the_base_url_from_the_environment(
    mock: MockPlatform, tmp_path: Path
) -> None:
    result = run_example(
        "call_api.py", cwd=tmp_path, env={"OPENAPI_BASE_URL": mock.url}
    )
    assert result.stdout.startswith("POST")


def test_sync_to_csv(mock: MockPlatform, tmp_path: Path) -> None:
    result = run_example("sync_to_csv.py", "--base-url", mock.url, cwd=tmp_path)
    assert f"Wrote {ROWS} rows" in result.stdout
    with open(tmp_path / "fake.csv", newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    expected = mock.rows_snapshot("/api/v1/sync/fake")
    assert len(rows) == ROWS
    assert rows[0] == {key: str(value) for key, value in expected[0].items()}
    assert [int(row["id"]) for row in rows] == [row["id"] for row in expected]


@pytest.mark.parametrize(
    ("flags", "model"),
    [
        pytest.param([], "Fake", id="dataclass"),
        pytest.param(["--pydantic"], "FakeModel", id="pydantic"),
    ],
)
def test_sync_to_model(
    mock: MockPlatform, tmp_path: Path, flags: list[str], model: str
) -> None:
    result = run_example(
        "sync_to_model.py", "--base-url", mock.url, *flags, cwd=tmp_path
    )
    assert f"Read {ROWS} {model} objects" in result.stdout
    expected = mock.rows_snapshot("/api/v1/sync/fake")
    latest = max(expected, key=lambda row: (row["colSqlTime1"], -row["id"]))
    stamp = dt.datetime.strptime(latest["colSqlTime1"], "%Y-%m-%d %H:%M:%S")
    assert f"latest colSqlTime1: {stamp.isoformat()} (id {latest['id']})" in (
        result.stdout
    )
    assert f"first: {model}(id=1, colString1='str-1-1'" in result.stdout


@pytest.mark.parametrize(
    "mode", ["library", pytest.param("pipe", marks=pytest.mark.slow)]
)
def test_sync_to_database(mock: MockPlatform, tmp_path: Path, mode: str) -> None:
    url = f"sqlite:///{tmp_path / 'openapi.db'}"
    args = ["--base-url", mock.url, "--url", url, "--mode", mode]
    result = run_example("sync_to_database.py", *args, cwd=tmp_path)
    assert f"Table fake has {ROWS} rows ({mode} mode)" in result.stdout
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        ids = connection.execute(sa.text("SELECT id FROM fake ORDER BY id"))
        assert list(ids.scalars()) == list(range(1, ROWS + 1))
        row = connection.execute(
            sa.text('SELECT "colString1", "colInt4" FROM fake WHERE id = 42')
        ).one()
    engine.dispose()
    expected = mock.expected_row(42, "/api/v1/sync/fake")
    assert tuple(row) == (expected["colString1"], expected["colInt4"])
    if mode == "pipe":
        return  # re-runs are target-sqlalchemy's upserts, tested there
    # A second run leaves the same rows, not twice as many.
    result = run_example("sync_to_database.py", *args, cwd=tmp_path)
    assert f"Table fake has {ROWS} rows" in result.stdout


def test_configs_of_the_pipe_are_created_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util
    import stat

    spec = importlib.util.spec_from_file_location(
        "sync_to_database", EXAMPLES / "sync_to_database.py"
    )
    assert spec is not None
    assert spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    # Its dataclass looks its module up while the class is being built.
    monkeypatch.setitem(sys.modules, spec.name, example)
    spec.loader.exec_module(example)

    def no_chmod(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file must be born 0600, not fixed afterwards")

    monkeypatch.setattr(os, "chmod", no_chmod)
    monkeypatch.setattr(Path, "chmod", no_chmod)
    old_umask = os.umask(0)  # the mode alone must keep others out
    try:
        path = tmp_path / "tap.json"
        example.write_private(path, {"client_secret": "s3cret"})
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"client_secret": "s3cret"}
