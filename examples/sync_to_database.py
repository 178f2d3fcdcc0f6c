"""Load a paged API into a database table (the old "SyncToDatabase").

Two ways, both ending in the table ``fake`` of ``--url`` (any SQLAlchemy URL;
an SQLite file by default):

``--mode pipe`` (the default when both commands are installed)
    The Singer pipe ``tap-openapi --config tap.json | target-sqlalchemy
    --config target.json``: typed columns, upserts by primary key, state for
    incremental runs, PostgreSQL COPY. This script writes the two configs and
    runs the pipe.
``--mode library``
    The client library and SQLAlchemy Core: rows as dataclass instances,
    inserted one page (2,000 rows) per ``executemany``, in one transaction
    that first empties the table.

::

    python examples/sync_to_database.py --base-url http://127.0.0.1:8765 \\
        --url sqlite:///openapi.db
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

import sqlalchemy as sa

from tap_openapi import OpenAPIClient, OpenAPIError

DEFAULT_BASE_URL = "http://127.0.0.1:8765"
DEFAULT_DB_URL = "sqlite:///openapi.db"
PATH = "/api/v1/sync/fake"
TABLE = "fake"


@dataclasses.dataclass
class Fake:
    """One row of /api/v1/sync/fake; also the table's columns."""

    id: int
    colString1: str
    colString2: str
    colString3: str
    colString4: str
    colInt1: int
    colInt2: int
    colInt3: int
    colInt4: int
    colFloat1: float
    colFloat2: float
    colFloat3: float
    colFloat4: float
    colSqlTime1: dt.datetime
    colSqlTime2: dt.datetime
    colSqlTime3: dt.datetime
    colSqlTime4: dt.datetime


SQL_TYPES: dict[type, t.Any] = {
    int: sa.BigInteger,
    str: sa.String(255),
    float: sa.Float,
    dt.datetime: sa.DateTime,
}


def fake_table(metadata: sa.MetaData) -> sa.Table:
    """The table for :class:`Fake`, one column per field, ``id`` the key."""
    hints = t.get_type_hints(Fake)
    columns = [
        sa.Column(
            field.name, SQL_TYPES[hints[field.name]], primary_key=field.name == "id"
        )
        for field in dataclasses.fields(Fake)
    ]
    return sa.Table(TABLE, metadata, *columns)


def settings_from(args: argparse.Namespace) -> dict[str, t.Any]:
    """Settings from --config, else from --base-url and the environment."""
    if args.config:
        with open(args.config, encoding="utf-8") as stream:
            return dict(json.load(stream))
    return {
        "base_url": args.base_url,
        "client_id": os.environ.get("OPENAPI_CLIENT_ID", "demo-client"),
        "client_secret": os.environ.get("OPENAPI_CLIENT_SECRET", "demo-secret"),
    }


def command(name: str) -> str | None:
    """The console script ``name``: next to this Python first, then on PATH."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name)


def write_private(path: Path, settings: dict[str, t.Any]) -> None:
    """Write ``settings`` as JSON to a new file only this user can read.

    The configs hold the client secret (and maybe a database password): the
    file is created with mode 0600, so it is never readable by others, not
    even for the moment between a write and a chmod.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        json.dump(settings, stream)


def load_with_pipe(settings: dict[str, t.Any], db_url: str) -> None:
    """Run ``tap-openapi | target-sqlalchemy`` with configs in a temp folder."""
    tap, target = command("tap-openapi"), command("target-sqlalchemy")
    if tap is None or target is None:
        raise SystemExit("sync_to_database: tap-openapi/target-sqlalchemy not found")
    tap_config = {
        **settings,
        "streams": settings.get("streams")
        or [{"name": TABLE, "path": PATH, "primary_keys": ["id"]}],
    }
    with tempfile.TemporaryDirectory() as folder:
        tap_file = Path(folder, "tap.json")
        target_file = Path(folder, "target.json")
        write_private(tap_file, tap_config)
        write_private(target_file, {"sqlalchemy_url": db_url})
        producer = subprocess.Popen(
            [tap, "--config", str(tap_file)], stdout=subprocess.PIPE
        )
        assert producer.stdout is not None
        consumer = subprocess.Popen(
            [target, "--config", str(target_file)],
            stdin=producer.stdout,
            stdout=subprocess.DEVNULL,
        )
        producer.stdout.close()  # the target owns the pipe's read end now
        target_status, tap_status = consumer.wait(), producer.wait()
    if tap_status or target_status:
        raise SystemExit(
            f"sync_to_database: pipe failed (tap exit {tap_status}, "
            f"target exit {target_status})"
        )


def load_with_library(settings: dict[str, t.Any], db_url: str) -> None:
    """Rows as :class:`Fake` objects, one executemany per page."""
    engine = sa.create_engine(db_url)
    table = fake_table(sa.MetaData())
    table.metadata.create_all(engine)
    batch: list[dict[str, t.Any]] = []
    with OpenAPIClient(settings) as client, engine.begin() as connection:
        connection.execute(table.delete())
        for row in client.iter_rows(PATH, model=Fake):
            batch.append(vars(row))
            if len(batch) == 2000:
                connection.execute(table.insert(), batch)
                batch = []
        if batch:
            connection.execute(table.insert(), batch)
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base-url", default=os.environ.get("OPENAPI_BASE_URL", DEFAULT_BASE_URL)
    )
    parser.add_argument("--config", help="a tap-openapi config file (JSON)")
    parser.add_argument("--url", default=DEFAULT_DB_URL, help="SQLAlchemy URL")
    parser.add_argument("--mode", choices=["auto", "pipe", "library"], default="auto")
    args = parser.parse_args()

    mode = args.mode
    if mode == "auto":
        found = command("tap-openapi") and command("target-sqlalchemy")
        mode = "pipe" if found else "library"
    settings = settings_from(args)
    try:
        if mode == "pipe":
            load_with_pipe(settings, args.url)
        else:
            load_with_library(settings, args.url)
    except OpenAPIError as exc:
        print(f"sync_to_database: error: {exc}", file=sys.stderr)
        return 1
    engine = sa.create_engine(args.url)
    with engine.connect() as connection:
        count = connection.execute(
            sa.select(sa.func.count()).select_from(sa.table(TABLE))
        ).scalar_one()
    engine.dispose()
    print(f"Table {TABLE} has {count} rows ({mode} mode)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
