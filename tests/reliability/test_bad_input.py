"""The bad-input table: every misconfiguration and bad input says what is wrong.

Each case runs a console script as a subprocess and checks that it exits
non-zero, that its message names the problem (key words), that the last line
of stderr is the tool's own ERROR line rather than a traceback, and that no
secret of the configuration appears anywhere in stdout or stderr. Target
cases also check the database: a table loaded before stays exactly as it was.
"""

from __future__ import annotations

import json
import re
import subprocess
import typing as t
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from rel_helpers import (
    ENV,
    TARGET,
    count_rows,
    read_table,
    run_pipe,
    write_json,
    write_lines,
)

from tap_openapi.mock_platform import MockPlatform

# Distinctive values: if one shows up in any output, a secret leaked.
WRONG_SECRET = "S3cr3t-XYZ-client-7f3a"
WRONG_PASSWORD = "S3cr3t-XYZ-passw0rd-91c2"
TYPO_SECRET = "S3cr3t-XYZ-typo-5d8e"
DB_PASSWORD = "S3cr3t-XYZ-db-4b6f"
ROLE_PASSWORD = "S3cr3t-XYZ-role-a1d0"

ITEM_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": ["string", "null"], "maxLength": 10},
        "n": {"type": ["integer", "null"]},
    },
}
ID_SCHEMA = {"type": "object", "properties": {"id": {"type": ["integer", "null"]}}}


def schema(stream: str = "items") -> dict[str, t.Any]:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": ITEM_SCHEMA,
        "key_properties": ["id"],
    }


def record(stream: str = "items", **values: t.Any) -> dict[str, t.Any]:
    return {"type": "RECORD", "stream": stream, "record": values}


PRELOAD = [
    schema(),
    record(id=1, name="one", n=1),
    record(id=2, name="two", n=2),
    record(id=3, name="three", n=3),
    {"type": "STATE", "value": {"bookmarks": {"items": {"n": 3}}}},
]
# Valid changes sent ahead of each bad line: none of them may be committed.
CHANGES = [schema(), record(id=1, name="changed", n=10), record(id=4, name="new")]


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def assert_clean_failure(
    outcome: Outcome, keywords: t.Sequence[str], secrets: t.Iterable[str]
) -> None:
    """Non-zero exit, an ERROR line last holding the key words, no secret anywhere.

    The key words (what went wrong, where, how to fix it) must be in that last
    ERROR line itself: an operator reads the last line of a failed run first.
    """
    assert outcome.returncode != 0, outcome.output[-2000:]
    lines = [ln for ln in outcome.stderr.splitlines() if ln.strip()]
    assert lines, "nothing on stderr"
    last = lines[-1]
    assert not last.startswith((" ", "Traceback")), f"traceback last: {last!r}"
    assert "ERROR" in last, f"last line is not an ERROR line: {last!r}"
    assert "Traceback" not in outcome.stderr, "an expected failure printed a traceback"
    missing = [k for k in keywords if k.lower() not in last.lower()]
    assert not missing, f"{missing} not in the last ERROR line: {last!r}"
    leaked = [s for s in secrets if s and s in outcome.output]
    assert not leaked, f"secrets {leaked} in the output"


# --- tap ------------------------------------------------------------------------


@dataclass
class TapCase:
    """One misconfiguration of the tap.

    ``configure`` gets the running platform and a scratch folder and returns
    the tap config; ``faults`` go to the platform's constructor.
    """

    configure: Callable[[MockPlatform, Path], dict[str, t.Any]]
    keywords: tuple[str, ...]
    faults: dict[str, t.Any] = field(default_factory=dict)


def _base(p: MockPlatform, **overrides: t.Any) -> dict[str, t.Any]:
    return p.tap_config(**{"max_retries": 1, **overrides})


def _without(p: MockPlatform, key: str) -> dict[str, t.Any]:
    config = _base(p)
    del config[key]
    return config


def _signed_in(p: MockPlatform, tmp: Path, **overrides: t.Any) -> dict[str, t.Any]:
    """Password grant with a token cache, so the test can read the live tokens."""
    settings = {
        "grant_type": "password",
        "username": p.username,
        "password": p.password,
        "token_cache_path": str(tmp / "tokens.json"),
    }
    return _base(p, **settings, **overrides)


def _used_refresh_token(p: MockPlatform) -> str:
    """A refresh token that has been used once, so rotation has invalidated it."""
    answer = requests.post(
        p.token_url,
        data={"grant_type": "password", "username": p.username, "password": p.password},
        auth=(p.client_id, p.client_secret),
        timeout=10,
    ).json()
    token = str(answer["refresh_token"])
    requests.post(
        p.token_url,
        data={"grant_type": "refresh_token", "refresh_token": token},
        auth=(p.client_id, p.client_secret),
        timeout=10,
    ).raise_for_status()
    return token


def _one_stream(path: str, **item: t.Any) -> list[dict[str, t.Any]]:
    return [{"name": "broken", "path": path, "primary_keys": ["id"], **item}]


TAP_CASES: dict[str, TapCase] = {
    "missing-base-url": TapCase(
        lambda p, tmp: _without(p, "base_url"), ("base_url", "required")
    ),
    "missing-client-id": TapCase(
        lambda p, tmp: _without(p, "client_id"), ("client_id", "required")
    ),
    "missing-streams": TapCase(
        lambda p, tmp: _without(p, "streams"), ("streams", "required")
    ),
    "misspelled-setting": TapCase(
        lambda p, tmp: _base(p, pagesize=100), ("pagesize", "did you mean 'page_size'")
    ),
    "misspelled-secret-setting": TapCase(
        lambda p, tmp: {
            **_without(p, "client_secret"),
            "client_secrte": TYPO_SECRET,
        },
        ("client_secrte", "did you mean 'client_secret'"),
    ),
    "misspelled-stream-key": TapCase(
        lambda p, tmp: _base(
            p,
            streams=[{"name": "x", "path": "/api/v1/sync/fake", "primary_key": ["id"]}],
        ),
        ("streams[0].primary_key", "did you mean 'primary_keys'"),
    ),
    "secret-of-wrong-type": TapCase(
        lambda p, tmp: _base(p, client_secret=[TYPO_SECRET]),
        ("client_secret", "string"),
    ),
    "invalid-base-url": TapCase(
        lambda p, tmp: _base(p, base_url="127.0.0.1:8080/api"),
        ("base_url", "127.0.0.1:8080/api"),
    ),
    "unreachable-host": TapCase(
        lambda p, tmp: _base(p, base_url="http://127.0.0.1:9"),
        ("127.0.0.1:9", "unreachable", "check base_url"),
    ),
    "wrong-client-secret": TapCase(
        lambda p, tmp: _base(p, client_secret=WRONG_SECRET),
        ("invalid_client", "client_credentials", "check client_id and client_secret"),
    ),
    "wrong-password": TapCase(
        lambda p, tmp: _base(
            p, grant_type="password", username=p.username, password=WRONG_PASSWORD
        ),
        ("invalid_grant", "password grant"),
    ),
    "expired-refresh-token": TapCase(
        lambda p, tmp: _base(
            p, grant_type="refresh_token", refresh_token=_used_refresh_token(p)
        ),
        ("refresh token", "invalid_grant", "tap-openapi-login"),
    ),
    "stream-path-404": TapCase(
        lambda p, tmp: _signed_in(
            p, tmp, streams=_one_stream("/api/v1/nope", schema=ID_SCHEMA)
        ),
        ("HTTP 404", "/api/v1/nope", "stream 'broken'", "stream's path"),
    ),
    "forbidden-403": TapCase(
        lambda p, tmp: _signed_in(
            p, tmp, streams=_one_stream("/api/v1/forbidden", schema=ID_SCHEMA)
        ),
        ("HTTP 403", "/api/v1/forbidden", "stream 'broken'", "scope"),
    ),
    "http-400-bad-parameter": TapCase(
        lambda p, tmp: _signed_in(
            p,
            tmp,
            streams=_one_stream(
                "/api/v1/sync/fakewithts", params={"ts": "yesterday"}, schema=ID_SCHEMA
            ),
        ),
        ("HTTP 400", "/api/v1/sync/fakewithts", "A400IP", "stream 'broken'"),
    ),
    "rows-not-a-list": TapCase(
        lambda p, tmp: _signed_in(
            p,
            tmp,
            streams=_one_stream("/api/v1/sync/fake", records_path="data.totalNum"),
        ),
        ("stream 'broken'", "page 1", "expected a list", "records_path"),
    ),
    "non-json-body": TapCase(
        lambda p, tmp: _signed_in(p, tmp, streams=_one_stream("/api/v1/sync/fake")),
        ("not valid JSON", "/api/v1/sync/fake", "page 1", "gave up after 2 attempts"),
        faults={"garbage_every": 1},
    ),
    "retries-exhausted-500": TapCase(
        lambda p, tmp: _signed_in(
            p, tmp, max_retries=2, streams=_one_stream("/api/v1/sync/fake")
        ),
        ("HTTP 500", "/api/v1/sync/fake", "gave up after 3 attempts"),
        faults={"fail_every": 1},
    ),
    "business-errcode": TapCase(
        lambda p, tmp: _signed_in(
            p, tmp, streams=_one_stream("/api/v1/error/business", schema=ID_SCHEMA)
        ),
        ("errCode=40001", "simulated business error", "stream 'broken'", "requestId="),
    ),
}
# Known gaps, reported to the owners; strict, so a fix shows up as XPASS.
KNOWN_BUGS: dict[str, str] = {}


def cases(ids: t.Iterable[str], prefix: str = "") -> list[t.Any]:
    """Parametrize ids, with a strict xfail on the known gaps."""
    params = []
    for case_id in ids:
        reason = KNOWN_BUGS.get(prefix + case_id)
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        params.append(pytest.param(case_id, id=case_id, marks=marks))
    return params


# A non-transient failure must not be retried.
FAIL_FAST = {
    "stream-path-404",
    "forbidden-403",
    "http-400-bad-parameter",
    "business-errcode",
    "wrong-client-secret",
}


def _tap_secrets(config: dict[str, t.Any], tmp: Path) -> list[str]:
    secrets = [
        str(config[k])
        for k in ("client_secret", "password", "refresh_token")
        if isinstance(config.get(k), str)
    ]
    secrets += re.findall(r"S3cr3t-XYZ-[\w-]+", json.dumps(config))
    cache = tmp / "tokens.json"
    if cache.exists():
        tokens = json.loads(cache.read_text())
        secrets += [str(v) for k, v in tokens.items() if k.endswith("_token") and v]
        assert tokens.get("access_token"), "the token cache holds no access token"
    return secrets


@pytest.mark.parametrize("case_id", cases(TAP_CASES))
def test_tap_bad_input(case_id: str, sqlite_url: str, tmp_path: Path) -> None:
    """Each tap failure, piped into target-sqlalchemy over a loaded database."""
    case = TAP_CASES[case_id]
    before = _preload(sqlite_url, tmp_path)
    with MockPlatform(rows=50, **case.faults) as platform:
        config = case.configure(platform, tmp_path)
        run = run_pipe(tmp_path, config, {"sqlalchemy_url": sqlite_url}, name="bad")
        api_requests = platform.stats["api_requests"]
    secrets = _tap_secrets(config, tmp_path)
    assert_clean_failure(Outcome(run.tap_rc, "", run.tap_stderr), case.keywords, [])
    leaked = [s for s in secrets if s and s in run.output]
    assert not leaked, f"secrets {leaked} in the output"
    if case_id in FAIL_FAST:
        assert "Retrying" not in run.tap_stderr
        assert api_requests <= 1
    # The target saw the input end early and stopped cleanly; no stream got a
    # bookmark, no rows, and the table loaded before is as it was.
    assert run.target_rc == 0, run.target_stderr[-2000:]
    assert not [st for st in run.states if st.get("bookmarks")], run.states
    assert sorted(read_table(sqlite_url, "items"), key=lambda r: r["id"]) == before
    engine = sa.create_engine(sqlite_url)
    try:
        tables = set(sa.inspect(engine).get_table_names()) - {"items"}
    finally:
        engine.dispose()
    assert all(count_rows(sqlite_url, table) == 0 for table in tables)


# --- target ---------------------------------------------------------------------


@dataclass
class TargetCase:
    """Bad input for the target: the lines after the valid changes, settings."""

    lines: list[t.Any]
    keywords: tuple[str, ...]
    settings: dict[str, t.Any] = field(default_factory=dict)
    dialect: str = "postgres"


TARGET_CASES: dict[str, TargetCase] = {
    "malformed-json-line": TargetCase(
        ['{"type": "RECORD", "stream": "items", "rec'],
        ("input line 4", "not valid JSON"),
    ),
    "record-before-schema": TargetCase(
        [record("other", id=1)], ("stream 'other'", "before", "schema", "line 4")
    ),
    "schema-violation": TargetCase(
        [record(id=5, n="many")],
        ("stream 'items'", "violates its schema", "n", "input line 4"),
        {"validate_records": True},
    ),
    "value-not-convertible": TargetCase(
        [record(id=5, n="many")], ("stream 'items'", "'n'", "many", "input line 4")
    ),
    "unknown-message-type": TargetCase(
        [{"type": "FOO", "stream": "items"}], ("input line 4", "unknown", "'FOO'")
    ),
    "value-too-long-postgres": TargetCase(
        [record(id=5, name="x" * 50)],
        ("stream 'items'", "rolled back", "too long", "input lines 2-4"),
    ),
    "value-too-long-mysql": TargetCase(
        [record(id=5, name="x" * 50)],
        ("stream 'items'", "rolled back", "too long", "'name'"),
        dialect="mysql",
    ),
    "out-of-range-postgres": TargetCase(
        [record(id=5, n=2**70)], ("stream 'items'", "rolled back", "out of range")
    ),
    "out-of-range-mysql": TargetCase(
        [record(id=5, n=2**70)],
        ("stream 'items'", "rolled back", "out of range", "'n'"),
        dialect="mysql",
    ),
    "secret-of-wrong-type": TargetCase(
        [],
        ("sqlalchemy_url", "string"),
        {"sqlalchemy_url": [f"postgresql://u:{DB_PASSWORD}@h/db"]},
    ),
    "misspelled-setting": TargetCase(
        [], ("load_mehtod", "did you mean 'load_method'"), {"load_mehtod": "upsert"}
    ),
}


def _preload(url: str, tmp: Path) -> list[dict[str, t.Any]]:
    from target_sqlalchemy.target import TargetSQLAlchemy

    source = write_lines(tmp / "preload.singer", PRELOAD)
    target = TargetSQLAlchemy(config={"sqlalchemy_url": url})
    try:
        with source.open(encoding="utf-8") as stdin:
            target.listen(file_input=stdin)
    finally:
        target.target_connector._engine.dispose()
    return sorted(read_table(url, "items"), key=lambda r: r["id"])


def _run_target(
    url: str, lines: t.Sequence[t.Any], settings: dict[str, t.Any], tmp: Path
) -> Outcome:
    config = write_json(tmp / "target.json", {"sqlalchemy_url": url, **settings})
    source = write_lines(tmp / "input.singer", lines)
    with source.open(encoding="utf-8") as stdin:
        done = subprocess.run(
            [TARGET, "--config", str(config)],
            stdin=stdin,
            capture_output=True,
            text=True,
            env=ENV,
            timeout=60,
            check=False,
        )
    return Outcome(done.returncode, done.stdout, done.stderr)


def _with_password(url: str, password: str) -> str:
    # Trust authentication ignores it; it is there to be redacted.
    return sa.make_url(url).set(password=password).render_as_string(hide_password=False)


@pytest.mark.parametrize("case_id", cases(TARGET_CASES, "target-"))
def test_target_bad_input(
    case_id: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    case = TARGET_CASES[case_id]
    url = str(request.getfixturevalue(f"{case.dialect}_url"))
    if case.dialect == "postgres":
        url = _with_password(url, DB_PASSWORD)
    before = _preload(url, tmp_path)
    outcome = _run_target(url, [*CHANGES, *case.lines], case.settings, tmp_path)
    assert_clean_failure(outcome, case.keywords, [DB_PASSWORD])
    assert outcome.stdout == "", "a STATE was emitted although nothing was committed"
    after = sorted(read_table(url, "items"), key=lambda r: r["id"])
    assert after == before, "the failed run changed the table"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(
            f"postgresql+psycopg2://postgres:{DB_PASSWORD}@127.0.0.1:9/test",
            id="postgres-refused",
        ),
        pytest.param(
            f"mysql+pymysql://root:{DB_PASSWORD}@127.0.0.1:9/test", id="mysql-refused"
        ),
        pytest.param(
            f"postgresql+psycopg2://u:{DB_PASSWORD}@no-such-host.invalid/test",
            id="postgres-unresolvable",
        ),
    ],
)
def test_target_database_unreachable(url: str, tmp_path: Path) -> None:
    outcome = _run_target(url, [*CHANGES], {}, tmp_path)
    host = sa.make_url(url).host
    assert_clean_failure(outcome, ("cannot connect", str(host), "***"), [DB_PASSWORD])


@pytest.fixture
def mysql_user(mysql_url: str) -> Iterator[tuple[str, str]]:
    """A MariaDB user with a password, allowed on the test database only."""
    name = f"rel_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(mysql_url)
    database = sa.make_url(mysql_url).database
    with admin.begin() as conn:
        conn.execute(
            sa.text(f"CREATE USER '{name}'@'%' IDENTIFIED BY :pw"),
            {"pw": ROLE_PASSWORD},
        )
        conn.execute(sa.text(f"GRANT ALL ON `{database}`.* TO '{name}'@'%'"))
    try:
        yield mysql_url, name
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP USER '{name}'@'%'"))
        admin.dispose()


def test_target_wrong_database_password(
    mysql_user: tuple[str, str], tmp_path: Path
) -> None:
    mysql_url, name = mysql_user
    before = _preload(mysql_url, tmp_path)
    url = sa.make_url(mysql_url).set(username=name, password=WRONG_PASSWORD)
    outcome = _run_target(
        url.render_as_string(hide_password=False), CHANGES, {}, tmp_path
    )
    assert_clean_failure(
        outcome, ("cannot connect", "access denied", name), [WRONG_PASSWORD]
    )
    assert sorted(read_table(mysql_url, "items"), key=lambda r: r["id"]) == before


@pytest.fixture
def read_only_role(postgres_url: str) -> Iterator[tuple[str, str]]:
    """A PostgreSQL role that may read the test schema's tables but not write."""
    name = f"rel_ro_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE {name} LOGIN PASSWORD '{ROLE_PASSWORD}'"))
    try:
        yield postgres_url, name
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP OWNED BY {name}"))
            conn.execute(sa.text(f"DROP ROLE {name}"))
        admin.dispose()


def test_target_permission_denied(
    read_only_role: tuple[str, str], tmp_path: Path
) -> None:
    postgres_url, name = read_only_role
    before = _preload(postgres_url, tmp_path)
    admin = sa.create_engine(postgres_url)
    options = str(sa.make_url(postgres_url).query["options"])
    schema_name = options.split("=", 1)[1]
    with admin.begin() as conn:
        conn.execute(sa.text(f'GRANT USAGE ON SCHEMA "{schema_name}" TO {name}'))
        conn.execute(
            sa.text(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema_name}" TO {name}')
        )
    admin.dispose()
    url = sa.make_url(postgres_url).set(username=name, password=ROLE_PASSWORD)
    outcome = _run_target(
        url.render_as_string(hide_password=False), CHANGES, {}, tmp_path
    )
    assert_clean_failure(
        outcome, ("stream 'items'", "permission denied", "items"), [ROLE_PASSWORD]
    )
    assert sorted(read_table(postgres_url, "items"), key=lambda r: r["id"]) == before
