"""target-files writing XLSX: typed cells, sheet splits, sheet names."""

from __future__ import annotations

import datetime
import json
import typing as t
from pathlib import Path

import openpyxl
import pytest
from files_samples import (
    SAMPLE_COLUMNS,
    SAMPLE_SCHEMA,
    files_in,
    record_message,
    sample_messages,
    sample_row,
    schema_message,
)

from target_files import xlsx_writer
from target_files.cells import parse_datetime
from target_files.naming import sheet_name

ROWS = 60


def load_rows(path: Path) -> dict[str, list[tuple[t.Any, ...]]]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        return {
            sheet.title: list(sheet.iter_rows(values_only=True))
            for sheet in workbook.worksheets
        }
    finally:
        workbook.close()


def expected_cell(column: str, value: t.Any) -> t.Any:
    """The typed cell the README promises for a sample value."""
    if column.startswith("colSqlTime") and value is not None:
        return datetime.datetime.fromisoformat(value)
    if isinstance(value, int) and abs(value) >= 10**15:
        return str(value)  # beyond Excel's 15 digits: text, exact
    return value


def test_sheet_row_limit_is_excels() -> None:
    assert xlsx_writer.SHEET_DATA_ROW_LIMIT == 1_048_575 == 2**20 - 1


def test_sample_rows_as_typed_cells(
    run_target: t.Callable[..., t.Any], out_dir: Path
) -> None:
    run_target(sample_messages(ROWS), format="xlsx")

    assert files_in(out_dir) == ["fake.xlsx"]
    sheets = load_rows(out_dir / "fake.xlsx")
    assert list(sheets) == ["fake"]
    header, *rows = sheets["fake"]
    assert list(header) == SAMPLE_COLUMNS
    assert len(rows) == ROWS
    for row_id, cells in enumerate(rows, start=1):
        source = sample_row(row_id)
        # openpyxl pads rows with trailing None up to the sheet's width.
        assert list(cells) == [expected_cell(c, source[c]) for c in SAMPLE_COLUMNS]
    first = rows[0]
    assert type(first[0]) is int  # id: a number
    assert first[5] == "9223372036854775806"  # 63-bit: text, every digit kept
    assert first[7] == 10**15 - 1
    assert type(first[7]) is int
    assert rows[1][7] == str(10**15)  # 16 digits: text
    assert type(first[9]) is float
    assert first[2] == "中文数据 1"


def test_cell_types_and_formats(
    run_target: t.Callable[..., t.Any], out_dir: Path
) -> None:
    schema = {
        "properties": {
            "flag": {"type": ["boolean", "null"]},
            "meta": {"type": ["object", "null"]},
            "when": {"type": ["string", "null"], "format": "date-time"},
            "day": {"type": ["string", "null"], "format": "date"},
            "text": {"type": ["string", "null"]},
            "ratio": {"type": ["number", "null"]},
        }
    }
    records = [
        {"flag": True, "meta": {"a": [1, 2**70]}, "when": "2024-05-06T07:08:09+02:00",
         "day": "2024-05-06", "text": "=1+1", "ratio": 1e308},
        {"flag": False, "when": "yesterday", "day": "1850-01-01", "text": None},
    ]  # fmt: skip
    run_target(
        [
            schema_message("misc", schema, key_properties=[]),
            *(record_message(r, "misc") for r in records),
        ],
        format="xlsx",
    )

    workbook = openpyxl.load_workbook(out_dir / "misc.xlsx")
    sheet = workbook["misc"]
    assert [c.value for c in sheet[1]] == list(schema["properties"])
    flag, meta, when, day, text, ratio = sheet[2]
    assert flag.value is True
    assert flag.data_type == "b"
    assert meta.value == '{"a":[1,1180591620717411303424]}'
    # Excel has no time zones: aware values are stored in UTC.
    assert when.value == datetime.datetime(2024, 5, 6, 5, 8, 9)
    assert when.number_format == "yyyy-mm-dd hh:mm:ss"
    assert day.value == datetime.datetime(2024, 5, 6)
    assert day.number_format == "yyyy-mm-dd"
    assert text.value == "=1+1"
    assert text.data_type == "s"
    assert ratio.value == 1e308
    flag, meta, when, day, text, ratio = sheet[3]
    assert flag.value is False
    assert (meta.value, text.value, ratio.value) == (None, None, None)
    assert when.value == "yesterday"  # not a date: kept as text
    assert day.value == "1850-01-01"  # before Excel's calendar: text
    assert sheet.freeze_panes == "A2"


def test_stream_continues_on_new_sheets_past_the_row_limit(
    run_target: t.Callable[..., t.Any],
    out_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(xlsx_writer, "SHEET_DATA_ROW_LIMIT", 3)

    run_target(sample_messages(7), format="xlsx")

    sheets = load_rows(out_dir / "fake.xlsx")
    assert list(sheets) == ["fake", "fake_2", "fake_3"]
    for rows in sheets.values():
        assert list(rows[0]) == SAMPLE_COLUMNS  # header repeated
    ids = [[row[0] for row in rows[1:]] for rows in sheets.values()]
    assert ids == [[1, 2, 3], [4, 5, 6], [7]]


def test_schema_change_starts_a_new_sheet_and_loses_nothing(
    run_target: t.Callable[..., t.Any], out_dir: Path
) -> None:
    wider = json.loads(json.dumps(SAMPLE_SCHEMA))
    wider["properties"]["colNew"] = {"type": ["integer", "null"]}
    messages = [
        schema_message(),
        *(record_message(sample_row(i)) for i in range(1, 3)),
        schema_message(schema=wider),
        *(record_message({**sample_row(i), "colNew": i * 10}) for i in range(3, 5)),
    ]
    run_target(messages, format="xlsx")

    assert files_in(out_dir) == ["fake.xlsx"]
    sheets = load_rows(out_dir / "fake.xlsx")
    assert list(sheets) == ["fake", "fake_2"]
    assert list(sheets["fake"][0]) == SAMPLE_COLUMNS
    assert [r[0] for r in sheets["fake"][1:]] == [1, 2]
    assert list(sheets["fake_2"][0]) == [*SAMPLE_COLUMNS, "colNew"]
    assert [(r[0], r[-1]) for r in sheets["fake_2"][1:]] == [(3, 30), (4, 40)]


@pytest.mark.parametrize(
    ("stream", "number", "expected"),
    [
        pytest.param("fake", 1, "fake", id="plain"),
        pytest.param("fake", 12, "fake_12", id="numbered"),
        pytest.param("a/b:c*d?[e]\\f", 1, "a_b_c_d__e__f", id="forbidden-chars"),
        pytest.param("x" * 40, 1, "x" * 31, id="long"),
        pytest.param("x" * 40, 2, "x" * 29 + "_2", id="long-numbered"),
        pytest.param("'quoted'", 1, "quoted", id="apostrophes"),
        pytest.param("History", 1, "History_", id="reserved"),
    ],
)
def test_sheet_names_are_valid(stream: str, number: int, expected: str) -> None:
    assert sheet_name(stream, number) == expected


def test_workbook_with_unsafe_stream_name_opens(
    run_target: t.Callable[..., t.Any], out_dir: Path
) -> None:
    stream = "public/销售订单:2024*[archive]-with-a-very-long-name"
    run_target(sample_messages(2, stream), format="xlsx")

    (name,) = files_in(out_dir)
    assert name == "public_销售订单_2024_[archive]-with-a-very-long-name.xlsx"
    sheets = load_rows(out_dir / name)
    expected_sheet = "public_销售订单_2024__archive_-with-a-very-long-name"[:31]
    assert list(sheets) == [expected_sheet]
    assert len(sheets[expected_sheet]) == 3


UTC = datetime.timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "2024-05-06 07:08:09", datetime.datetime(2024, 5, 6, 7, 8, 9),
            id="platform-form",
        ),
        pytest.param(
            "2024-05-06T07:08:09.123-05:30",
            datetime.datetime(
                2024, 5, 6, 7, 8, 9, 123000,
                tzinfo=datetime.timezone(-datetime.timedelta(hours=5, minutes=30)),
            ),
            id="millis-and-offset",
        ),
        pytest.param("2024-02-30 07:08:09", None, id="no-such-day-platform-form"),
        pytest.param(
            "2024-05-06T07:08:09Z", datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
            id="zulu",
        ),
        pytest.param(
            "2024-05-06 07:08:09.5", datetime.datetime(2024, 5, 6, 7, 8, 9, 500000),
            id="one-digit-fraction",
        ),
        pytest.param(
            "2024-05-06T07:08:09.123456789Z",
            datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC),
            id="nanoseconds-cut",
        ),
        pytest.param(
            "2024-05-06T07:08:09.1234+0530",
            datetime.datetime(
                2024, 5, 6, 7, 8, 9, 123400,
                tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30)),
            ),
            id="offset-without-colon",
        ),
        pytest.param(
            "2024-05-06T07:08-05",
            datetime.datetime(
                2024, 5, 6, 7, 8, tzinfo=datetime.timezone(-datetime.timedelta(hours=5))
            ),
            id="minutes-and-hour-offset",
        ),
        pytest.param("2024-05-06", datetime.datetime(2024, 5, 6), id="date-only"),
        pytest.param("2024-02-30T00:00:00", None, id="no-such-day"),
        pytest.param("2024-05-06T24:00:00", None, id="hour-24"),
        pytest.param("2024-05-06T07:08:09+24:00", None, id="offset-a-day"),
        pytest.param("20240506T070809", None, id="basic-format"),
        pytest.param("2024-W19-1", None, id="week-date"),
        pytest.param("٢٠٢٤-05-06", None, id="non-ascii-digits"),
    ],
)  # fmt: skip
def test_date_time_parsing_is_the_same_on_every_python(
    text: str, expected: datetime.datetime | None
) -> None:
    """fromisoformat differs between 3.10 and 3.11+; this parser does not."""
    assert parse_datetime(text) == expected
    if expected is not None:
        assert parse_datetime(text).tzinfo == expected.tzinfo  # type: ignore[union-attr]


def test_zulu_and_nanosecond_date_times_are_excel_date_times(
    run_target: t.Callable[..., t.Any], out_dir: Path
) -> None:
    schema = {
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "day": {"type": ["string", "null"], "format": "date"},
        }
    }
    records = [
        {"when": "2024-05-06T07:08:09.123456789Z", "day": "2024-05-06"},
        {"when": "2024-05-06 07:08:09.5+02:00", "day": "20240506"},
    ]
    run_target(
        [
            schema_message("t", schema, key_properties=[]),
            *(record_message(r, "t") for r in records),
        ],
        format="xlsx",
    )

    sheet = openpyxl.load_workbook(out_dir / "t.xlsx")["t"]
    first, second = sheet[2], sheet[3]
    # Excel stores milliseconds at best.
    assert first[0].value == datetime.datetime(2024, 5, 6, 7, 8, 9, 123000)
    assert first[1].value == datetime.datetime(2024, 5, 6)
    assert second[0].value == datetime.datetime(2024, 5, 6, 5, 8, 9, 500000)
    assert second[1].value == "20240506"  # only YYYY-MM-DD is a date: text
