"""Run tap-openapi in-process or as its console script and read its messages."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import typing as t
from dataclasses import dataclass
from pathlib import Path

from tap_openapi.tap import TapOpenAPI

TAP_SCRIPT = str(Path(sys.executable).with_name("tap-openapi"))

#: The fakewithts schema the tests give when they want no sample request.
FAKE_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": ["integer", "null"]},
        "colString1": {"type": ["string", "null"]},
    },
}


@dataclass
class Output:
    """The Singer messages of one run."""

    messages: list[dict[str, t.Any]]

    def of_type(self, kind: str) -> list[dict[str, t.Any]]:
        return [m for m in self.messages if m["type"] == kind]

    def records(self, stream: str) -> list[dict[str, t.Any]]:
        return [
            m["record"]
            for m in self.messages
            if m["type"] == "RECORD" and m["stream"] == stream
        ]

    def ids(self, stream: str) -> list[int]:
        return [r["id"] for r in self.records(stream)]

    @property
    def last_state(self) -> dict[str, t.Any]:
        return dict(self.of_type("STATE")[-1]["value"])

    def bookmark(self, stream: str) -> t.Any:
        return self.last_state["bookmarks"][stream].get("replication_key_value")


def parse(text: bytes | str) -> Output:
    return Output([json.loads(line) for line in text.splitlines() if line.strip()])


def run_tap(
    config: dict[str, t.Any],
    *,
    state: dict[str, t.Any] | None = None,
    catalog: dict[str, t.Any] | None = None,
    before_sync: t.Callable[[TapOpenAPI], object] | None = None,
) -> Output:
    """Sync in-process and return what the tap wrote to stdout."""
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    with contextlib.redirect_stdout(stdout):
        tap = TapOpenAPI(config=config, state=state, catalog=catalog)
        if before_sync is not None:
            before_sync(tap)
        tap.sync_all()
        t.cast("t.Any", tap.message_writer).flush()
    return parse(raw.getvalue())


def run_cli(
    *args: str, config: dict[str, t.Any], tmp_path: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the ``tap-openapi`` console script with ``config`` in a file."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return subprocess.run(
        [TAP_SCRIPT, "--config", str(path), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class FakeTime:
    """A clock that only the retry policy's sleeps move forward.

    Install it with :meth:`install`: ``tap_openapi.retry`` then sleeps on it,
    and draws every jittered wait at its upper bound (the ceiling), so the
    waits of a test are known in advance and no test really sleeps.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []
        self.ceilings: list[float] = []
        self.on_sleep: t.Callable[[], None] = lambda: None

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        self.on_sleep()

    def jitter(self, ceiling: float) -> float:
        self.ceilings.append(ceiling)
        return ceiling

    def install(self, monkeypatch: t.Any) -> FakeTime:
        from tap_openapi import retry

        monkeypatch.setattr(retry, "clock", self.clock)
        monkeypatch.setattr(retry, "sleep", self.sleep)
        monkeypatch.setattr(retry, "full_jitter", self.jitter)
        return self


def retry_warnings(records: t.Iterable[t.Any]) -> list[str]:
    """The WARNING lines of retries among captured log records."""
    return [
        r.getMessage()
        for r in records
        if r.levelname == "WARNING" and r.getMessage().startswith("Retrying")
    ]


def streams(*names: str, **extra: t.Any) -> list[dict[str, t.Any]]:
    """Stream items for the mock's sample APIs (``fake``, ``fakewithts``)."""
    items = []
    for name in names:
        item: dict[str, t.Any] = {
            "name": name,
            "path": f"/api/v1/sync/{name}",
            "primary_keys": ["id"],
        }
        if name == "fakewithts":
            item["replication_key"] = "updated_at"
        item.update(extra)
        items.append(item)
    return items
