"""STATE messages are emitted only once the records before them are committed."""

from __future__ import annotations

import contextlib
import json
import typing as t

import sqlalchemy as sa
from tsa_helpers import Harness, record_msg, schema_msg, state_msg

from target_sqlalchemy.target import TargetSQLAlchemy


class CheckingStdout:
    """A stdout that, for every STATE line, counts the committed rows."""

    def __init__(self, engine: sa.Engine, table: str) -> None:
        self.engine = engine
        self.table = table
        self.seen: list[tuple[dict[str, t.Any], int]] = []
        self._buffer = ""

    def write(self, text: str) -> int:
        self._buffer += text
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            if line.strip():
                with self.engine.connect() as conn:
                    count = conn.execute(
                        sa.select(sa.func.count()).select_from(sa.table(self.table))
                    ).scalar_one()
                self.seen.append((json.loads(line), count))
        return len(text)

    def flush(self) -> None:
        pass


def test_state_follows_commit(harness: Harness) -> None:
    messages: list[dict[str, t.Any]] = [
        schema_msg("t", {"id": {"type": "integer"}}, ["id"])
    ]
    for i in range(1, 26):
        messages.append(record_msg("t", {"id": i}))
        if i % 5 == 0:
            messages.append(state_msg({"bookmarks": {"t": i}}))
    path = harness.file(messages)
    out = CheckingStdout(harness.engine, "t")
    target = TargetSQLAlchemy(config=harness.config(batch_size_rows=7))
    with path.open() as infile, contextlib.redirect_stdout(out):  # type: ignore[type-var]
        target.listen(file_input=infile)
    assert out.seen, "no STATE emitted"
    for state, committed in out.seen:
        assert committed >= state["bookmarks"]["t"]
    assert out.seen[-1] == ({"bookmarks": {"t": 25}}, 25)
    # Intermediate checkpoints are emitted as batches commit, not only at the end.
    assert len(out.seen) > 1


def test_state_not_emitted_when_load_fails(sqlite_harness: Harness) -> None:
    proc = sqlite_harness.cli(
        [
            schema_msg(
                "t", {"id": {"type": "integer"}, "n": {"type": "integer"}}, ["id"]
            ),
            record_msg("t", {"id": 1, "n": 1}),
            state_msg({"bookmarks": {"t": 1}}),
            record_msg("t", {"id": 2, "n": 2**70}),
            state_msg({"bookmarks": {"t": 2}}),
        ]
    )
    assert proc.returncode == 1
    assert '"t": 2' not in proc.stdout
