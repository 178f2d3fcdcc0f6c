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
EXAMPLES = {"sqlite": 60, "postgres": 25, "mysql": 25}
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
        st.characters(codec="utf-8", exclude_characters="\x00"),
        max_size=40,
    ),
    "boolean": st.booleans(),
    "date-time": _INSTANTS,
}


@dataclass
class Stream:
    """A drawn stream: name, key column, typed columns, records.

    From record ``change_at`` on, a second SCHEMA adds the ``added`` columns
    (schema evolution in the middle of a run).
    """

    name: str
    key: str
    columns: dict[str, str]  # name -> type
    records: list[dict[str, t.Any]]
    added: dict[str, str]
    change_at: int

    def schema_message(self, *, evolved: bool) -> dict[str, t.Any]:
        properties: dict[str, t.Any] = {self.key: {"type": ["integer"]}}
        columns = self.all_columns if evolved else self.columns
        properties.update({c: TYPES[kind] for c, kind in columns.items()})
        return {
            "type": "SCHEMA",
            "stream": self.name,
            "schema": {"type": "object", "properties": properties},
            "key_properties": [self.key],
        }

    @property
    def all_columns(self) -> dict[str, str]:
        return {**self.columns, **self.added}

    def model(self) -> dict[int, dict[str, t.Any]]:
        """Upsert semantics: the last record for each key wins."""
        return {r[self.key]: r for r in self.records}


def _rows(
    key: str, columns: dict[str, str]
) -> st.SearchStrategy[list[dict[str, t.Any]]]:
    row = st.fixed_dictionaries(
        {
            key: st.integers(-3, 12),  # few keys: many duplicates
            **{c: st.none() | VALUES[kind] for c, kind in columns.items()},
        }
    )
    return st.lists(row, max_size=12)


@st.composite
def streams(draw: st.DrawFn) -> list[Stream]:
    stream_names = draw(st.lists(_name(12), min_size=1, max_size=2).filter(_unique))
    out = []
    for stream_name in stream_names:
        names = draw(st.lists(_name(20), min_size=2, max_size=9).filter(_unique))
        key, *others = names
        cut = len(others) - draw(st.integers(0, min(2, len(others) - 1)))
        kinds = {c: draw(st.sampled_from(list(TYPES))) for c in others}
        columns = {c: kinds[c] for c in others[:cut]}
        added = {c: kinds[c] for c in others[cut:]}
        before = draw(_rows(key, columns))
        after = draw(_rows(key, {**columns, **added}))
        if not before + after:
            continue
        records = before + after
        out.append(Stream(stream_name, key, columns, records, added, len(before)))
    return out or draw(streams())


def _encode(value: t.Any) -> t.Any:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def _messages(drawn: list[Stream]) -> str:
    lines = [json.dumps(s.schema_message(evolved=False)) for s in drawn]
    # Interleave the streams' records, as a tap syncing in parallel might.
    longest = max(len(s.records) for s in drawn)
    for i in range(longest):
        for s in drawn:
            if s.added and i == s.change_at:
                lines.append(json.dumps(s.schema_message(evolved=True)))
            if i < len(s.records):
                record = {k: _encode(v) for k, v in s.records[i].items()}
                lines.append(
                    json.dumps({"type": "RECORD", "stream": s.name, "record": record})
                )
    # A change drawn after the last record still arrives: it adds empty columns.
    lines += [
        json.dumps(s.schema_message(evolved=True))
        for s in drawn
        if s.added and s.change_at >= len(s.records)
    ]
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
    kinds = {stream.key: "integer", **stream.all_columns}
    got = {r[stream.key]: {c: _normal(k, r[c]) for c, k in kinds.items()} for r in rows}
    want = {
        # A record sent before the new columns existed leaves them NULL.
        key: {c: _normal(k, rec.get(c)) for c, k in kinds.items()}
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
    # Tiny batches too: duplicates then span several transactions.
    @given(drawn=streams(), batch_size=st.sampled_from([1, 4, 10_000]))
    def load_and_compare(drawn: list[Stream], batch_size: int) -> None:
        _drop_all(engine)
        config = {"sqlalchemy_url": url, "batch_size_rows": batch_size}
        target = TargetSQLAlchemy(config=config)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            target.listen(file_input=io.StringIO(_messages(drawn)))
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
