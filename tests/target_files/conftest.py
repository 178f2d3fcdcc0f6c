"""Fixtures for target-files: run the target in-process or as a subprocess."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
from files_samples import to_lines

from target_files.target import TargetFiles


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return tmp_path / "out"


@pytest.fixture
def run_target(
    out_dir: Path,
) -> t.Callable[..., TargetFiles]:
    """Run the target in this process over the given messages."""

    def run(
        messages: t.Iterable[dict[str, t.Any] | str], **config: t.Any
    ) -> TargetFiles:
        target = TargetFiles(config={"output_path": str(out_dir), **config})
        target.run(io.StringIO(to_lines(messages)))
        return target

    return run


@pytest.fixture
def run_cli(
    out_dir: Path, tmp_path: Path
) -> t.Callable[..., subprocess.CompletedProcess[str]]:
    """Run the ``target-files`` console script as a subprocess."""

    def run(
        messages: t.Iterable[dict[str, t.Any] | str], **config: t.Any
    ) -> subprocess.CompletedProcess[str]:
        config_path = tmp_path / "config.json"
        config_path.write_text(json.dumps({"output_path": str(out_dir), **config}))
        script = Path(sys.executable).with_name("target-files")
        return subprocess.run(
            [str(script), "--config", str(config_path)],
            input=to_lines(messages),
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=60,
            env={**os.environ, "PYTHONIOENCODING": "utf-8"},
            check=False,
        )

    return run
