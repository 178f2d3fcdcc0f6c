"""target-files writing CSV: headers, exact values, settings, schema changes."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import typing as t
from pathlib import Path

import pytest
from files_samples import (
    SAMPLE_COLUMNS,
    SAMPLE_SCHEMA,
    STREAM,
    files_in,
    record_message,
    sample_messages,
    sample_row,
    schema_message,
    to_lines,
)

from target_files import writer_base
from target_files.errors import OutputExistsError, SettingsError
from target_files.target import TargetFiles

ROWS = 250


def read_csv(path: Path, encoding: str = "utf-8", **fmt: t.Any) -> list[list[str]]:
    with path.open(encoding=encoding, newline="") as handle:
        return list(csv.reader(handle, **fmt))


def expected_field(column: str, value: t.Any) -> str:
    """The CSV text the README promises for a sample value."""
    if value is None:
        return ""
    if column.startswith("colSqlTime"):
        return value.replace(" ", "T")
    if isinstance(value, float):
        return repr(value)
    return str(value)


def test_sample_rows_round_trip(run_target: t.Callable[..., t.Any], out_dir: Path):
    run_target(sample_messages(ROWS), format="csv")

    assert files_in(out_dir) == ["fake.csv"]
    header, *rows = read_csv(out_dir / "fake.csv")
    assert header == SAMPLE_COLUMNS
    assert len(rows) == ROWS
    for row_id, fields in enumerate(rows, start=1):
        source = sample_row(row_id)
        assert fields == [expected_field(c, source[c]) for c in SAMPLE_COLUMNS]
        # Lossless: 63-bit integers exact, floats round-trip, times ISO 8601.
        assert int(fields[5]) == source["colInt1"]
        assert int(fields[6]) == source["colInt2"]
        assert float(fields[10]) == source["colFloat2"]
        assert float(fields[11]) == source["colFloat3"]
        assert datetime.datetime.fromisoformat(fields[13]) == datetime.datetime(
            2024, 2, 1 + row_id % 28, 13, 45, row_id % 60
        )
    assert rows[4][3] == 'quote " comma , newline \n end'  # id 5 survives quoting


def test_booleans_objects_and_nulls(
    run_target: t.Callable[..., t.Any], out_dir: Path
) -> None:
    schema = {
        "properties": {
            "id": {"type": "integer"},
            "flag": {"type": ["boolean", "null"]},
            "meta": {"type": ["object", "null"]},
            "tags": {"type": ["array", "null"]},
            "day": {"type": ["string", "null"], "format": "date"},
            "when": {"type": ["string", "null"], "format": "date-time"},
            "any": {},
        }
    }
    records = [
        {"id": 1, "flag": True, "meta": {"a": [1, 2**70]}, "tags": ["x", "中"],
         "day": "2024-05-06", "when": "2024-05-06T07:08:09.5+08:00", "any": 1.5},
        {"id": 2, "flag": False, "meta": None, "tags": [], "day": None,
         "when": "not a date", "any": "text"},
        {"id": 3},
    ]  # fmt: skip
    run_target(
        [schema_message("misc", schema), *(record_message(r, "misc") for r in records)]
    )

    header, *rows = read_csv(out_dir / "misc.csv")
    assert header == ["id", "flag", "meta", "tags", "day", "when", "any"]
    assert rows[0] == [
        "1",
        "true",
        '{"a":[1,1180591620717411303424]}',
        '["x","中"]',
        "2024-05-06",
        "2024-05-06T07:08:09.5+08:00",  # already ISO 8601: kept as it came
        "1.5",
    ]
    # Unparseable date-times stay as they are: nothing is lost.
    assert rows[1] == ["2", "false", "", "[]", "", "not a date", "text"]
    assert rows[2] == ["3", "", "", "", "", "", ""]


def test_utf8_sig_puts_a_bom_for_excel(
    run_target: t.Callable[..., t.Any], out_dir: Path
) -> None:
    run_target(sample_messages(3), encoding="utf-8-sig")

    raw = (out_dir / "fake.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfid,colString1,")
    assert "中文数据 1".encode() in raw
    assert read_csv(out_dir / "fake.csv", encoding="utf-8-sig")[1][2] == "中文数据 1"


def test_chinese_text_in_gb18030(
    run_target: t.Callable[..., t.Any], out_dir: Path
) -> None:
    run_target(sample_messages(2), encoding="gb18030")

    raw = (out_dir / "fake.csv").read_bytes()
    assert "中文数据 2".encode("gb18030") in raw
    assert read_csv(out_dir / "fake.csv", encoding="gb18030")[2][2] == "中文数据 2"


@pytest.mark.parametrize(
    ("settings", "first_line", "second_line_start"),
    [
        pytest.param(
            {"delimiter": ";"},
            "id;colString1;colString2",
            "1;name-1;中文数据 1;;",
            id="semicolon",
        ),
        pytest.param(
            {"delimiter": "\t", "quote_style": "all"},
            '"id"\t"colString1"',
            '"1"\t"name-1"\t',
            id="tab-quote-all",
        ),
        pytest.param(
            {"quote_style": "nonnumeric"},
            '"id","colString1"',
            '1,"name-1","中文数据 1","",',
            id="quote-nonnumeric",
        ),
    ],
)
def test_delimiter_and_quote_style(
    run_target: t.Callable[..., t.Any],
    out_dir: Path,
    settings: dict[str, str],
    first_line: str,
    second_line_start: str,
) -> None:
    run_target(sample_messages(2), **settings)

    lines = (out_dir / "fake.csv").read_bytes().decode().split("\r\n")
    assert lines[0].startswith(first_line)
    assert lines[1].startswith(second_line_start)
    rows = read_csv(out_dir / "fake.csv", delimiter=settings.get("delimiter", ","))
    assert rows[0] == SAMPLE_COLUMNS
    assert int(rows[1][5]) == sample_row(1)["colInt1"]


def test_schema_change_starts_a_new_part_and_loses_nothing(
    run_target: t.Callable[..., t.Any], out_dir: Path
) -> None:
    wider = json.loads(json.dumps(SAMPLE_SCHEMA))
    wider["properties"]["colNew"] = {"type": ["string", "null"]}
    messages = [
        schema_message(),
        *(record_message(sample_row(i)) for i in range(1, 4)),
        schema_message(schema=wider),
        *(record_message({**sample_row(i), "colNew": f"n{i}"}) for i in range(4, 6)),
        # The same columns again (key order aside) continue the current part.
        schema_message(schema=json.loads(json.dumps(wider))),
        record_message({**sample_row(6), "colNew": "n6"}),
    ]
    run_target(messages)

    assert files_in(out_dir) == ["fake-part2.csv", "fake.csv"]
    first = read_csv(out_dir / "fake.csv")
    second = read_csv(out_dir / "fake-part2.csv")
    assert first[0] == SAMPLE_COLUMNS
    assert [r[0] for r in first[1:]] == ["1", "2", "3"]
    assert second[0] == [*SAMPLE_COLUMNS, "colNew"]
    assert [(r[0], r[-1]) for r in second[1:]] == [
        ("4", "n4"),
        ("5", "n5"),
        ("6", "n6"),
    ]


def test_several_streams_and_timestamped_names(
    run_target: t.Callable[..., t.Any], out_dir: Path
) -> None:
    messages = [*sample_messages(2, "orders"), *sample_messages(3, "users/eu")]
    run_target(messages, file_naming="{date}/{stream_name}-{timestamp}")

    names = files_in(out_dir)
    assert len(names) == 2
    pattern = r"\d{4}-\d\d-\d\d/(orders|users_eu)-\d{8}T\d{6}\.csv"
    assert all(re.fullmatch(pattern, name) for name in names), names
    sizes = {n.split("/")[1].split("-")[0]: len(read_csv(out_dir / n)) for n in names}
    assert sizes == {"orders": 3, "users_eu": 4}


def test_state_is_emitted_after_the_files_are_in_place(
    run_target: t.Callable[..., t.Any],
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_target(sample_messages(5))

    out = capsys.readouterr().out.strip().splitlines()
    assert [json.loads(line) for line in out] == [{"bookmarks": {"fake": {"done": 5}}}]
    assert files_in(out_dir) == ["fake.csv"]


def test_overwrite_false_refuses_before_writing(
    run_target: t.Callable[..., t.Any], out_dir: Path
) -> None:
    out_dir.mkdir()
    (out_dir / "fake.csv").write_text("keep me")

    with pytest.raises(OutputExistsError, match=r"fake\.csv already exists.*overwrite"):
        run_target(sample_messages(3), overwrite=False)

    assert (out_dir / "fake.csv").read_text() == "keep me"
    assert files_in(out_dir) == ["fake.csv"]


def test_overwrite_true_replaces(
    run_target: t.Callable[..., t.Any], out_dir: Path
) -> None:
    out_dir.mkdir()
    (out_dir / "fake.csv").write_text("old")

    run_target(sample_messages(3))

    assert len(read_csv(out_dir / "fake.csv")) == 4


def test_unknown_file_naming_placeholder_is_a_settings_error(
    run_target: t.Callable[..., t.Any],
) -> None:
    with pytest.raises(SettingsError, match=r"file_naming.*\{table\}.*\{stream_name\}"):
        run_target([], file_naming="{table}")


def test_record_fields_outside_the_schema_are_dropped_with_a_warning(
    run_target: t.Callable[..., t.Any],
    out_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    run_target([schema_message(), record_message({**sample_row(1), "extra": 1})])

    assert read_csv(out_dir / "fake.csv")[0] == SAMPLE_COLUMNS
    assert "record field 'extra' is not in the schema" in caplog.text


def test_info_log_names_file_rows_and_rate(
    run_target: t.Callable[..., t.Any],
    out_dir: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(writer_base, "PROGRESS_EVERY_ROWS", 3)
    caplog.set_level("INFO")
    run_target(sample_messages(7))

    opened = f"Stream '{STREAM}': writing {out_dir / '.fake.csv.part'}"
    assert opened in caplog.text
    finished = re.search(
        r"Stream 'fake': finished (\S+): 7 rows in [\d.]+ s \(\d+ rows/s\)",
        caplog.text,
    )
    assert finished is not None
    assert finished.group(1) == str(out_dir / "fake.csv")
    progress = re.findall(
        r"Stream 'fake': (\d+) rows written to \S+ \(\d+ rows/s\)", caplog.text
    )
    assert progress == ["3", "6"]


def test_rows_are_written_before_the_input_ends(out_dir: Path) -> None:
    """Constant memory: rows reach the temporary file while input still flows."""
    part = out_dir / ".fake.csv.part"
    seen_on_disk: list[int] = []

    class Input(io.StringIO):
        def __iter__(self) -> t.Iterator[str]:
            for number, line in enumerate(io.StringIO(self.getvalue())):
                if number == 3000:
                    seen_on_disk.append(part.stat().st_size)
                yield line

    target = TargetFiles(config={"output_path": str(out_dir)})
    target.run(Input(to_lines(sample_messages(4000))))

    assert len(read_csv(out_dir / "fake.csv")) == 4001
    # After 3,000 of 4,000 rows, all but the write buffers (256 KiB + 8 KiB of
    # text) is already on disk.
    final_size = (out_dir / "fake.csv").stat().st_size
    assert seen_on_disk[0] > final_size * 3 // 4 - 2**18 - 2**13 > 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2024-05-06 07:08:09", "2024-05-06T07:08:09", id="platform"),
        pytest.param(
            "2024-05-06 07:08:09.123456789Z",
            "2024-05-06T07:08:09.123456789Z",
            id="spaced-nanoseconds",
        ),
        pytest.param(
            "2024-05-06T07:08:09.123456789Z",
            "2024-05-06T07:08:09.123456789Z",
            id="nanoseconds-kept",
        ),
        pytest.param(
            "2024-05-06 07:08:09+05:30", "2024-05-06T07:08:09+05:30", id="offset"
        ),
        pytest.param(
            "2024-05-06T07:08:09.5", "2024-05-06T07:08:09.5", id="short-fraction"
        ),
        pytest.param("2024-02-30 07:08:09", "2024-02-30 07:08:09", id="no-such-day"),
        pytest.param("2024-05-06 24:00:00", "2024-05-06 24:00:00", id="hour-24"),
        pytest.param("2024-05-06 07:08", "2024-05-06 07:08", id="no-seconds"),
        pytest.param("20240506T070809", "20240506T070809", id="basic-format"),
        pytest.param("2024-05-06", "2024-05-06", id="date-only"),
        pytest.param("not a date", "not a date", id="text"),
    ],
)
def test_date_times_lose_no_digit(
    run_target: t.Callable[..., t.Any], out_dir: Path, value: str, expected: str
) -> None:
    schema = {"properties": {"when": {"type": "string", "format": "date-time"}}}
    run_target(
        [
            schema_message("t", schema, key_properties=[]),
            record_message({"when": value}, "t"),
        ]
    )

    assert read_csv(out_dir / "t.csv") == [["when"], [expected]]


@pytest.mark.parametrize(
    ("quote_style", "line"),
    [
        pytest.param("minimal", "1,,", id="minimal"),
        pytest.param("all", '"1","",""', id="all"),
        pytest.param("nonnumeric", '1,"",""', id="nonnumeric"),
    ],
)
def test_null_and_empty_text_look_the_same_by_default(
    run_target: t.Callable[..., t.Any], out_dir: Path, quote_style: str, line: str
) -> None:
    """What the README says: without null_value, every quote style merges them."""
    schema = {"properties": {"id": {"type": "integer"}, "a": {}, "b": {}}}
    run_target(
        [
            schema_message("t", schema),
            record_message({"id": 1, "a": None, "b": ""}, "t"),
        ],
        quote_style=quote_style,
    )

    assert (out_dir / "t.csv").read_bytes().split(b"\r\n")[1] == line.encode()


def test_null_value_marks_nulls_apart_from_empty_text(
    run_target: t.Callable[..., t.Any],
    out_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    schema = {
        "properties": {
            "id": {"type": "integer"},
            "text": {"type": ["string", "null"]},
            "when": {"type": ["string", "null"], "format": "date-time"},
        }
    }
    records = [
        {"id": 1, "text": None, "when": None},
        {"id": 2, "text": "", "when": "2024-05-06 07:08:09"},
        {"id": 3},
        {"id": 4, "text": "\\N"},  # a text that cannot be told from null
        {"id": 5, "text": "\\N"},
    ]
    run_target(
        [schema_message("t", schema), *(record_message(r, "t") for r in records)],
        null_value="\\N",
    )

    assert (out_dir / "t.csv").read_bytes() == (
        b"id,text,when\r\n"
        b"1,\\N,\\N\r\n"
        b"2,,2024-05-06T07:08:09\r\n"
        b"3,\\N,\\N\r\n"
        b"4,\\N,\\N\r\n"
        b"5,\\N,\\N\r\n"
    )
    clash = [r.getMessage() for r in caplog.records if "equals setting" in r.message]
    assert clash == [
        "Stream 't': a text value in column 'text' equals setting null_value '\\\\N', "
        "so readers will take it for null; choose a null_value the data does not "
        "contain (further cases are not reported)"
    ]


def test_null_value_loads_into_postgresql_as_null(
    run_target: t.Callable[..., t.Any], out_dir: Path, postgres_url: str
) -> None:
    import sqlalchemy as sa

    schema = {
        "properties": {"id": {"type": "integer"}, "text": {"type": ["string", "null"]}}
    }
    records = [{"id": 1, "text": None}, {"id": 2, "text": ""}, {"id": 3, "text": "x"}]
    run_target(
        [schema_message("t", schema), *(record_message(r, "t") for r in records)],
        null_value="\\N",
    )

    engine = sa.create_engine(postgres_url)
    try:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("CREATE TABLE t (id integer, text text)")
            with (out_dir / "t.csv").open(encoding="utf-8", newline="") as handle:
                cursor.copy_expert(  # type: ignore[attr-defined]
                    "COPY t FROM STDIN WITH (FORMAT csv, HEADER true, NULL '\\N')",
                    handle,
                )
            cursor.execute("SELECT id, text FROM t ORDER BY id")
            assert cursor.fetchall() == [(1, None), (2, ""), (3, "x")]
        finally:
            raw.close()
    finally:
        engine.dispose()


def test_fields_outside_the_schema_are_counted_with_bounded_warnings(
    run_target: t.Callable[..., t.Any],
    out_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    schema = {"properties": {"id": {"type": "integer"}}}
    records = [{"id": i, f"x{i:02d}": i, "extra": i} for i in range(30)]
    run_target(
        [schema_message("t", schema), *(record_message(r, "t") for r in records)]
    )

    assert len(read_csv(out_dir / "t.csv")) == 31
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    named = [w for w in warnings if "is not in the schema; its values" in w]
    assert len(named) == 20  # "extra", then x00..x18
    assert named[0] == (
        "Stream 't': record field 'extra' is not in the schema; its values are not "
        "written"
    )
    assert warnings[20:] == [
        "Stream 't': more record fields are not in the schema (such as 'x19'); they "
        "are not written and no longer named",
        "Stream 't': 60 values of record fields outside the schema were not written "
        "(fields: extra, " + ", ".join(f"x{i:02d}" for i in range(19)) + " and others)",
    ]
