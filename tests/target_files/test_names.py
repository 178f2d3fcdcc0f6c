"""File and sheet names: clashes, names the stream makes unusable, long names."""

from __future__ import annotations

import json
import subprocess
import typing as t
from pathlib import Path

import openpyxl
import pytest
from files_samples import (
    SAMPLE_SCHEMA,
    files_in,
    record_message,
    sample_messages,
    sample_row,
    schema_message,
)

from target_files import xlsx_writer
from target_files.errors import FileNameClashError
from target_files.naming import sheet_name

Run = t.Callable[..., subprocess.CompletedProcess[str]]


def wider_schema() -> dict[str, t.Any]:
    schema = json.loads(json.dumps(SAMPLE_SCHEMA))
    schema["properties"]["colNew"] = {"type": ["string", "null"]}
    return schema


def test_part_file_of_one_stream_clashes_with_another_stream(
    run_cli: Run, out_dir: Path
) -> None:
    """Stream 'a' changing schema needs a-part2.csv, the file of stream 'a-part2'."""
    messages = [
        schema_message("a"),
        record_message(sample_row(1), "a"),
        schema_message("a-part2"),
        record_message(sample_row(99), "a-part2"),
        schema_message("a", wider_schema()),
        record_message({**sample_row(2), "colNew": "x"}, "a"),
        record_message(sample_row(100), "a-part2"),
    ]

    result = run_cli(messages)

    assert result.returncode == 1
    assert (
        f"Input line 5: Streams 'a-part2' and 'a' both need the file "
        f"{out_dir / 'a-part2.csv'}: stream 'a' continues in part 2 after a "
        "schema change, and that part's name is another stream's file name"
    ) in result.stderr
    assert "Traceback" not in result.stderr
    # Neither stream's rows are published, let alone mixed in one file.
    assert files_in(out_dir) == []


def test_stream_named_like_an_earlier_part(run_cli: Run, out_dir: Path) -> None:
    """The part comes first, then a stream wants the same name."""
    messages = [
        schema_message("a"),
        record_message(sample_row(1), "a"),
        schema_message("a", wider_schema()),
        record_message({**sample_row(2), "colNew": "x"}, "a"),
        schema_message("A-PART2"),
    ]

    result = run_cli(messages)

    assert result.returncode == 1
    assert (
        f"Streams 'a' and 'A-PART2' both need the file {out_dir / 'A-PART2.csv'}: "
        "a-part2.csv and A-PART2.csv differ only in letter case"
    ) in result.stderr
    assert files_in(out_dir) == []


def test_names_differing_only_in_case_clash(run_cli: Run, out_dir: Path) -> None:
    messages = [*sample_messages(2, "Orders"), *sample_messages(2, "orders")]

    result = run_cli(messages, format="xlsx")

    assert result.returncode == 1
    assert (
        f"Streams 'Orders' and 'orders' both need the file {out_dir / 'orders.xlsx'}"
        ": Orders.xlsx and orders.xlsx differ only in letter case, and Windows and "
        "macOS file systems take them for one file"
    ) in result.stderr
    assert list(out_dir.iterdir()) == []


def test_pattern_without_stream_name_is_blamed(
    run_target: t.Callable[..., t.Any], out_dir: Path
) -> None:
    messages = [*sample_messages(1, "orders"), *sample_messages(1, "users")]

    with pytest.raises(
        FileNameClashError,
        match=r"Setting file_naming '\{date\}' gives the same file .* for streams "
        r"'orders' and 'users'; include \{stream_name\} in it",
    ):
        run_target(messages, file_naming="{date}")

    assert files_in(out_dir) == []


@pytest.mark.parametrize(
    "stream",
    [
        pytest.param("..", id="dot-dot"),
        pytest.param(".", id="dot"),
        pytest.param("", id="empty"),
        pytest.param(" ", id="blank"),
    ],
)
def test_unusable_stream_name_is_blamed_not_the_setting(
    run_cli: Run, out_dir: Path, stream: str
) -> None:
    result = run_cli(sample_messages(2, stream))

    assert result.returncode == 1
    assert (
        f"Input line 1: Stream {stream!r}: its name gives the file name "
        f"{stream!r} (setting file_naming '{{stream_name}}'), which is not a "
        "usable file name; give the stream another name with a stream map"
    ) in result.stderr
    assert "Traceback" not in result.stderr
    assert files_in(out_dir) == []


def test_dot_dot_stream_in_a_sub_folder_pattern(run_cli: Run, out_dir: Path) -> None:
    result = run_cli(sample_messages(1, ".."), file_naming="{date}/{stream_name}")

    assert result.returncode == 1
    assert "Stream '..': its name gives the file name" in result.stderr
    assert not (out_dir.parent / "..csv").exists()
    assert files_in(out_dir.parent) == ["config.json"]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_long_chinese_stream_name(
    run_cli: Run, out_dir: Path, file_format: str
) -> None:
    """80 CJK characters: 240 bytes, plus the extension, fits in 255."""
    stream = "中" * 80
    result = run_cli(sample_messages(3, stream), format=file_format)

    assert result.returncode == 0, result.stderr
    assert files_in(out_dir) == [f"{stream}.{file_format}"]
    if file_format == "xlsx":
        workbook = openpyxl.load_workbook(out_dir / f"{stream}.xlsx", read_only=True)
        assert workbook.sheetnames == ["中" * 31]
        assert len(list(workbook.worksheets[0].iter_rows())) == 4
        workbook.close()


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_stream_name_too_long_for_the_file_system(
    run_cli: Run, out_dir: Path, file_format: str
) -> None:
    stream = "中" * 90
    result = run_cli(sample_messages(3, stream), format=file_format)

    assert result.returncode == 1
    size = 270 + 1 + len(file_format)
    assert (
        f"Input line 1: Output file name '{stream}.{file_format}' is {size} bytes "
        "long; the file system allows 255. Shorten the stream name with a stream "
        "map alias"
    ) in result.stderr
    assert "Traceback" not in result.stderr
    assert list(out_dir.iterdir()) == []


def test_final_name_that_fits_gets_a_shorter_temporary_name(
    run_target: t.Callable[..., t.Any], out_dir: Path
) -> None:
    """251 bytes + ".csv" fits; ".<name>.part" (261 bytes) would not."""
    stream = "x" * 251
    run_target(sample_messages(2, stream))

    assert files_in(out_dir) == [f"{stream}.csv"]
    assert len((out_dir / f"{stream}.csv").read_text().splitlines()) == 3


def test_sheet_names_stay_unique_when_cutting_makes_them_equal(
    run_target: t.Callable[..., t.Any],
    out_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(xlsx_writer, "SHEET_DATA_ROW_LIMIT", 2)
    stream = "a" * 29 + "_2"  # its own 31-character name is "<29 a>_2"

    run_target(sample_messages(5, stream), format="xlsx")

    workbook = openpyxl.load_workbook(out_dir / f"{stream}.xlsx", read_only=True)
    names = workbook.sheetnames
    ids = [[r[0] for r in s.iter_rows(min_row=2, values_only=True)] for s in workbook]
    workbook.close()
    assert names == [stream, "a" * 28 + "_2", "a" * 29 + "_3"]
    assert ids == [[1, 2], [3, 4], [5]]


@pytest.mark.parametrize(
    ("stream", "number", "used", "expected"),
    [
        pytest.param("a" * 29 + "_2", 2, ["a" * 29 + "_2"], "a" * 28 + "_2", id="cut"),
        pytest.param("Fake", 2, ["FAKE_2"], "Fak_2", id="case-insensitive"),
        pytest.param("😀" * 20, 1, [], "😀" * 15, id="utf16-units"),
        pytest.param("a" * 30 + "'b", 1, [], "a" * 30, id="no-trailing-apostrophe"),
        pytest.param("x", 2, ["x_2"], "Sheet2_1", id="nothing-left-to-cut"),
    ],
)
def test_sheet_name_against_used_names(
    stream: str, number: int, used: list[str], expected: str
) -> None:
    assert sheet_name(stream, number, used) == expected


def test_emoji_stream_name_makes_a_valid_workbook(
    run_target: t.Callable[..., t.Any], out_dir: Path
) -> None:
    """Excel counts UTF-16 units: 20 emoji are 40 units, over the 31 allowed."""
    stream = "😀" * 20
    run_target(sample_messages(2, stream), format="xlsx")

    workbook = openpyxl.load_workbook(out_dir / f"{stream}.xlsx", read_only=True)
    assert workbook.sheetnames == ["😀" * 15]
    workbook.close()
