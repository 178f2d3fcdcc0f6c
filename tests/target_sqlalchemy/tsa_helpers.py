"""Helpers for target-sqlalchemy tests: write Singer files, run, read tables."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import typing as t
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from target_sqlalchemy.target import TargetSQLAlchemy

TARGET_BIN = Path(sys.executable).with_name("target-sqlalchemy")


def schema_msg(
    stream: str,
    properties: dict[str, t.Any],
    keys: list[str] | None = None,
) -> dict[str, t.Any]:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": properties},
        "key_properties": keys if keys is not None else [],
    }


def record_msg(
    stream: str, record: dict[str, t.Any], version: int | None = None
) -> dict[str, t.Any]:
    msg: dict[str, t.Any] = {"type": "RECORD", "stream": stream, "record": record}
    if version is not None:
        msg["version"] = version
    return msg


def state_msg(value: dict[str, t.Any]) -> dict[str, t.Any]:
    return {"type": "STATE", "value": value}


def write_singer(path: Path, messages: t.Iterable[dict[str, t.Any] | str]) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for message in messages:
            text = message if isinstance(message, str) else json.dumps(message)
            out.write(text + "\n")
    return path


@dataclass
class Run:
    states: list[dict[str, t.Any]]
    stdout: str


class Harness:
    """Runs the target on messages and reads back what landed."""

    def __init__(self, url: str, tmp_path: Path) -> None:
        self.url = url
        self.tmp_path = tmp_path
        self.engine = sa.create_engine(url)
        self._n = 0

    @property
    def dialect(self) -> str:
        name = self.engine.dialect.name
        return "mysql" if name == "mariadb" else name

    def config(self, **settings: t.Any) -> dict[str, t.Any]:
        return {"sqlalchemy_url": self.url, **settings}

    def file(self, messages: t.Iterable[dict[str, t.Any] | str]) -> Path:
        self._n += 1
        return write_singer(self.tmp_path / f"input-{self._n}.singer", messages)

    def run(
        self, messages: t.Iterable[dict[str, t.Any] | str], **settings: t.Any
    ) -> Run:
        """Run the target in-process; return the STATE lines it printed."""
        path = self.file(messages)
        out = io.StringIO()
        target = TargetSQLAlchemy(config=self.config(**settings))
        with path.open(encoding="utf-8") as infile, contextlib.redirect_stdout(out):
            target.listen(file_input=infile)
        text = out.getvalue()
        states = [json.loads(line) for line in text.splitlines() if line.strip()]
        return Run(states=states, stdout=text)

    def cli(
        self, messages: t.Iterable[dict[str, t.Any] | str], **settings: t.Any
    ) -> subprocess.CompletedProcess[str]:
        """Run the console script as a subprocess, input on stdin."""
        path = self.file(messages)
        config = self.tmp_path / f"config-{self._n}.json"
        config.write_text(json.dumps(self.config(**settings)))
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        with path.open(encoding="utf-8") as stdin:
            return subprocess.run(
                [str(TARGET_BIN), "--config", str(config)],
                stdin=stdin,
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
                check=False,
            )

    def table(self, name: str) -> sa.Table:
        columns = []
        for column in sa.inspect(self.engine).get_columns(name):
            column_type = column["type"]
            # MySQL's DOUBLE reflects with asdecimal=True and 10 digits of scale.
            if isinstance(column_type, sa.Float):
                column_type.asdecimal = False
            # SQLAlchemy's MySQL reflection returns a backtick doubled; the
            # target under test fixes that itself, the reading side here too.
            column_name = column["name"]
            if self.dialect == "mysql":
                column_name = column_name.replace("``", "`")
            columns.append(sa.Column(column_name, column_type, quote=True))
        return sa.Table(name, sa.MetaData(), *columns, quote=True)

    def has_table(self, name: str) -> bool:
        return sa.inspect(self.engine).has_table(name)

    def rows(self, name: str, order_by: str | None = None) -> list[dict[str, t.Any]]:
        table = self.table(name)
        stmt = sa.select(table)
        if order_by:
            stmt = stmt.order_by(table.c[order_by])
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(stmt)]

    def execute(self, sql: str) -> None:
        with self.engine.begin() as conn:
            conn.exec_driver_sql(sql)

    def quote(self, name: str) -> str:
        return str(self.engine.dialect.identifier_preparer.quote_identifier(name))


def as_json(value: t.Any) -> t.Any:
    """JSON columns read back as text on SQLite/MariaDB, as objects on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value
