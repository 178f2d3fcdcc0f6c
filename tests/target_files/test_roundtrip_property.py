"""Property: whatever the values, a CSV file reads back to the same values."""

from __future__ import annotations

import csv
import io
import json
import tempfile
import typing as t
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from target_files.target import TargetFiles

SCHEMA = {
    "properties": {
        "big": {"type": ["integer", "null"]},
        "ratio": {"type": ["number", "null"]},
        "text": {"type": ["string", "null"]},
        "flag": {"type": ["boolean", "null"]},
    }
}

records = st.lists(
    st.fixed_dictionaries(
        {
            "big": st.none() | st.integers(min_value=-(2**100), max_value=2**100),
            "ratio": st.none() | st.floats(allow_nan=False, allow_infinity=False),
            "text": st.text(
                st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
            ),
            "flag": st.none() | st.booleans(),
        }
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=records, delimiter=st.sampled_from([",", ";", "\t", "|"]))
def test_csv_reads_back_exactly(
    records: list[dict[str, t.Any]], delimiter: str
) -> None:
    lines = [{"type": "SCHEMA", "stream": "s", "schema": SCHEMA, "key_properties": []}]
    lines += [{"type": "RECORD", "stream": "s", "record": r} for r in records]
    text = "".join(json.dumps(m) + "\n" for m in lines)
    with tempfile.TemporaryDirectory() as folder:
        config = {"output_path": folder, "delimiter": delimiter}
        TargetFiles(config=config).run(io.StringIO(text))
        with (Path(folder) / "s.csv").open(encoding="utf-8", newline="") as f:
            header, *rows = list(csv.reader(f, delimiter=delimiter))

    assert header == ["big", "ratio", "text", "flag"]
    assert len(rows) == len(records)
    for (big, ratio, text_field, flag), record in zip(rows, records, strict=True):
        assert big == ("" if record["big"] is None else str(record["big"]))
        assert (None if ratio == "" else float(ratio)) == record["ratio"]
        assert text_field == record["text"]
        assert flag == {None: "", True: "true", False: "false"}[record["flag"]]
