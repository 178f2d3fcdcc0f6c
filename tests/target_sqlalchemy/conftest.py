"""Fixtures for target-sqlalchemy tests (helpers live in tsa_helpers.py)."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from tsa_helpers import Harness


@pytest.fixture
def harness(db_url: str, tmp_path: Path) -> t.Iterator[Harness]:
    """A harness over each live database (SQLite, PostgreSQL, MariaDB)."""
    h = Harness(db_url, tmp_path)
    yield h
    h.engine.dispose()


@pytest.fixture
def sqlite_harness(sqlite_url: str, tmp_path: Path) -> t.Iterator[Harness]:
    """A harness over SQLite only, for checks that do not vary by dialect."""
    h = Harness(sqlite_url, tmp_path)
    yield h
    h.engine.dispose()
