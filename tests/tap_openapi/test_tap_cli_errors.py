"""The tap's command line ends a bad config with the specific message last."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from tap_runs import run_cli

from tap_openapi.mock_platform import MockPlatform


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "ERROR" in line]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            {"base_url": None}, "Setting base_url is required", id="missing-setting"
        ),
        pytest.param(
            {"pagesize": 100},
            "Unknown setting 'pagesize'; did you mean 'page_size'?",
            id="misspelled-setting",
        ),
        pytest.param(
            {"page_size": "big"},
            "'big' is not of type 'integer'",
            id="wrong-type",
        ),
    ],
)
@pytest.mark.parametrize("args", [[], ["--test"]], ids=["sync", "test"])
def test_config_error_is_the_last_error_line(
    platform: MockPlatform,
    tmp_path: Path,
    change: dict[str, t.Any],
    expected: str,
    args: list[str],
) -> None:
    config = platform.tap_config()
    for key, value in change.items():
        if value is None:
            del config[key]
        else:
            config[key] = value
    result = run_cli(*args, config=config, tmp_path=tmp_path)
    assert result.returncode == 1
    errors = error_lines(result.stderr)
    assert expected in errors[-1], errors
    assert "Traceback" not in result.stderr
    # The summary comes first, once.
    summaries = [line for line in errors if "Config validation failed" in line]
    assert len(summaries) == 1
    assert errors.index(summaries[0]) == 0
    assert result.stdout == ""
