"""Value conversion and type mapping, without a database."""

from __future__ import annotations

import datetime

import pytest

from target_sqlalchemy import values
from target_sqlalchemy.errors import redact
from target_sqlalchemy.evolution import Existing, join, needs_alter
from target_sqlalchemy.typemap import ColumnSpec, Kind, column_kind


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            "2024-01-02 03:04:05", datetime.datetime(2024, 1, 2, 3, 4, 5), id="platform"
        ),
        pytest.param(
            "2024-01-02T03:04:05", datetime.datetime(2024, 1, 2, 3, 4, 5), id="iso"
        ),
        pytest.param(
            "2024-01-02T03:04:05Z", datetime.datetime(2024, 1, 2, 3, 4, 5), id="zulu"
        ),
        pytest.param(
            "2024-01-02T03:04:05.5-01:30",
            datetime.datetime(2024, 1, 2, 4, 34, 5, 500000),
            id="offset",
        ),
        pytest.param(0, datetime.datetime(1970, 1, 1), id="epoch"),
    ],
)
def test_parse_datetime(raw: object, expected: datetime.datetime) -> None:
    assert values.parse_datetime(raw) == expected


@pytest.mark.parametrize("raw", ["yesterday", "2024-13-01 00:00:00", True, [1]])
def test_parse_datetime_rejects(raw: object) -> None:
    with pytest.raises(ValueError, match="."):
        values.parse_datetime(raw)


def test_integers_stay_exact() -> None:
    big = 2**62 + 12345
    assert values.to_int(big) == big
    assert values.to_int(3.0) == 3
    assert values.to_int("9223372036854775807") == 2**63 - 1
    for bad in (1.5, "x", "1.5", "nan"):
        with pytest.raises(ValueError, match="not an integer"):
            values.to_int(bad)


def test_copy_text_escaping() -> None:
    convert = values.copy_converter(Kind.STRING)
    assert convert("a\tb\nc\rd\\e") == "a\\tb\\nc\\rd\\\\e"
    assert convert("中文 'q' \"d\"") == "中文 'q' \"d\""
    assert convert("nul\x00") == "nul"
    assert values.copy_converter(Kind.NUMBER)(1e-300) == "1e-300"
    assert values.copy_converter(Kind.BOOLEAN)(False) == "f"
    assert values.copy_converter(Kind.JSON)({"a": "x\ty"}) == '{"a":"x\\\\ty"}'


def test_mysql_literals() -> None:
    assert values.mysql_quote('it\'s \\ "x"\n') == "'it\\'s \\\\ \\\"x\\\"\\n'"
    assert values.mysql_literal_converter(Kind.INTEGER)(2**62) == str(2**62)
    assert values.mysql_literal_converter(Kind.DATETIME)("2024-01-02 03:04:05") == (
        "'2024-01-02 03:04:05'"
    )
    with pytest.raises(ValueError, match="Invalid isoformat"):
        values.mysql_literal_converter(Kind.DATETIME)("2024-01-02 03:04'05")


@pytest.mark.parametrize(
    ("prop", "kind"),
    [
        pytest.param({"type": "integer"}, Kind.INTEGER, id="integer"),
        pytest.param({"type": ["null", "number"]}, Kind.NUMBER, id="number"),
        pytest.param(
            {"type": "number", "multipleOf": 0.01}, Kind.DECIMAL, id="decimal"
        ),
        pytest.param({"type": "string", "format": "date-time"}, Kind.DATETIME, id="ts"),
        pytest.param(
            {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
            Kind.DATETIME,
            id="anyof-ts",
        ),
        pytest.param({"type": "string", "format": "date"}, Kind.DATE, id="date"),
        pytest.param({"type": ["null", "boolean"]}, Kind.BOOLEAN, id="boolean"),
        pytest.param({"type": "object"}, Kind.JSON, id="object"),
        pytest.param({"type": "array"}, Kind.JSON, id="array"),
        pytest.param({}, Kind.JSON, id="untyped"),
        pytest.param({"type": ["string", "integer"]}, Kind.STRING, id="string-or-int"),
    ],
)
def test_column_kind(prop: dict[str, object], kind: Kind) -> None:
    assert column_kind(prop)[0] is kind


LATTICE = [
    # (existing, wanted, dialect, joined kind, joined length/scale, alter?)
    pytest.param(
        Existing(Kind.INTEGER),
        ColumnSpec("a", Kind.NUMBER),
        "postgresql",
        Kind.DECIMAL,
        None,
        True,
        id="int+number-pg-numeric",
    ),
    pytest.param(
        Existing(Kind.INTEGER),
        ColumnSpec("a", Kind.NUMBER),
        "mysql",
        Kind.NUMBER,
        None,
        True,
        id="int+number-mysql-double",
    ),
    pytest.param(
        Existing(Kind.INTEGER),
        ColumnSpec("a", Kind.NUMBER),
        "sqlite",
        Kind.NUMBER,
        None,
        False,
        id="int+number-sqlite-kept",
    ),
    pytest.param(
        Existing(Kind.NUMBER),
        ColumnSpec("a", Kind.INTEGER),
        "postgresql",
        Kind.DECIMAL,
        None,
        True,
        id="number+int-pg-numeric",
    ),
    pytest.param(
        Existing(Kind.NUMBER),
        ColumnSpec("a", Kind.INTEGER),
        "mysql",
        Kind.NUMBER,
        None,
        False,
        id="number+int-mysql-kept",
    ),
    pytest.param(
        Existing(Kind.BOOLEAN),
        ColumnSpec("a", Kind.INTEGER),
        "postgresql",
        Kind.INTEGER,
        None,
        True,
        id="bool+int",
    ),
    pytest.param(
        Existing(Kind.INTEGER, int64=False),
        ColumnSpec("a", Kind.INTEGER),
        "mysql",
        Kind.INTEGER,
        None,
        True,
        id="int32-to-bigint",
    ),
    pytest.param(
        Existing(Kind.JSON),
        ColumnSpec("a", Kind.STRING),
        "postgresql",
        Kind.STRING,
        None,
        True,
        id="json+string-text",
    ),
    pytest.param(
        Existing(Kind.DATETIME),
        ColumnSpec("a", Kind.INTEGER),
        "mysql",
        Kind.STRING,
        None,
        True,
        id="datetime+int-text",
    ),
    pytest.param(
        Existing(Kind.DATETIME),
        ColumnSpec("a", Kind.INTEGER),
        "sqlite",
        Kind.STRING,
        None,
        True,
        id="datetime+int-sqlite-rebuild",
    ),
    pytest.param(
        Existing(Kind.DATE),
        ColumnSpec("a", Kind.DATETIME),
        "postgresql",
        Kind.DATETIME,
        None,
        True,
        id="date+datetime",
    ),
    pytest.param(
        Existing(Kind.STRING, 10),
        ColumnSpec("a", Kind.STRING, 20),
        "mysql",
        Kind.STRING,
        20,
        True,
        id="varchar-longer",
    ),
    pytest.param(
        Existing(Kind.STRING, 20),
        ColumnSpec("a", Kind.STRING, 10),
        "mysql",
        Kind.STRING,
        20,
        False,
        id="varchar-shorter-kept",
    ),
    pytest.param(
        Existing(Kind.STRING),
        ColumnSpec("a", Kind.INTEGER),
        "postgresql",
        Kind.STRING,
        None,
        False,
        id="text-holds-all",
    ),
    pytest.param(
        Existing(Kind.STRING, 10),
        ColumnSpec("a", Kind.BOOLEAN),
        "postgresql",
        Kind.STRING,
        None,
        True,
        id="varchar+bool-text",
    ),
]


@pytest.mark.parametrize(
    ("existing", "wanted", "dialect", "kind", "size", "alter"), LATTICE
)
def test_widening_lattice(
    existing: Existing,
    wanted: ColumnSpec,
    dialect: str,
    kind: Kind,
    size: int | None,
    alter: bool,
) -> None:
    joined = join(existing, wanted, dialect)
    assert joined.kind is kind
    assert (joined.max_length if kind is Kind.STRING else joined.scale) == size
    assert needs_alter(existing, joined, dialect) is alter
    # A join is symmetric in kind and never narrower than the existing column.
    back = join(Existing(wanted.kind, wanted.max_length), as_wanted(existing), dialect)
    assert back.kind is kind


def as_wanted(existing: Existing) -> ColumnSpec:
    return ColumnSpec("a", existing.kind, existing.length, existing.scale)


def test_redact_hides_passwords() -> None:
    url = "postgresql://user:p%40ss@host/db"
    text = "could not connect to postgresql://user:p@ss@host/db with p@ss"
    assert "p@ss" not in redact(text, url)
    assert "user:***@host" in redact("mysql://user:secret@host/x")


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("postgresql://u@h/db?password=Hush1", id="password"),
        pytest.param("postgresql://u@h/db?sslmode=require&sslpassword=Hush1", id="ssl"),
        pytest.param("mssql+pyodbc://h/db?PWD=Hush1&driver=x", id="pwd"),
        pytest.param("snowflake://u@acct/db?token=Hush1", id="token"),
        pytest.param("bigquery://p/d?credentials_base64=Hush1", id="credentials"),
        pytest.param("x://h/db?private_key_passphrase=Hush1&api_key=Hush2", id="keys"),
        pytest.param("x://h/db?client_secret=Hush1", id="secret"),
    ],
)
def test_redact_hides_secret_query_parameters(url: str) -> None:
    for text in (url, f"cannot connect to {url}: refused", "value Hush1"):
        hidden = redact(text, url)
        assert "Hush1" not in hidden
        assert "Hush2" not in hidden
    assert "sslmode=require" in redact(url, url) or "sslmode" not in url


def test_to_float_keeps_64_bit_integers_and_rounds_wider_ones() -> None:
    assert values.to_float(2**63 - 1) == 2**63 - 1
    assert type(values.to_float(2**63 - 1)) is int
    assert values.to_float(2**64) == 1.8446744073709552e19
    assert type(values.to_float(-(2**63) - 1)) is float


@pytest.mark.parametrize(
    "raw", ["0000-00-00 00:00:00", "2024-00-10 00:00:00", "2024-02-30 00:00:00"]
)
@pytest.mark.parametrize("kind_of", ["copy", "mysql", "sqlite", "python"])
def test_invalid_plain_datetimes_are_rejected(raw: str, kind_of: str) -> None:
    convert = {
        "copy": values.copy_converter(Kind.DATETIME),
        "mysql": values.mysql_literal_converter(Kind.DATETIME),
        "sqlite": values.python_converter(Kind.DATETIME, "sqlite"),
        "python": values.python_converter(Kind.DATETIME, "mysql"),
    }[kind_of]
    with pytest.raises(ValueError, match="not a date-time"):
        convert(raw)
