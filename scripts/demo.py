"""The demo behind ``make demo``: mock platform -> Meltano -> SQLite.

Starts the mock platform on a free loopback port, runs
``meltano run tap-openapi target-sqlalchemy`` against it, stops the platform
and prints where the data landed and how many rows each table holds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from tap_openapi.mock_platform.process import platform_process

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    """Run the demo; return the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--meltano", default=str(ROOT / ".venv-meltano/bin/meltano"))
    args = parser.parse_args()

    database = ROOT / "output" / "warehouse.db"
    database.parent.mkdir(exist_ok=True)
    url = f"sqlite:///{database}"
    meltano = [args.meltano, "--environment", "dev"]
    subprocess.run([*meltano, "install"], cwd=ROOT, check=True)
    with platform_process(rows=args.rows) as base_url:
        print(f"Mock platform with {args.rows} rows at {base_url}", flush=True)
        env = dict(
            os.environ,
            TAP_OPENAPI_BASE_URL=base_url,
            TAP_OPENAPI_CLIENT_ID="demo-client",
            # The mock platform's well-known demo secret, not a real credential.
            TAP_OPENAPI_CLIENT_SECRET="demo-secret",
            TARGET_SQLALCHEMY_SQLALCHEMY_URL=url,
        )
        run = subprocess.run(
            [*meltano, "run", "tap-openapi", "target-sqlalchemy"], cwd=ROOT, env=env
        )
    if run.returncode != 0:
        print(f"The pipeline failed (exit code {run.returncode}).", file=sys.stderr)
        return run.returncode
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        print(f"\nLoaded into {database}:")
        for table in sa.inspect(conn).get_table_names():
            count = conn.execute(
                sa.select(sa.func.count()).select_from(sa.table(table))
            ).scalar_one()
            print(f"  table {table!r}: {count} rows")
    engine.dispose()
    print("Query it with: sqlite3 output/warehouse.db 'select * from fake limit 5'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
