"""Singer messages shaped like the platform's sample rows, for target-files tests.

The rows mimic ``/api/v1/sync/fake``: ``id``, ``colString1..4``, ``colInt1..4``
(63-bit), ``colFloat1..4`` and ``colSqlTime1..4`` (``YYYY-MM-DD HH:MM:SS``),
deterministic per id, with Chinese text, nulls and edge values mixed in.
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

STREAM = "fake"
INT63_MAX = 2**63 - 1

SAMPLE_SCHEMA: dict[str, t.Any] = {
    "type": "object",
    "properties": {
        "id": {"type": ["integer"]},
        **{f"colString{i}": {"type": ["string", "null"]} for i in range(1, 5)},
        **{f"colInt{i}": {"type": ["integer", "null"]} for i in range(1, 5)},
        **{f"colFloat{i}": {"type": ["number", "null"]} for i in range(1, 5)},
        **{
            f"colSqlTime{i}": {"type": ["string", "null"], "format": "date-time"}
            for i in range(1, 5)
        },
    },
}
SAMPLE_COLUMNS = list(SAMPLE_SCHEMA["properties"])


def sample_row(row_id: int) -> dict[str, t.Any]:
    """One deterministic sample row, with edge values on some ids."""
    seed = row_id * 2_654_435_761 % 2**32
    row: dict[str, t.Any] = {"id": row_id}
    row["colString1"] = f"name-{row_id}"
    row["colString2"] = f"中文数据 {row_id}"  # Chinese text
    row["colString3"] = 'quote " comma , newline \n end' if row_id % 5 == 0 else ""
    row["colString4"] = None if row_id % 7 == 0 else f"s{seed}"
    row["colInt1"] = INT63_MAX - row_id  # needs all 63 bits
    row["colInt2"] = -(INT63_MAX - row_id)
    row["colInt3"] = 10**15 - 2 + row_id % 3  # around Excel's 15-digit limit
    row["colInt4"] = None if row_id % 4 == 0 else seed
    row["colFloat1"] = seed / 7
    row["colFloat2"] = 0.1 + 0.2  # 0.30000000000000004: repr must round-trip
    row["colFloat3"] = -1.5e-300
    row["colFloat4"] = None if row_id % 6 == 0 else 1e21 + row_id
    day = 1 + row_id % 28
    row["colSqlTime1"] = f"2024-02-{day:02d} 13:45:{row_id % 60:02d}"
    row["colSqlTime2"] = "1999-12-31 23:59:59"
    row["colSqlTime3"] = f"2030-06-{day:02d} 00:00:00"
    row["colSqlTime4"] = None if row_id % 3 == 0 else "2024-01-01 00:00:00"
    return row


def schema_message(
    stream: str = STREAM,
    schema: dict[str, t.Any] | None = None,
    key_properties: list[str] | None = None,
) -> dict[str, t.Any]:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": schema or SAMPLE_SCHEMA,
        "key_properties": ["id"] if key_properties is None else key_properties,
    }


def record_message(record: dict[str, t.Any], stream: str = STREAM) -> dict[str, t.Any]:
    return {"type": "RECORD", "stream": stream, "record": record}


def sample_messages(rows: int, stream: str = STREAM) -> list[dict[str, t.Any]]:
    """A SCHEMA, ``rows`` RECORDs and a STATE for one stream."""
    return [
        schema_message(stream),
        *(record_message(sample_row(i), stream) for i in range(1, rows + 1)),
        {"type": "STATE", "value": {"bookmarks": {stream: {"done": rows}}}},
    ]


def to_lines(messages: t.Iterable[dict[str, t.Any] | str]) -> str:
    """Singer input text; strings are taken as raw (possibly broken) lines."""
    return "".join(
        (m if isinstance(m, str) else json.dumps(m, ensure_ascii=False)) + "\n"
        for m in messages
    )


def files_in(folder: Path) -> list[str]:
    """Every file name under ``folder`` (hidden ones included), sorted."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
