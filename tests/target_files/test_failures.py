"""Bad input, bad settings and signals: exit code, message, no final file.

These run the ``target-files`` console script as a subprocess, as Meltano does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
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
    to_lines,
)

Run = t.Callable[..., subprocess.CompletedProcess[str]]


def last_error(stderr: str) -> str:
    """The last log line, which must be the human-readable outcome."""
    return stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_bad_line_in_the_middle_leaves_no_file(
    run_cli: Run, out_dir: Path, file_format: str
) -> None:
    messages: list[t.Any] = sample_messages(200)
    messages.insert(101, '{"type": "RECORD", "stream": "fake", "record": {"id": 1')

    result = run_cli(messages, format=file_format)

    assert result.returncode == 1
    assert "Input line 102 is not valid JSON" in result.stderr
    assert "no file was written under its final name" in last_error(result.stderr)
    assert "Traceback" not in result.stderr
    assert files_in(out_dir) == []  # neither fake.<ext> nor its .part


def test_record_before_schema(run_cli: Run, out_dir: Path) -> None:
    result = run_cli([record_message(sample_row(1)), schema_message()])

    assert result.returncode == 1
    assert "Input line 1: A record for stream 'fake' was encountered before" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    assert files_in(out_dir) == []


def test_unknown_schema_type(run_cli: Run, out_dir: Path) -> None:
    schema = json.loads(json.dumps(SAMPLE_SCHEMA))
    schema["properties"]["colInt1"] = {"type": ["bigint", "null"]}
    messages = [*sample_messages(3), schema_message("other", schema)]

    result = run_cli(messages)

    assert result.returncode == 1
    assert (
        "Input line 6: Stream 'other', property 'colInt1': unknown JSON Schema type "
        "'bigint'" in result.stderr
    )
    assert files_in(out_dir) == []  # the good stream is not published either


def test_unknown_message_type(run_cli: Run, out_dir: Path) -> None:
    result = run_cli([*sample_messages(2), {"type": "RECORDS", "stream": "fake"}])

    assert result.returncode == 1
    assert "Input line 5 has an unknown message type 'RECORDS'" in result.stderr
    assert files_in(out_dir) == []


def test_existing_file_with_overwrite_false(run_cli: Run, out_dir: Path) -> None:
    out_dir.mkdir()
    (out_dir / "fake.csv").write_text("keep me")

    result = run_cli(sample_messages(5), overwrite=False)

    assert result.returncode == 1
    assert "fake.csv already exists and setting overwrite is false" in result.stderr
    assert (out_dir / "fake.csv").read_text() == "keep me"
    assert files_in(out_dir) == ["fake.csv"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        pytest.param(
            {"encoding": "utf-9"},
            "Setting encoding: 'utf-9' is not a known",
            id="codec",
        ),
        pytest.param(
            {"file_naming": "{stream}-{timestamp}"},
            "unknown placeholder(s) {stream}",
            id="placeholder",
        ),
        pytest.param(
            {"file_naming": "../{stream_name}"}, "inside output_path", id="escape"
        ),
        pytest.param({"format": "pdf"}, "'pdf' is not one of", id="format"),
        pytest.param({"delimiter": ";;"}, "is too long", id="delimiter"),
        pytest.param(
            {"encoding": "hex"},
            "Setting encoding: 'hex' is a codec but not a text encoding",
            id="bytes-codec",
        ),
        pytest.param(
            {"encoding": "rot13"},
            "Setting encoding: 'rot13' is a codec but not a text encoding",
            id="text-to-text-codec",
        ),
        pytest.param(
            {"file_naming": "{}"},
            "Setting file_naming '{}' has unknown placeholder(s) {}; use "
            "{stream_name}, {timestamp}, {date} (write {{ and }} for literal braces)",
            id="empty-placeholder",
        ),
        pytest.param(
            {"file_naming": "{0}-{stream_name}"},
            "unknown placeholder(s) {0}",
            id="numeric-placeholder",
        ),
        pytest.param(
            {"file_naming": "{stream_name:d}"},
            "Setting file_naming '{stream_name:d}' cannot be rendered",
            id="bad-format-spec",
        ),
        pytest.param(
            {"file_naming": "{stream_name}\u0000"},
            "Setting file_naming '{stream_name}\\x00' contains the control "
            "character '\\x00' at position 13; remove it",
            id="nul-in-pattern",
        ),
        pytest.param(
            {"file_naming": "{stream_name}\n"},
            "contains the control character '\\n'",
            id="newline-in-pattern",
        ),
        pytest.param(
            {"output_path": "out\u0000put"},
            "Setting output_path 'out\\x00put' contains the control character",
            id="nul-in-output-path",
        ),
    ],
)
def test_bad_settings(
    run_cli: Run, out_dir: Path, settings: dict[str, str], message: str
) -> None:
    result = run_cli(sample_messages(1), **settings)

    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert files_in(out_dir) == []


def test_two_streams_cannot_share_a_file(run_cli: Run, out_dir: Path) -> None:
    messages = [*sample_messages(2, "users/eu"), *sample_messages(2, "users_eu")]

    result = run_cli(messages)

    assert result.returncode == 1
    assert (
        f"Input line 5: Streams 'users/eu' and 'users_eu' both need the file "
        f"{out_dir / 'users_eu.csv'}: the stream names are the same once the "
        "characters file systems reject"
    ) in result.stderr
    assert "Give one stream another name with a stream map" in result.stderr
    assert "include {stream_name}" not in result.stderr  # the pattern has it
    assert "Traceback" not in result.stderr
    assert files_in(out_dir) == []


def test_text_the_encoding_cannot_hold(run_cli: Run, out_dir: Path) -> None:
    result = run_cli(sample_messages(3), encoding="latin-1")

    assert result.returncode == 1
    assert (
        "Input line 2: Stream 'fake': text '中文数据' cannot be written in "
        "encoding 'latin-1'" in result.stderr
    )
    assert files_in(out_dir) == []


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_sigterm_mid_stream_publishes_nothing(
    out_dir: Path, tmp_path: Path, file_format: str
) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"output_path": str(out_dir), "format": file_format}))
    # CSV rows go to the .part file at once; XLSX rows to xlsxwriter's sheet
    # files in a temporary folder, the .part file is made only at the end.
    started = ".fake.csv.part" if file_format == "csv" else ".target-files-*.tmp"
    script = Path(sys.executable).with_name("target-files")
    with subprocess.Popen(
        [str(script), "--config", str(config)],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    ) as process:
        assert process.stdin is not None
        assert process.stderr is not None
        process.stdin.write(to_lines(sample_messages(50)[:-1]))  # no end, no state
        process.stdin.flush()
        deadline = time.monotonic() + 20
        while not any(out_dir.glob(started)):
            assert time.monotonic() < deadline, "the target never opened its file"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        stderr = process.stderr.read()
        returncode = process.wait(timeout=20)

    assert returncode == 128 + signal.SIGTERM
    assert (
        "Stopped by signal SIGTERM before the end of input; no file was written "
        "under its final name" in stderr
    )
    assert list(out_dir.iterdir()) == []  # no file, no temporary folder
