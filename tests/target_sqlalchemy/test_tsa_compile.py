"""SQL Server and Oracle: DDL and MERGE compiled (no server is connected)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mssql, oracle, postgresql
from sqlalchemy.schema import CreateTable
from tsa_helpers import Harness, record_msg, schema_msg

from target_sqlalchemy import loaders
from target_sqlalchemy.connector import build_table
from target_sqlalchemy.merge import Merge, postgres_upsert_from
from target_sqlalchemy.typemap import ColumnSpec, Kind

SPECS = [
    ColumnSpec("id", Kind.INTEGER, is_key=True),
    ColumnSpec("name col", Kind.STRING),
    ColumnSpec("code", Kind.STRING, max_length=20),
    ColumnSpec("f", Kind.NUMBER),
    ColumnSpec("amount", Kind.DECIMAL, scale=2),
    ColumnSpec("ts", Kind.DATETIME),
    ColumnSpec("d", Kind.DATE),
    ColumnSpec("flag", Kind.BOOLEAN),
    ColumnSpec("doc", Kind.JSON),
]

DDL = {
    "mssql": [
        "CREATE TABLE [dbo].[My Table] (",
        "[id] BIGINT NOT NULL",
        "[name col] NVARCHAR(max) NULL",
        "[code] NVARCHAR(20) NULL",
        "[f] FLOAT(53) NULL",
        "[amount] NUMERIC(38, 2) NULL",
        "[ts] DATETIME2(6) NULL",
        "[d] DATE NULL",
        "[flag] BIT NULL",
        "[doc] NVARCHAR(max) NULL",
        "PRIMARY KEY ([id])",
    ],
    "oracle": [
        'CREATE TABLE "dbo"."My Table" (',
        '"id" NUMBER(19) NOT NULL',
        '"name col" NCLOB',
        '"code" VARCHAR(20 CHAR)',
        '"f" BINARY_DOUBLE',
        '"amount" NUMERIC(38, 2)',
        '"ts" TIMESTAMP',
        '"d" DATE',
        '"flag" SMALLINT',
        '"doc" NCLOB',
        'PRIMARY KEY ("id")',
    ],
}


@pytest.mark.parametrize("dialect", ["mssql", "oracle"])
def test_create_table_ddl(dialect: str) -> None:
    module = {"mssql": mssql, "oracle": oracle}[dialect]
    table = build_table(dialect, "dbo", "My Table", SPECS, primary_key=["id"])
    ddl = str(CreateTable(table).compile(dialect=module.dialect()))
    for fragment in DDL[dialect]:
        assert fragment in ddl, f"{fragment!r} not in {ddl}"
    assert "IDENTITY" not in ddl


def _tables(dialect: str) -> tuple[sa.Table, sa.Table]:
    target = build_table(dialect, "dbo", "My Table", SPECS)
    stage = build_table(dialect, "dbo", "_stage_1", SPECS)
    return target, stage


def test_merge_mssql() -> None:
    target, stage = _tables("mssql")
    sql = str(Merge(target, stage, ["id"]).compile(dialect=mssql.dialect()))
    assert sql.startswith(
        "MERGE INTO [dbo].[My Table] AS tgt USING [dbo].[_stage_1] AS src "
        "ON (tgt.[id] = src.[id])"
    )
    assert "WHEN MATCHED THEN UPDATE SET [name col] = src.[name col], " in sql
    assert "[id] = src.[id]," not in sql.split("UPDATE SET")[1]
    assert sql.rstrip().endswith(
        "WHEN NOT MATCHED THEN INSERT ([id], [name col], [code], [f], [amount], "
        "[ts], [d], [flag], [doc]) VALUES (src.[id], src.[name col], src.[code], "
        "src.[f], src.[amount], src.[ts], src.[d], src.[flag], src.[doc]);"
    )


def test_merge_oracle() -> None:
    target, stage = _tables("oracle")
    sql = str(Merge(target, stage, ["id"]).compile(dialect=oracle.dialect()))
    assert sql.startswith(
        'MERGE INTO "dbo"."My Table" tgt USING "dbo"."_stage_1" src '
        'ON (tgt."id" = src."id")'
    )
    assert 'WHEN MATCHED THEN UPDATE SET "name col" = src."name col"' in sql
    assert not sql.rstrip().endswith(";")


def test_merge_composite_key_only_keys() -> None:
    specs = [ColumnSpec("a", Kind.INTEGER, is_key=True), ColumnSpec("b", Kind.STRING)]
    target = build_table("mssql", None, "t", specs)
    stage = build_table("mssql", None, "s", specs)
    sql = str(Merge(target, stage, ["a", "b"]).compile(dialect=mssql.dialect()))
    assert "ON (tgt.[a] = src.[a] AND tgt.[b] = src.[b])" in sql
    assert "WHEN MATCHED" not in sql


def test_postgres_upsert_skips_unchanged_rows() -> None:
    target = build_table("postgresql", None, "t", SPECS[:3])
    stage = build_table("postgresql", None, "s", SPECS[:3])
    sql = str(
        postgres_upsert_from(target, stage, ["id"]).compile(
            dialect=postgresql.dialect()
        )
    )
    assert 'ON CONFLICT ("id") DO UPDATE SET "name col" = excluded."name col"' in sql
    assert 'WHERE "t"."name col" IS DISTINCT FROM excluded."name col"' in sql


@pytest.mark.postgres
def test_merge_loader_runs_on_postgresql_15(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SQL Server/Oracle code path (staging table + MERGE), run for real on
    PostgreSQL 15, which has MERGE too."""
    monkeypatch.setitem(loaders.LOADERS, "postgresql", loaders.MergeLoader)
    harness = Harness(postgres_url, tmp_path)
    props = {"id": {"type": "integer"}, "v": {"type": ["null", "string"]}}
    harness.run(
        [
            schema_msg("t", props, ["id"]),
            record_msg("t", {"id": 1, "v": "a"}),
            record_msg("t", {"id": 2, "v": "b"}),
        ]
    )
    harness.run(
        [
            schema_msg("t", props, ["id"]),
            record_msg("t", {"id": 2, "v": "changed"}),
            record_msg("t", {"id": 3, "v": "c"}),
        ]
    )
    assert harness.rows("t", "id") == [
        {"id": 1, "v": "a"},
        {"id": 2, "v": "changed"},
        {"id": 3, "v": "c"},
    ]
    assert sorted(sa.inspect(harness.engine).get_table_names()) == ["t"]
    harness.engine.dispose()
