"""Command line: serve the mock platform until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import types

from tap_openapi.mock_platform.platform import MockPlatform


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tap_openapi.mock_platform",
        description="Serve an imitation of the OpenAPI platform on loopback.",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on")
    add("--port", type=int, default=8765, help="TCP port; 0 picks a free one")
    add("--rows", type=int, default=10_000, help="rows of the sample APIs")
    add("--latency-ms", type=float, default=0, help="delay per API request")
    add("--token-ttl", type=float, default=3600, help="access token lifetime (s)")
    add(
        "--advertised-ttl",
        type=float,
        default=None,
        help="expires_in told to clients, if not --token-ttl (early expiry)",
    )
    add("--fail-every", type=int, default=0, help="HTTP 5xx every Nth API request")
    add(
        "--fail-status",
        type=int,
        default=500,
        help="status of --fail-every answers, 500-599 (e.g. 502, 503, 504)",
    )
    add("--throttle-every", type=int, default=0, help="429 every Nth API request")
    add("--retry-after", type=int, default=1, help="Retry-After of a 429 (s)")
    add("--drop-every", type=int, default=0, help="cut the body every Nth request")
    add("--garbage-every", type=int, default=0, help="non-JSON body every Nth")
    add(
        "--reset-every",
        type=int,
        default=0,
        help="reset the connection (TCP RST, no answer) every Nth API request",
    )
    add("--slow-first", type=int, default=0, help="delay the first N API requests")
    add("--slow-ms", type=float, default=0, help="the delay of --slow-first (ms)")
    add(
        "--token-faults",
        action="store_true",
        help="give token requests the faults too",
    )
    add(
        "--total-num",
        choices=("exact", "omit", "overstate"),
        default="exact",
        help="how list answers report totalNum",
    )
    add("--ts-param", default="ts", help="query parameter /fakewithts starts from")
    add("--tls-cert", default=None, help="serve HTTPS with this PEM certificate")
    add("--tls-key", default=None, help="the PEM private key of --tls-cert")
    add("--log-level", default="WARNING", help="e.g. INFO or DEBUG")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the server until a signal arrives; return the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(message)s"
    )
    stop = threading.Event()

    def _on_signal(signum: int, frame: types.FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        platform = MockPlatform(
            rows=args.rows,
            token_ttl=args.token_ttl,
            advertised_ttl=args.advertised_ttl,
            latency_ms=args.latency_ms,
            port=args.port,
            host=args.host,
            fail_every=args.fail_every,
            throttle_every=args.throttle_every,
            retry_after=args.retry_after,
            drop_every=args.drop_every,
            garbage_every=args.garbage_every,
            reset_every=args.reset_every,
            fail_status=args.fail_status,
            slow_first=args.slow_first,
            slow_ms=args.slow_ms,
            token_faults=args.token_faults,
            total_num=args.total_num,
            ts_param=args.ts_param,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
        )
        platform.start()
    except (OSError, ValueError) as exc:
        print(f"mock platform: cannot start: {exc}", file=sys.stderr)
        return 2
    try:
        print(f"mock platform ready at {platform.url}", flush=True)
        # Event.wait with a timeout keeps the main thread responsive to signals.
        while not stop.wait(0.5):
            pass
    finally:
        platform.stop()
    print("mock platform stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
