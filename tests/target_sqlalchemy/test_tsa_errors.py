"""Bad input through the console script: exit code, one-line error, no changes."""

from __future__ import annotations

import typing as t

import pytest
from singer_sdk.exceptions import ConfigValidationError
from tsa_helpers import Harness, record_msg, schema_msg, state_msg

from target_sqlalchemy.target import TargetSQLAlchemy, describe_failure

PROPS = {
    "id": {"type": "integer"},
    "n": {"type": ["null", "integer"]},
    "s": {"type": ["null", "string"], "maxLength": 5},
}
GOOD = [schema_msg("t", PROPS, ["id"]), record_msg("t", {"id": 1, "n": 1, "s": "a"})]

CASES: list[t.Any] = [
    pytest.param(
        [*GOOD, '{"type": "RECORD", "stream": "t", "record": {"id": 2', state_msg({})],
        {},
        "input line 3: not valid JSON",
        id="malformed-json",
    ),
    pytest.param(
        [record_msg("t", {"id": 2}), *GOOD],
        {},
        "before a corresponding schema",
        id="record-before-schema",
    ),
    pytest.param(
        # "5" would convert to the integer 5: only validation rejects it.
        [*GOOD, record_msg("t", {"id": 2, "n": "5"})],
        {"validate_records": True},
        "stream 't': record violates its schema: data.n must be",
        id="schema-violation",
    ),
    pytest.param(
        [*GOOD, '{"type": "RECORD", "stream": "t", "record": [1, 2]}'],
        {},
        "input line 3: stream 't': the RECORD's record is a JSON array, "
        "not a JSON object",
        id="record-not-an-object",
    ),
    pytest.param(
        [*GOOD, {"type": "BOGUS", "stream": "t"}],
        {},
        "input line 3: unknown Singer message type 'BOGUS'",
        id="unknown-type",
    ),
    pytest.param(
        [*GOOD, record_msg("t", {"id": 2, "n": 2**64})],
        {},
        "stream 't': table t rejected a batch of 2 rows (input lines 2-3)",
        id="integer-out-of-range",
    ),
    pytest.param(
        [*GOOD, record_msg("t", {"n": 2})],
        {},
        "no value for key properties",
        id="missing-key",
    ),
    pytest.param(
        [*GOOD, record_msg("t", {"id": 2, "n": "x"})],
        {},
        "property 'n' value 'x' is invalid",
        id="bad-value",
    ),
]


@pytest.mark.parametrize(("messages", "settings", "expected"), CASES)
def test_bad_input_fails_cleanly(
    harness: Harness,
    messages: list[t.Any],
    settings: dict[str, t.Any],
    expected: str,
) -> None:
    harness.run(
        [schema_msg("t", PROPS, ["id"]), record_msg("t", {"id": 0, "s": "kept"})]
    )
    with pytest.raises(Exception) as failure:  # noqa: PT011 - checked below
        harness.run(messages, **settings)
    message = describe_failure(failure.value)
    assert expected in message
    assert "\n" not in message
    # The failing batch was rolled back: only the row from before is there.
    assert [(r["id"], r["s"]) for r in harness.rows("t", "id")] == [(0, "kept")]


def test_console_script_malformed_json(sqlite_harness: Harness) -> None:
    proc = sqlite_harness.cli(_case("malformed-json").values[0])
    assert proc.returncode == 1, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "ERROR" in last
    assert "target-sqlalchemy failed: input line 3: not valid JSON" in last
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def _case(case_id: str) -> t.Any:
    return next(case for case in CASES if case.id == case_id)


def test_console_script_exits_1_with_one_line(harness: Harness) -> None:
    case = _case("integer-out-of-range")
    expected = case.values[2]
    proc = harness.cli(case.values[0])
    assert proc.returncode == 1, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "ERROR" in last
    assert "target-sqlalchemy failed" in last
    assert expected in last
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert not harness.has_table("t") or harness.rows("t") == []


def test_too_long_string_rejected(harness: Harness) -> None:
    if harness.dialect == "sqlite":
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    proc = harness.cli([*GOOD, record_msg("t", {"id": 2, "s": "much too long"})])
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert "stream 't': table t rejected a batch" in last
    assert "rolled back" in last
    assert not harness.has_table("t") or harness.rows("t") == []


def test_unreachable_database_redacts_password(tmp_path: t.Any) -> None:
    url = "postgresql+psycopg2://loader:s3cr3t-pw@127.0.0.1:1/nowhere"
    harness = Harness(url, tmp_path)
    proc = harness.cli(GOOD)
    assert proc.returncode == 1
    assert "s3cr3t-pw" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert (
        "cannot connect to database postgresql+psycopg2://loader:***@127.0.0.1:1/"
        "nowhere (setting sqlalchemy_url): OperationalError" in last
    )
    assert "Traceback" not in proc.stderr


def test_password_in_url_query_is_hidden(tmp_path: t.Any) -> None:
    url = (
        "postgresql+psycopg2://loader@127.0.0.1:1/nowhere"
        "?password=QuerySecret99&sslmode=disable"
    )
    proc = Harness(url, tmp_path).cli(GOOD)
    assert proc.returncode != 0
    assert "QuerySecret99" not in proc.stderr
    assert "QuerySecret99" not in proc.stdout
    last = proc.stderr.strip().splitlines()[-1]
    assert "ERROR" in last
    assert "?password=***&sslmode=disable (setting sqlalchemy_url)" in last


def test_zero_date_is_rejected_on_every_database(harness: Harness) -> None:
    props = {
        "id": {"type": "integer"},
        "ts": {"type": ["null", "string"], "format": "date-time"},
    }
    messages = [
        schema_msg("z", props, ["id"]),
        record_msg("z", {"id": 1, "ts": "2024-01-01 00:00:00"}),
        record_msg("z", {"id": 2, "ts": "0000-00-00 00:00:00"}),
    ]
    proc = harness.cli(messages)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert (
        "stream 'z': property 'ts' value '0000-00-00 00:00:00' is invalid: not a "
        "date-time: '0000-00-00 00:00:00' is a zero date; send null for no date "
        "(input line 3)"
    ) in last
    assert not harness.has_table("z") or harness.rows("z") == []


def test_invalid_setting_is_the_last_error_line(sqlite_harness: Harness) -> None:
    proc = sqlite_harness.cli(GOOD, load_mehtod="upsert", batch_size_rows="many")
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert "ERROR" in last
    assert (
        "target-sqlalchemy failed: invalid settings: unknown setting 'load_mehtod'; "
        "did you mean 'load_method'?; 'many' is not of type 'integer', 'null' in "
        "config['batch_size_rows']"
    ) in last
    assert "Config validation failed" not in proc.stderr


def test_blank_lines_of_any_length_are_skipped(sqlite_harness: Harness) -> None:
    proc = sqlite_harness.cli([GOOD[0], " \t   ", "", "      ", GOOD[1]])
    assert proc.returncode == 0, proc.stderr
    assert sqlite_harness.rows("t") == [{"id": 1, "n": 1, "s": "a"}]


def test_successful_cli_run_prints_state(harness: Harness) -> None:
    proc = harness.cli([*GOOD, state_msg({"bookmarks": {"t": 1}})])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == '{"bookmarks": {"t": 1}}'
    assert "Loaded batch: stream=t table=t rows=1" in proc.stderr
    assert harness.rows("t") == [{"id": 1, "n": 1, "s": "a"}]


def test_misspelled_setting_is_rejected_with_a_hint(sqlite_url: str) -> None:
    with pytest.raises(ConfigValidationError) as failure:
        TargetSQLAlchemy(config={"sqlalchemy_url": sqlite_url, "load_mehtod": "upsert"})
    assert failure.value.errors == [
        "unknown setting 'load_mehtod'; did you mean 'load_method'?"
    ]
