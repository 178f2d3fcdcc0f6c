"""SQL Server and Oracle: DDL and MERGE compiled (no server is connected)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mssql, mysql, oracle, postgresql
from sqlalchemy.schema import CreateTable
from tsa_helpers import Harness, record_msg, schema_msg

from target_sqlalchemy import ddl, loaders
from target_sqlalchemy.connector import build_table
from target_sqlalchemy.errors import UnsupportedChangeError
from target_sqlalchemy.evolution import Existing, join
from target_sqlalchemy.merge import Merge, mysql_insert_text, postgres_upsert_from
from target_sqlalchemy.typemap import ColumnSpec, Kind, sql_type

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


DIALECTS = {
    "mssql": mssql.dialect(),
    "oracle": oracle.dialect(),
    "postgresql": postgresql.dialect(),
    "mysql": mysql.dialect(),
}


def _alter(family: str, existing: Existing, wanted: ColumnSpec) -> list[str]:
    """The statements the connector runs to widen ``existing`` for ``wanted``."""
    dialect = DIALECTS[family]
    target = join(existing, wanted, family)
    new_type = ddl.type_sql(dialect, sql_type(family, target))
    table = ddl.qualified(dialect, "dbo", "My Table")
    return ddl.alter_column(dialect, table, wanted.name, existing, target, new_type)


@pytest.mark.parametrize(
    ("family", "expected"),
    [
        pytest.param(
            "mssql",
            "ALTER TABLE [dbo].[My Table] ADD [new] col%] NVARCHAR(max)",
            id="mssql",
        ),
        pytest.param(
            "oracle", 'ALTER TABLE "dbo"."My Table" ADD "new] col%" NCLOB', id="oracle"
        ),
    ],
)
def test_add_column_ddl(family: str, expected: str) -> None:
    dialect = DIALECTS[family]
    spec = ColumnSpec("new] col%", Kind.STRING)
    column_type = ddl.type_sql(dialect, sql_type(family, spec))
    table = ddl.qualified(dialect, "dbo", "My Table")
    sql = ddl.add_column(dialect, table, spec.name, column_type)
    assert sql == expected.replace("[new] col%]", "[new]] col%]")


@pytest.mark.parametrize(
    ("family", "existing", "wanted", "expected"),
    [
        pytest.param(
            "mssql",
            Existing(Kind.STRING, 20, nullable=False, type_sql="NVARCHAR(20)"),
            ColumnSpec("code", Kind.STRING, 100),
            "ALTER TABLE [dbo].[My Table] ALTER COLUMN [code] NVARCHAR(100) NOT NULL",
            id="mssql-varchar",
        ),
        pytest.param(
            "mssql",
            Existing(Kind.INTEGER, type_sql="BIGINT"),
            ColumnSpec("n", Kind.NUMBER),
            "ALTER TABLE [dbo].[My Table] ALTER COLUMN [n] FLOAT(53) NULL",
            id="mssql-number",
        ),
        pytest.param(
            "mssql",
            Existing(Kind.BOOLEAN, type_sql="BIT"),
            ColumnSpec("b", Kind.STRING),
            "ALTER TABLE [dbo].[My Table] ALTER COLUMN [b] NVARCHAR(max) NULL",
            id="mssql-text",
        ),
        pytest.param(
            "oracle",
            Existing(Kind.STRING, 20, type_sql="VARCHAR(20 CHAR)"),
            ColumnSpec("code", Kind.STRING, 100),
            'ALTER TABLE "dbo"."My Table" MODIFY ("code" VARCHAR(100 CHAR))',
            id="oracle-varchar",
        ),
        pytest.param(
            "oracle",
            Existing(Kind.INTEGER, type_sql="NUMBER(19)"),
            ColumnSpec("n", Kind.DECIMAL, scale=2),
            'ALTER TABLE "dbo"."My Table" MODIFY ("n" NUMERIC(38, 2))',
            id="oracle-decimal",
        ),
        pytest.param(
            "oracle",
            Existing(Kind.DATE, type_sql="DATE"),
            ColumnSpec("d", Kind.DATETIME),
            'ALTER TABLE "dbo"."My Table" MODIFY ("d" TIMESTAMP)',
            id="oracle-timestamp",
        ),
        pytest.param(
            "postgresql",
            Existing(Kind.NUMBER, type_sql="DOUBLE PRECISION"),
            ColumnSpec("n%", Kind.INTEGER),
            'ALTER TABLE "dbo"."My Table" ALTER COLUMN "n%" TYPE NUMERIC '
            'USING "n%"::text::numeric',
            id="postgresql-numeric",
        ),
        pytest.param(
            "mysql",
            Existing(
                Kind.INTEGER,
                int64=False,
                nullable=False,
                default="'0'",
                comment="it's",
                autoincrement=True,
                type_sql="INTEGER",
            ),
            ColumnSpec("n%", Kind.INTEGER),
            "ALTER TABLE `dbo`.`My Table` MODIFY COLUMN `n%` BIGINT NOT NULL "
            "DEFAULT '0' AUTO_INCREMENT COMMENT 'it''s'",
            id="mysql-restates",
        ),
    ],
)
def test_alter_column_ddl(
    family: str, existing: Existing, wanted: ColumnSpec, expected: str
) -> None:
    assert _alter(family, existing, wanted) == [expected]


def test_mysql_boolean_to_text_rewrites_the_values() -> None:
    statements = _alter(
        "mysql", Existing(Kind.BOOLEAN, type_sql="BOOL"), ColumnSpec("b", Kind.STRING)
    )
    assert statements == [
        "ALTER TABLE `dbo`.`My Table` MODIFY COLUMN `b` LONGTEXT NULL",
        "UPDATE `dbo`.`My Table` SET `b` = CASE `b` WHEN '1' THEN 'true' "
        "WHEN '0' THEN 'false' ELSE `b` END",
    ]


@pytest.mark.parametrize(
    ("existing", "wanted", "code"),
    [
        pytest.param(
            Existing(Kind.STRING, 20, type_sql="VARCHAR(20 CHAR)"),
            ColumnSpec("s", Kind.INTEGER),
            "ORA-22858",
            id="varchar-to-nclob",
        ),
        pytest.param(
            Existing(Kind.INTEGER, type_sql="NUMBER(19)"),
            ColumnSpec("n", Kind.NUMBER),
            "ORA-01439",
            id="number-to-binary-double",
        ),
    ],
)
def test_oracle_widenings_known_to_fail_are_refused(
    existing: Existing, wanted: ColumnSpec, code: str
) -> None:
    with pytest.raises(NotImplementedError, match=code) as failure:
        _alter("oracle", existing, wanted)
    assert isinstance(failure.value, UnsupportedChangeError)
    assert f"column {wanted.name!r}" in str(failure.value)


def test_mysql_insert_text_is_built_not_parsed() -> None:
    head, tail = mysql_insert_text(
        mysql.dialect(), None, "t%", ["id", "a VALUES (b", "c`d"], ["id"]
    )
    assert head == "INSERT INTO `t%` (`id`, `a VALUES (b`, `c``d`) VALUES "
    assert tail == (
        " ON DUPLICATE KEY UPDATE `a VALUES (b` = VALUES(`a VALUES (b`), "
        "`c``d` = VALUES(`c``d`)"
    )


@pytest.mark.parametrize(
    ("name", "alias"),
    [
        pytest.param("t%", "new", id="table-t"),
        pytest.param("New", "new_1", id="table-named-new"),
    ],
)
def test_mysql_8_insert_text_uses_a_row_alias(name: str, alias: str) -> None:
    dialect = mysql.dialect()
    dialect.server_version_info = (8, 0, 36)
    head, tail = mysql_insert_text(dialect, "db", name, ["id", "v%"], ["id"])
    assert head == f"INSERT INTO `db`.`{name}` (`id`, `v%`) VALUES "
    assert tail == f" AS {alias} ON DUPLICATE KEY UPDATE `v%` = {alias}.`v%`"


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
