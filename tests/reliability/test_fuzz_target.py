"""Property test: whatever valid Singer stream goes in, the table equals the model.

Hypothesis draws streams with odd names (spaces, quotes, unicode, reserved
words), columns of every type (63-bit integers, floats, strings, booleans,
date-times), nulls and repeated keys. The model of an upsert is "the last
record per key wins"; after the target ran in-process, every table must hold
exactly the model's rows, on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import io
import json
import os
import typing as t
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from target_sqlalchemy.target import TargetSQLAlchemy

INT64 = 2**63
RESERVED = ["select", "order", "table", "group", "from", "user", "key", "Index"]
# Lower-case letters only beyond ASCII: MySQL compares names case- and
# accent-insensitively, so "é" and "E" would collide there.
NAME_CHARS = "abcXYZ019 _'\"日本語жщ€$#"
TYPES = {
    "integer": {"type": ["integer", "null"]},
    "number": {"type": ["number", "null"]},
    "string": {"type": ["string", "null"]},
    "boolean": {"type": ["boolean", "null"]},
    "date-time": {"type": ["string", "null"], "format": "date-time"},
}
#: Examples per dialect; FUZZ_EXAMPLES=500 searches harder (e.g. overnight).
EXAMPLES = {"sqlite": 40, "postgres": 15, "mysql": 15}
EXTRA = int(os.environ.get("FUZZ_EXAMPLES", "0"))


def _name(max_size: int) -> st.SearchStrategy[str]:
    text = st.text(NAME_CHARS, min_size=1, max_size=max_size).map(str.strip)
    drawn = st.one_of(st.sampled_from(RESERVED), text)
    return drawn.filter(lambda n: bool(n) and not n.startswith("_sdc"))


def _unique(names: list[str]) -> bool:
    folded = [n.casefold() for n in names]
    return len(set(folded)) == len(folded)


_DATETIMES = st.datetimes(
    min_value=datetime.datetime(1900, 1, 1),
    max_value=datetime.datetime(2200, 12, 31),
)
# Any UTC offset: the table keeps the instant, in UTC.
_INSTANTS = st.builds(
    lambda moment, minutes: moment.replace(tzinfo=datetime.timezone.utc).astimezone(
        datetime.timezone(datetime.timedelta(minutes=minutes))
    ),
    _DATETIMES,
    st.integers(-14 * 60, 14 * 60),
)
_FLOATS = st.floats(allow_nan=False, allow_infinity=False, width=64)
VALUES: dict[str, st.SearchStrategy[t.Any]] = {
    "integer": st.integers(-INT64, INT64 - 1),
    "number": _FLOATS,
    "string": st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        max_size=40,
    ),
    "boolean": st.booleans(),
    "date-time": _INSTANTS,
}


@dataclass
class Stream:
    """A drawn stream: its name, key column, typed columns and records."""

    name: str
    key: str
    columns: dict[str, str]  # name -> type
    records: list[dict[str, t.Any]]

    def schema_message(self) -> dict[str, t.Any]:
        properties = {self.key: {"type": ["integer"]}}
        properties.update({c: TYPES[kind] for c, kind in self.columns.items()})
        return {
            "type": "SCHEMA",
            "stream": self.name,
            "schema": {"type": "object", "properties": properties},
            "key_properties": [self.key],
        }

    def model(self) -> dict[int, dict[str, t.Any]]:
        """Upsert semantics: the last record for each key wins."""
        return {r[self.key]: r for r in self.records}


@st.composite
def streams(draw: st.DrawFn) -> list[Stream]:
    stream_names = draw(st.lists(_name(12), min_size=1, max_size=2).filter(_unique))
    out = []
    for stream_name in stream_names:
        names = draw(st.lists(_name(20), min_size=2, max_size=7).filter(_unique))
        key, *others = names
        columns = {c: draw(st.sampled_from(list(TYPES))) for c in others}
        row = st.fixed_dictionaries(
            {
                key: st.integers(-3, 12),  # few keys: many duplicates
                **{c: st.none() | VALUES[kind] for c, kind in columns.items()},
            }
        )
        records = draw(st.lists(row, min_size=1, max_size=25))
        out.append(Stream(stream_name, key, columns, records))
    return out


def _encode(value: t.Any) -> t.Any:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def _messages(drawn: list[Stream]) -> str:
    lines = [json.dumps(s.schema_message()) for s in drawn]
    # Interleave the streams' records, as a tap syncing in parallel might.
    longest = max(len(s.records) for s in drawn)
    for i in range(longest):
        for s in drawn:
            if i < len(s.records):
                record = {k: _encode(v) for k, v in s.records[i].items()}
                lines.append(
                    json.dumps({"type": "RECORD", "stream": s.name, "record": record})
                )
    lines.append(json.dumps({"type": "STATE", "value": {"examples": 1}}))
    return "\n".join(lines) + "\n"


def _normal(kind: str, value: t.Any) -> t.Any:
    if value is None:
        return None
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    if kind == "boolean":
        return bool(value)
    if kind == "date-time":
        if isinstance(value, str):
            value = datetime.datetime.fromisoformat(value)
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value
    return value


def _floats_as_floats(table: sa.Table) -> None:
    # MySQL's DOUBLE reflects with asdecimal=True, which rounds to 10 places.
    for column in table.columns:
        if isinstance(column.type, sa.Float):
            column.type.asdecimal = False


def _drop_all(engine: sa.Engine) -> None:
    metadata = sa.MetaData()
    metadata.reflect(engine)
    metadata.drop_all(engine)


def _check(engine: sa.Engine, stream: Stream) -> None:
    table = sa.Table(stream.name, sa.MetaData(), autoload_with=engine)
    _floats_as_floats(table)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(table))]
    kinds = {stream.key: "integer", **stream.columns}
    got = {r[stream.key]: {c: _normal(k, r[c]) for c, k in kinds.items()} for r in rows}
    want = {
        key: {c: _normal(k, rec[c]) for c, k in kinds.items()}
        for key, rec in stream.model().items()
    }
    assert len(rows) == len(want), (
        f"{stream.name!r}: {len(rows)} rows, model {len(want)}"
    )
    assert got == want, f"stream {stream.name!r}"


def _fuzz(url: str, dialect: str) -> None:
    engine = sa.create_engine(url)

    @settings(
        max_examples=EXTRA or EXAMPLES[dialect],
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(drawn=streams())
    def load_and_compare(drawn: list[Stream]) -> None:
        _drop_all(engine)
        target = TargetSQLAlchemy(config={"sqlalchemy_url": url})
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                target.listen(file_input=io.StringIO(_messages(drawn)))
        finally:
            # The target keeps its pool open after the input ends (reported);
            # in-process runs would exhaust PostgreSQL's connection slots.
            target.target_connector._engine.dispose()  # noqa: SLF001
        assert json.loads(out.getvalue().splitlines()[-1]) == {"examples": 1}
        for stream in drawn:
            _check(engine, stream)

    try:
        load_and_compare()
    finally:
        engine.dispose()


@pytest.mark.slow
def test_fuzz_sqlite(sqlite_url: str) -> None:
    _fuzz(sqlite_url, "sqlite")


@pytest.mark.slow
@pytest.mark.postgres
def test_fuzz_postgres(postgres_url: str) -> None:
    _fuzz(postgres_url, "postgres")


@pytest.mark.slow
@pytest.mark.mysql
def test_fuzz_mysql(mysql_url: str) -> None:
    _fuzz(mysql_url, "mysql")


def test_decimal_normalisation() -> None:
    # MySQL's DOUBLE may reflect as Decimal; the model compares floats.
    assert _normal("number", decimal.Decimal("1.5")) == 1.5
