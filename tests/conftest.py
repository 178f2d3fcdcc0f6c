"""Fixtures shared by the whole suite: the mock platform and live databases.

Database tests use the real servers (PostgreSQL on 127.0.0.1:5432, MariaDB on
127.0.0.1:3306). A missing server skips those tests, unless the environment sets
``REQUIRE_DATABASES=1`` (CI does), in which case they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)
MYSQL_ADMIN_URL = os.environ.get(
    "TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"
)
REQUIRE_DATABASES = os.environ.get("REQUIRE_DATABASES") == "1"


def _unavailable(what: str, exc: Exception) -> None:
    msg = f"{what} is not reachable: {exc}"
    if REQUIRE_DATABASES:
        pytest.fail(msg + " (REQUIRE_DATABASES=1)")
    pytest.skip(msg)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose default schema is fresh and dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        _unavailable("PostgreSQL", exc)
    url = sa.make_url(POSTGRES_ADMIN_URL).update_query_dict(
        {"options": f"-csearch_path={schema}"}
    )
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """A MySQL/MariaDB URL pointing at a fresh database dropped afterwards."""
    database = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(MYSQL_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4"))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        _unavailable("MySQL/MariaDB", exc)
    url = sa.make_url(MYSQL_ADMIN_URL).set(database=database)
    url = url.update_query_dict({"charset": "utf8mb4"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE `{database}`"))
        engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: os.PathLike[str]) -> str:
    """An SQLite URL to a file in the test's temporary folder."""
    return f"sqlite:///{os.fspath(tmp_path)}/test.db"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", id="mysql", marks=pytest.mark.mysql),
    ]
)
def db_url(request: pytest.FixtureRequest) -> str:
    """Each live dialect in turn: SQLite, PostgreSQL and MySQL/MariaDB."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture(scope="session")
def platform() -> Iterator[object]:
    """A mock platform with 10,000 rows, shared by tests that only read."""
    from tap_openapi.mock_platform import MockPlatform

    with MockPlatform(rows=10_000) as running:
        yield running
