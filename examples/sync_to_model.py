"""Iterate a paged API as typed Python objects (the old "SyncToModel").

Rows become instances of your dataclass (or pydantic model with
``--pydantic``): fields are matched by name, unknown keys are ignored and
``"YYYY-MM-DD HH:MM:SS"`` texts become ``datetime`` objects. Pages are fetched
as you iterate, so a million rows need no more memory than a thousand::

    python examples/sync_to_model.py --base-url http://127.0.0.1:8765
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import sys
import typing as t

from tap_openapi import OpenAPIClient, OpenAPIError

DEFAULT_BASE_URL = "http://127.0.0.1:8765"


@dataclasses.dataclass
class Fake:
    """One row of /api/v1/sync/fake, typed."""

    id: int
    colString1: str
    colString2: str
    colString3: str
    colString4: str
    colInt1: int
    colInt2: int
    colInt3: int
    colInt4: int
    colFloat1: float
    colFloat2: float
    colFloat3: float
    colFloat4: float
    colSqlTime1: dt.datetime
    colSqlTime2: dt.datetime
    colSqlTime3: dt.datetime
    colSqlTime4: dt.datetime


def pydantic_model() -> type[t.Any]:
    """The same row as a pydantic model (pip install 'tap-openapi[pydantic]')."""
    import pydantic

    class FakeModel(pydantic.BaseModel):
        id: int
        colString1: str
        colInt1: int
        colFloat1: float
        colSqlTime1: dt.datetime

    return FakeModel


def settings_from(args: argparse.Namespace) -> dict[str, t.Any]:
    """Settings from --config, else from --base-url and the environment."""
    if args.config:
        with open(args.config, encoding="utf-8") as stream:
            return dict(json.load(stream))
    return {
        "base_url": args.base_url,
        "client_id": os.environ.get("OPENAPI_CLIENT_ID", "demo-client"),
        "client_secret": os.environ.get("OPENAPI_CLIENT_SECRET", "demo-secret"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base-url", default=os.environ.get("OPENAPI_BASE_URL", DEFAULT_BASE_URL)
    )
    parser.add_argument("--config", help="a tap-openapi config file (JSON)")
    parser.add_argument("--pydantic", action="store_true", help="use a pydantic model")
    args = parser.parse_args()

    model: type[t.Any] = pydantic_model() if args.pydantic else Fake
    count = 0
    first = latest = None
    try:
        with OpenAPIClient(settings_from(args)) as client:
            for row in client.iter_rows("/api/v1/sync/fake", model=model):
                count += 1
                first = first or row
                if latest is None or row.colSqlTime1 > latest.colSqlTime1:
                    latest = row
    except OpenAPIError as exc:
        print(f"sync_to_model: error: {exc}", file=sys.stderr)
        return 1
    print(f"Read {count} {model.__name__} objects")
    if first is not None and latest is not None:
        print(f"first: {first!r}")
        print(f"latest colSqlTime1: {latest.colSqlTime1.isoformat()} (id {latest.id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
