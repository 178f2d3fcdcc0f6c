"""The floor: the plainest script that moves the sample API into a database.

Sequential page fetches with requests, then PostgreSQL COPY, MySQL multi-row
INSERTs or SQLite executemany. No Singer, no validation: what any pipeline
is compared with. Run as a script so its memory is measured on its own.
"""

from __future__ import annotations

import argparse
import csv
import io
import sqlite3
import sys
import time
from collections.abc import Iterator
from typing import Any

import requests
import sqlalchemy as sa

COLUMNS = (
    ["id"]
    + [f"colString{i}" for i in range(1, 5)]
    + [f"colInt{i}" for i in range(1, 5)]
    + [f"colFloat{i}" for i in range(1, 5)]
    + [f"colSqlTime{i}" for i in range(1, 5)]
)
TYPES = (["BIGINT"] + ["TEXT"] * 4 + ["BIGINT"] * 4 + ["DOUBLE PRECISION"] * 4) + [
    "TIMESTAMP"
] * 4


def pages(
    base_url: str, path: str, page_size: int = 2000
) -> Iterator[list[dict[str, Any]]]:
    session = requests.Session()
    token = session.post(
        base_url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=("demo-client", "demo-secret"),
        timeout=60,
    ).json()["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    number = 1
    while True:
        data = session.get(
            base_url + path,
            params={"pageNum": number, "pageSize": page_size},
            timeout=60,
        ).json()["data"]
        rows = data["rows"]
        if rows:
            yield rows
        if not rows or number * page_size >= data["totalNum"]:
            return
        number += 1


def load_postgres(base_url: str, path: str, url: str) -> int:
    import psycopg2

    parsed = sa.make_url(url)
    options = parsed.query.get("options")
    conn = psycopg2.connect(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        dbname=parsed.database,
        options=options,
    )
    columns = ", ".join(f'"{c}" {t}' for c, t in zip(COLUMNS, TYPES, strict=True))
    names = ", ".join(f'"{c}"' for c in COLUMNS)
    total = 0
    with conn, conn.cursor() as cur:
        cur.execute(f'CREATE TABLE floor_fake ({columns}, PRIMARY KEY ("id"))')
        for rows in pages(base_url, path):
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerows([row[c] for c in COLUMNS] for row in rows)
            buffer.seek(0)
            cur.copy_expert(f"COPY floor_fake ({names}) FROM STDIN WITH CSV", buffer)
            total += len(rows)
    conn.close()
    return total


def load_mysql(base_url: str, path: str, url: str) -> int:
    import pymysql

    parsed = sa.make_url(url)
    conn = pymysql.connect(
        host=parsed.host,
        port=parsed.port or 3306,
        user=parsed.username,
        password=parsed.password or "",
        database=parsed.database,
        charset="utf8mb4",
    )
    types = [t.replace("TEXT", "VARCHAR(255)") for t in TYPES]
    types = [t.replace("TIMESTAMP", "DATETIME") for t in types]
    columns = ", ".join(f"`{c}` {t}" for c, t in zip(COLUMNS, types, strict=True))
    names = ", ".join(f"`{c}`" for c in COLUMNS)
    marks = ", ".join(["%s"] * len(COLUMNS))
    total = 0
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE floor_fake ({columns}, PRIMARY KEY (`id`))")
        for rows in pages(base_url, path):
            cur.executemany(
                f"INSERT INTO floor_fake ({names}) VALUES ({marks})",
                [[row[c] for c in COLUMNS] for row in rows],
            )
            conn.commit()
            total += len(rows)
    conn.close()
    return total


def load_sqlite(base_url: str, path: str, url: str) -> int:
    conn = sqlite3.connect(sa.make_url(url).database or ":memory:")
    types = [t.replace("DOUBLE PRECISION", "REAL") for t in TYPES]
    columns = ", ".join(f'"{c}" {t}' for c, t in zip(COLUMNS, types, strict=True))
    marks = ", ".join(["?"] * len(COLUMNS))
    total = 0
    conn.execute(f'CREATE TABLE floor_fake ({columns}, PRIMARY KEY ("id"))')
    for rows in pages(base_url, path):
        with conn:
            conn.executemany(
                f"INSERT INTO floor_fake VALUES ({marks})",
                [[row[c] for c in COLUMNS] for row in rows],
            )
        total += len(rows)
    conn.close()
    return total


LOADERS = {"postgres": load_postgres, "mysql": load_mysql, "sqlite": load_sqlite}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--path", default="/api/v1/sync/fake")
    parser.add_argument("--dialect", choices=sorted(LOADERS), required=True)
    parser.add_argument("--url", required=True, help="SQLAlchemy-style URL")
    args = parser.parse_args()
    started = time.perf_counter()
    total = LOADERS[args.dialect](args.base_url, args.path, args.url)
    print(f"{total} rows in {time.perf_counter() - started:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
