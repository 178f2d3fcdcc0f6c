"""Call the platform's APIs with GET, POST, PUT and DELETE (the old "CallAPI").

Run against the mock platform (``python -m tap_openapi.mock_platform --port 8765``)::

    python examples/call_api.py --base-url http://127.0.0.1:8765

Credentials come from ``--config FILE`` (a tap config) or from the environment
(OPENAPI_CLIENT_ID, OPENAPI_CLIENT_SECRET; the mock's demo pair by default).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import typing as t

from tap_openapi import HTTPStatusError, OpenAPIClient, OpenAPIError, PlatformError

DEFAULT_BASE_URL = "http://127.0.0.1:8765"


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


def show(method: str, path: str, answer: object) -> None:
    print(f"{method:<6} {path} -> {json.dumps(answer, sort_keys=True)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base-url", default=os.environ.get("OPENAPI_BASE_URL", DEFAULT_BASE_URL)
    )
    parser.add_argument("--config", help="a tap-openapi config file (JSON)")
    args = parser.parse_args()

    try:
        with OpenAPIClient(settings_from(args)) as client:
            item = client.post("/api/v1/items", json={"name": "notebook", "price": 3.5})
            show("POST", "/api/v1/items", item)
            path = f"/api/v1/items/{item['id']}"
            show("GET", path, client.get(path))
            show("PUT", path, client.put(path, json={"name": "notebook", "price": 4}))
            listed = client.get("/api/v1/items", params={"pageNum": 1, "pageSize": 50})
            show("GET", "/api/v1/items", {"totalNum": listed["totalNum"]})
            show("DELETE", path, client.delete(path))
            try:
                client.get(path)
            except HTTPStatusError as exc:
                # A deleted item is gone: the platform answers 404.
                show("GET", path, {"status": exc.status, "code": exc.error_code})
            try:
                client.get("/api/v1/error/business")
            except PlatformError as exc:
                # HTTP 200 with errCode != 0: a business error.
                show("GET", "/api/v1/error/business", {"errCode": exc.err_code})
    except OpenAPIError as exc:
        print(f"call_api: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
