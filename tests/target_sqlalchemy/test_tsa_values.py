"""Value conversion and type mapping, without a database."""

from __future__ import annotations

import datetime

import pytest

from target_sqlalchemy import values
from target_sqlalchemy.errors import redact
from target_sqlalchemy.typemap import ColumnSpec, Kind, column_kind, widened


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


def test_widening_rules() -> None:
    assert widened((Kind.INTEGER, None), ColumnSpec("a", Kind.NUMBER)) is not None
    assert widened((Kind.NUMBER, None), ColumnSpec("a", Kind.INTEGER)) is None
    assert widened((Kind.STRING, 10), ColumnSpec("a", Kind.STRING, 20)) is not None
    assert widened((Kind.STRING, 20), ColumnSpec("a", Kind.STRING, 10)) is None
    assert widened((Kind.STRING, None), ColumnSpec("a", Kind.INTEGER)) is None


def test_redact_hides_passwords() -> None:
    url = "postgresql://user:p%40ss@host/db"
    text = "could not connect to postgresql://user:p@ss@host/db with p@ss"
    assert "p@ss" not in redact(text, url)
    assert "user:***@host" in redact("mysql://user:secret@host/x")
