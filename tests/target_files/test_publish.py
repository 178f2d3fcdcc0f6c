"""The end of a run: finish every file, publish all, tidy old parts, pass state."""

from __future__ import annotations

import json
import subprocess
import typing as t
from pathlib import Path

import pytest
from files_samples import (
    SAMPLE_SCHEMA,
    files_in,
    record_message,
    sample_messages,
    sample_row,
    schema_message,
)

Run = t.Callable[..., subprocess.CompletedProcess[str]]

SMALL_SCHEMA = {"properties": {"id": {"type": "integer"}}}
WIDER_SCHEMA = {
    "properties": {"id": {"type": "integer"}, "n": {"type": ["integer", "null"]}}
}


def last_lines(stderr: str, count: int) -> list[str]:
    return [line.split("| ")[-1] for line in stderr.strip().splitlines()[-count:]]


def state(value: int) -> dict[str, t.Any]:
    return {"type": "STATE", "value": {"bookmarks": {"done": value}}}


def small(
    stream: str, *ids: int, schema: dict[str, t.Any] | None = None
) -> list[t.Any]:
    return [
        schema_message(stream, schema or SMALL_SCHEMA, key_properties=[]),
        *(record_message({"id": i}, stream) for i in ids),
    ]


def test_rename_failing_midway_lists_published_and_unpublished(
    run_cli: Run, out_dir: Path
) -> None:
    # A folder with content where b.csv must go: os.replace refuses for real.
    (out_dir / "b.csv").mkdir(parents=True)
    (out_dir / "b.csv" / "keep").write_text("x")
    messages = [*small("a", 1), *small("b", 2), *small("c", 3), state(1)]

    result = run_cli(messages)

    assert result.returncode == 1
    error, outcome = last_lines(result.stderr, 2)
    # After the end of input: no "Input line" prefix naming an unrelated line.
    assert error.startswith(f"Cannot move {out_dir / '.b.csv.part'} to ")
    assert error.endswith(
        f". Published before this failure: {out_dir / 'a.csv'}. Not published: "
        f"{out_dir / 'b.csv'}, {out_dir / 'c.csv'}"
    )
    assert outcome == (
        f"Stopped; 1 file(s) had been published under their final names "
        f"({out_dir / 'a.csv'}); the other temporary files were removed and no "
        "STATE was passed on"
    )
    assert "no file was written under its final name" not in result.stderr
    assert files_in(out_dir) == ["a.csv", "b.csv/keep"]
    assert (out_dir / "a.csv").read_bytes() == b"id\r\n1\r\n"
    assert result.stdout == ""  # no STATE


def test_every_workbook_is_assembled_before_any_is_published(
    run_cli: Run, out_dir: Path
) -> None:
    # b's workbook cannot be assembled: its temporary name is taken by a folder.
    (out_dir / ".b.xlsx.part").mkdir(parents=True)
    (out_dir / ".b.xlsx.part" / "keep").write_text("x")
    messages = [*small("a", 1), *small("b", 2), state(1)]

    result = run_cli(messages, format="xlsx")

    assert result.returncode == 1
    error, outcome = last_lines(result.stderr, 2)
    assert error.startswith(f"Stream 'b': cannot assemble {out_dir / '.b.xlsx.part'}: ")
    assert outcome == (
        "Stopped; no file was written under its final name and the temporary "
        "files were removed"
    )
    assert files_in(out_dir) == [".b.xlsx.part/keep"]  # a.xlsx not published
    assert [p.name for p in out_dir.iterdir()] == [".b.xlsx.part"]


def test_old_parts_are_removed_when_overwriting(
    run_target: t.Callable[..., t.Any], out_dir: Path
) -> None:
    run_target(
        [
            *small("s", 1),
            *small("s", 2, schema=WIDER_SCHEMA),
            *small("s", 3, schema=SMALL_SCHEMA),
        ]
    )
    assert files_in(out_dir) == ["s-part2.csv", "s-part3.csv", "s.csv"]
    # Files that merely look alike are someone else's: they stay.
    lookalikes = ["s-part1.csv", "s-part02.csv", "s-part2x.csv", "s-part2.csv.bak"]
    for name in [*lookalikes, "S-PART4.TXT", "t-part2.csv"]:
        (out_dir / name).write_text("not ours")

    run_target(small("s", 10))

    assert sorted(files_in(out_dir)) == sorted(
        ["s.csv", *lookalikes, "S-PART4.TXT", "t-part2.csv"]
    )
    assert (out_dir / "s.csv").read_bytes() == b"id\r\n10\r\n"


def test_old_parts_stay_without_overwrite(
    run_target: t.Callable[..., t.Any], out_dir: Path
) -> None:
    out_dir.mkdir()
    (out_dir / "s-part2.csv").write_text("old part")

    run_target(small("s", 1), overwrite=False)

    assert files_in(out_dir) == ["s-part2.csv", "s.csv"]
    assert (out_dir / "s-part2.csv").read_text() == "old part"


def test_a_stream_of_this_run_named_like_a_part_is_kept(
    run_target: t.Callable[..., t.Any], out_dir: Path
) -> None:
    run_target([*small("s", 1), *small("s-part2", 2)])

    assert files_in(out_dir) == ["s-part2.csv", "s.csv"]
    assert (out_dir / "s-part2.csv").read_bytes() == b"id\r\n2\r\n"


class TestRequireStreamEnd:
    """Setting require_stream_end: publish only streams the tap finished."""

    def test_unfinished_stream_is_not_published(
        self, run_cli: Run, out_dir: Path
    ) -> None:
        # The tap finished 'done', then died in the middle of 'cut'.
        messages = [*small("done", 1, 2), state(2), *small("cut", 3, 4)]

        result = run_cli(messages, require_stream_end=True)

        assert result.returncode == 1
        error, outcome = last_lines(result.stderr, 2)
        assert error == (
            "Stream(s) 'cut': no STATE or ACTIVATE_VERSION message came after the "
            "last record, so the tap probably stopped mid-stream (setting "
            "require_stream_end is true); their files were not published"
        )
        assert outcome.startswith(
            f"Stopped; 1 file(s) had been published under their final names "
            f"({out_dir / 'done.csv'})"
        )
        assert files_in(out_dir) == ["done.csv"]
        assert result.stdout == ""  # the bookmark is not passed on

    def test_records_after_the_last_state_make_a_stream_unfinished(
        self, run_cli: Run, out_dir: Path
    ) -> None:
        messages = [*small("s", 1), state(1), record_message({"id": 2}, "s")]

        result = run_cli(messages, require_stream_end=True)

        assert result.returncode == 1
        assert "Stream(s) 's': no STATE or ACTIVATE_VERSION" in result.stderr
        assert files_in(out_dir) == []

    def test_activate_version_marks_the_end_of_its_stream(
        self, run_cli: Run, out_dir: Path
    ) -> None:
        messages = [
            *small("full", 1),
            {"type": "ACTIVATE_VERSION", "stream": "full", "version": 1},
            *small("other", 2),
        ]

        result = run_cli(messages, require_stream_end=True)

        assert result.returncode == 1
        assert "Stream(s) 'other': no STATE" in result.stderr
        assert files_in(out_dir) == ["full.csv"]

    @pytest.mark.parametrize("file_format", ["csv", "xlsx"])
    def test_finished_streams_are_published_with_their_state(
        self, run_cli: Run, out_dir: Path, file_format: str
    ) -> None:
        wider = json.loads(json.dumps(SAMPLE_SCHEMA))
        wider["properties"]["colNew"] = {"type": ["string", "null"]}
        messages = [
            *sample_messages(3, "a")[:-1],
            schema_message("a", wider),
            record_message(sample_row(4), "a"),
            *sample_messages(2, "b")[:-1],
            state(5),
        ]

        result = run_cli(messages, format=file_format, require_stream_end=True)

        assert result.returncode == 0, result.stderr
        expected = (
            ["a-part2.csv", "a.csv", "b.csv"] if file_format == "csv" else
            ["a.xlsx", "b.xlsx"]
        )  # fmt: skip
        assert files_in(out_dir) == expected
        assert [json.loads(line) for line in result.stdout.splitlines()] == [
            {"bookmarks": {"done": 5}}
        ]

    def test_off_by_default_publishes_what_arrived(
        self, run_cli: Run, out_dir: Path
    ) -> None:
        result = run_cli([*small("s", 1), state(1), record_message({"id": 2}, "s")])

        assert result.returncode == 0, result.stderr
        assert (out_dir / "s.csv").read_bytes() == b"id\r\n1\r\n2\r\n"
