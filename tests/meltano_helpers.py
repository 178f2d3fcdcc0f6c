"""Run Meltano from the tests, isolated from the developer's own state."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_installed = False


def meltano_bin() -> str:
    """The Meltano executable that ``make test`` installed."""
    path = os.environ.get("MELTANO_BIN", str(ROOT / ".venv-meltano/bin/meltano"))
    if not Path(path).exists():
        pytest.fail(f"Meltano is not installed at {path}; run `make meltano`")
    return path


def meltano(
    *args: str,
    env: dict[str, str],
    check: bool = True,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run ``meltano ARGS`` in the project root with ``env`` added."""
    global _installed
    full_env = dict(os.environ, **env)
    if not _installed:
        # Installs the plugins once per test session (uv makes this quick).
        subprocess.run(
            [meltano_bin(), "install"],
            cwd=ROOT,
            env=full_env,
            check=True,
            capture_output=True,
            timeout=timeout,
        )
        _installed = True
    result = subprocess.run(
        [meltano_bin(), *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"meltano {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stderr[-4000:]}"
        )
    return result


def meltano_env(
    tmp_path: Path, base_url: str, streams: list[dict[str, object]]
) -> dict[str, str]:
    """Environment pointing Meltano's plugins at a platform and at tmp_path."""
    return {
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TAP_OPENAPI_BASE_URL": base_url,
        "TAP_OPENAPI_CLIENT_ID": "demo-client",
        "TAP_OPENAPI_CLIENT_SECRET": "demo-secret",
        "TAP_OPENAPI_STREAMS": json.dumps(streams),
        "TARGET_CSV_OUTPUT_PATH": str(tmp_path / "csv"),
        "TARGET_JSONL_DESTINATION_PATH": str(tmp_path / "jsonl"),
        "TARGET_FILES_OUTPUT_PATH": str(tmp_path / "files"),
        "TARGET_SQLALCHEMY_SQLALCHEMY_URL": f"sqlite:///{tmp_path}/warehouse.db",
    }
