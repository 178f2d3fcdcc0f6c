"""SIGKILL either process mid-load, rerun from the last emitted STATE: no loss.

The test relays the tap's stdout to the target line by line, so it can kill
the tap or the target after an exact, seeded-random number of messages. The
STATE lines the target printed before it (or the tap) died are the only thing
carried over to the rerun, as an orchestrator would. Afterwards the table must
equal the platform's rows: none missing, none duplicated, every value equal.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import threading
import typing as t
from pathlib import Path

import pytest
from rel_helpers import (
    ENV,
    TAP,
    TARGET,
    compare_rows,
    count_rows,
    loaded_total,
    read_table,
    run_pipe,
    write_json,
)

from tap_openapi.mock_platform import MockPlatform

ROWS = 12_000
PAGE_SIZE = 500
BOOKMARK = "replication_key_value"


def _configs(platform: MockPlatform, url: str) -> tuple[dict[str, t.Any], ...]:
    tap = platform.tap_config(
        page_size=PAGE_SIZE, streams=[platform.tap_config()["streams"][1]]
    )
    # Small batches: the target commits and emits STATE many times per run.
    target = {"sqlalchemy_url": url, "batch_size_rows": 1500}
    return tap, target


def _killed_run(
    tmp_path: Path,
    tap_config: dict[str, t.Any],
    target_config: dict[str, t.Any],
    *,
    victim: str,
    kill_at: int,
) -> list[dict[str, t.Any]]:
    """Run the pipe, SIGKILL ``victim`` after ``kill_at`` messages; return STATEs."""
    tap_file = write_json(tmp_path / "killed-tap.json", tap_config)
    target_file = write_json(tmp_path / "killed-target.json", target_config)
    tap = subprocess.Popen(
        [TAP, "--config", str(tap_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=ENV,
    )
    with (tmp_path / "killed-target.err").open("w") as err:
        target = subprocess.Popen(
            [TARGET, "--config", str(target_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            env=ENV,
        )
    assert tap.stdout is not None
    assert target.stdin is not None
    assert target.stdout is not None
    states: list[dict[str, t.Any]] = []
    target_out = target.stdout

    def collect() -> None:
        # Everything the target prints on stdout is a STATE value, as it arrives.
        for raw in target_out:
            if raw.strip():
                states.append(json.loads(raw))

    reader = threading.Thread(target=collect, daemon=True)
    reader.start()
    sent = 0
    try:
        for line in tap.stdout:
            if sent == kill_at:
                if victim == "tap":
                    os.kill(tap.pid, signal.SIGKILL)
                    # The tap died mid-write: the target gets half a line.
                    target.stdin.write(line[: len(line) // 2])
                else:
                    os.kill(target.pid, signal.SIGKILL)
                break
            target.stdin.write(line)
            sent += 1
        else:
            pytest.fail(f"the tap finished before message {kill_at}")
    finally:
        # Without its peer the survivor ends: EOF for the target, EPIPE for the tap.
        for stream in (tap.stdout, target.stdin):
            with contextlib.suppress(BrokenPipeError):
                stream.close()
        target.wait(timeout=120)
        tap.wait(timeout=120)
        reader.join(timeout=30)
        target_out.close()
    assert target.returncode != 0 or victim == "tap"
    return states


#: Light faults for some runs: the retried pages must not shift the bookmarks.
FAULTS = {"fail_every": 9, "throttle_every": 14, "retry_after": 0, "drop_every": 19}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("victim", "seed", "dialect", "faults"),
    [
        pytest.param("target", 1, "sqlite", {}, id="kill-target-seed1-sqlite"),
        pytest.param(
            "target",
            2,
            "postgres",
            FAULTS,
            id="kill-target-seed2-postgres-faults",
            marks=pytest.mark.postgres,
        ),
        pytest.param("tap", 3, "sqlite", FAULTS, id="kill-tap-seed3-sqlite-faults"),
        pytest.param(
            "tap",
            4,
            "postgres",
            {},
            id="kill-tap-seed4-postgres",
            marks=pytest.mark.postgres,
        ),
        pytest.param(
            "target",
            5,
            "mysql",
            FAULTS,
            id="kill-target-seed5-mysql-faults",
            marks=pytest.mark.mysql,
        ),
        pytest.param(
            "tap", 6, "mysql", {}, id="kill-tap-seed6-mysql", marks=pytest.mark.mysql
        ),
    ],
)
def test_rerun_from_last_state_after_sigkill(
    victim: str,
    seed: int,
    dialect: str,
    faults: dict[str, t.Any],
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    url = str(request.getfixturevalue(f"{dialect}_url"))
    rng = random.Random(seed)
    # Past the first commit at the earliest, well before the end at the latest.
    kill_at = rng.randrange(2_000, ROWS - 1_500)
    with MockPlatform(rows=ROWS, **faults) as platform:
        tap_config, target_config = _configs(platform, url)
        states = _killed_run(
            tmp_path, tap_config, target_config, victim=victim, kill_at=kill_at
        )
        assert states, f"no STATE before the kill at message {kill_at}"
        last = states[-1]
        bookmark = last["bookmarks"]["fakewithts"].get(BOOKMARK)
        assert bookmark is not None, f"the last STATE has no bookmark: {last}"
        # STATE only after commit: every row before the bookmark is loaded.
        committed = [
            r
            for r in platform.rows_snapshot("fakewithts")
            if r["updated_at"] < bookmark
        ]
        assert committed, "the kill came before the first bookmark"
        loaded_ids = {r["id"] for r in read_table(url, "fakewithts")}
        assert {r["id"] for r in committed} <= loaded_ids, (
            f"STATE {bookmark} was emitted before rows under it were committed"
        )

        # The platform moves on while the pipe is down.
        touched = rng.sample(range(1, ROWS + 1), 25)
        platform.touch(touched)

        rerun = run_pipe(tmp_path, tap_config, target_config, state=last, name="rerun")
        assert (rerun.tap_rc, rerun.target_rc) == (0, 0), rerun.output[-3000:]
        expected = platform.rows_snapshot("fakewithts")
        problem = compare_rows(read_table(url, "fakewithts"), expected)
        assert problem is None, f"after kill at message {kill_at}: {problem}"
        assert count_rows(url, "fakewithts") == ROWS
        # The rerun resumed: it read exactly the rows at or after the bookmark
        # (the touched ones included), not the whole table again.
        pending = sum(1 for r in expected if r["updated_at"] >= bookmark)
        assert loaded_total(rerun.target_stderr, "fakewithts") == pending < ROWS
