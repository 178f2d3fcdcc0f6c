"""Time tap-openapi alone, writing to /dev/null, against a local mock platform.

Usage:
    python benchmarks/bench_tap.py --sizes 100000,1000000 --workers 1,4
    python benchmarks/bench_tap.py --sizes 100000 --latency-ms 20

For each row count a mock platform is started as its own process. Then:

- ``floor``: the same pages fetched by plain requests + orjson on 4 threads,
  no Singer: how fast the mock can serve (the ceiling for the tap);
- ``tap wN``: the ``tap-openapi`` console script with
  ``max_concurrent_requests=N``, stdout to /dev/null;
- ``replay wN`` (with ``--replay``): the same against a trivial server that
  answers every page with one pre-encoded page of mock rows, so the server
  costs almost nothing and the tap's own speed shows.

The table gives wall time, rows/s, the tap's own CPU seconds (user + system,
from ``wait4``), rows per CPU second (what the tap could do with a faster
server) and peak RSS. On a shared 2-core machine the mock and the tap compete
for the CPU, so wall-clock rows/s is a lower bound.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import requests

TAP = str(Path(sys.executable).with_name("tap-openapi"))
PATH = "/api/v1/sync/fake"
PAGE = 2000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_mock(rows: int, latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    command = [sys.executable, "-m", "tap_openapi.mock_platform"]
    command += ["--port", str(port), "--rows", str(rows)]
    command += ["--latency-ms", str(latency_ms)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "ready" not in line:
        process.kill()
        raise SystemExit(f"mock platform did not start: {line!r}")
    return process, f"http://127.0.0.1:{port}"


def floor(base_url: str, rows: int) -> tuple[float, int]:
    session = requests.Session()
    token = session.post(
        f"{base_url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=("demo-client", "demo-secret"),
        timeout=60,
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    def page(number: int) -> int:
        params = {"pageNum": number, "pageSize": PAGE}
        response = session.get(
            base_url + PATH, params=params, headers=headers, timeout=60
        )
        return len(orjson.loads(response.content)["data"]["rows"])

    started = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        count = sum(pool.map(page, range(1, -(-rows // PAGE) + 1)))
    return time.perf_counter() - started, count


class _ReplayHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real platform
    page: bytes = b""

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # the token endpoint
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._send(b'{"access_token":"t","token_type":"Bearer","expires_in":3600}')

    def do_GET(self) -> None:
        self._send(self.page)

    def log_message(self, *args: object) -> None:
        pass


def start_replay(base_url: str, rows: int) -> tuple[http.server.HTTPServer, str]:
    """Serve page 1 of the mock for every page, with ``totalNum=rows``."""
    session = requests.Session()
    token = session.post(
        f"{base_url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=("demo-client", "demo-secret"),
        timeout=60,
    ).json()["access_token"]
    envelope = session.get(
        base_url + PATH,
        params={"pageNum": 1, "pageSize": PAGE},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    ).json()
    envelope["data"]["totalNum"] = rows
    handler = type("Replay", (_ReplayHandler,), {"page": orjson.dumps(envelope)})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def run_tap(base_url: str, workers: int, workdir: Path) -> tuple[float, float, float]:
    config = {
        "base_url": base_url,
        "client_id": "demo-client",
        "client_secret": "demo-secret",
        "max_concurrent_requests": workers,
        "streams": [{"name": "fake", "path": PATH, "primary_keys": ["id"]}],
    }
    config_path = workdir / f"config-{workers}.json"
    config_path.write_text(json.dumps(config))
    log = workdir / f"tap-{workers}.log"
    with open(os.devnull, "wb") as devnull, log.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [TAP, "--config", str(config_path)], stdout=devnull, stderr=err
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"tap failed:\n{log.read_text()[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--workers", default="1,4")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--replay", action="store_true", help="also time against a replay server"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    workers = [int(w) for w in args.workers.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="bench-tap-"))

    header = (
        f"{'rows':>9} {'run':>9} {'wall s':>7} {'rows/s':>8} "
        f"{'cpu s':>6} {'rows/cpu s':>10} {'peak MB':>8}"
    )
    print(f"latency {args.latency_ms:g} ms per API request, page size {PAGE}")
    print(header)
    print("-" * len(header))
    for rows in sizes:
        mock, base_url = start_mock(rows, args.latency_ms)
        try:
            wall, count = floor(base_url, rows)
            assert count == rows, (count, rows)
            print(f"{rows:>9} {'floor':>9} {wall:>7.2f} {rows / wall:>8.0f}")
            for n in workers:
                wall, cpu, peak = run_tap(base_url, n, workdir)
                print(
                    f"{rows:>9} {f'tap w{n}':>9} {wall:>7.2f} {rows / wall:>8.0f} "
                    f"{cpu:>6.2f} {rows / cpu:>10.0f} {peak:>8.1f}"
                )
            if args.replay:
                server, replay_url = start_replay(base_url, rows)
                try:
                    for n in workers:
                        wall, cpu, peak = run_tap(replay_url, n, workdir)
                        print(
                            f"{rows:>9} {f'replay w{n}':>9} {wall:>7.2f} "
                            f"{rows / wall:>8.0f} {cpu:>6.2f} {rows / cpu:>10.0f} "
                            f"{peak:>8.1f}"
                        )
                finally:
                    server.shutdown()
        finally:
            mock.terminate()
            mock.wait(timeout=10)


if __name__ == "__main__":
    main()
