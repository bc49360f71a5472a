"""Serve both sandboxes: ``python -m sales_channel.sandbox --amazon-port P --commerce-port Q ...``.

The first line of output is one JSON object (URLs and credentials) so scripts can drive the
sandboxes; a readable summary follows. Each service runs in its own process. SIGTERM or Ctrl-C stops
both cleanly.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS, SandboxConfig
from sales_channel.sandbox.common.server import ProcessServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sales_channel.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--public-host", default=None,
                        help="the name clients reach both services by, in the URLs they hand out (feed and "
                             "report documents); default: --host. Needs fixed ports. In docker-compose.yaml: "
                             "the sandbox service's network alias")
    parser.add_argument("--amazon-port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--commerce-port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--orders", type=int, default=200, help="orders in a fresh Amazon seed")
    parser.add_argument("--seed", type=int, default=42, help="seed of the deterministic data")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="F: usage plans refill F times faster, lifecycle delays F times shorter")
    parser.add_argument("--commerce-latency-ms", type=float, default=0.0,
                        help="latency added to every Commerce call (real stores: 100-500 ms)")
    parser.add_argument("--state-dir", type=Path, default=Path("var/sandbox"),
                        help="where both services persist their state")
    parser.add_argument("--fresh", action="store_true", help="discard the persisted state and reseed")
    args = parser.parse_args(argv)
    if args.time_scale <= 0:
        parser.error(f"--time-scale must be > 0, got {args.time_scale}")
    if args.public_host and not (args.amazon_port and args.commerce_port):
        parser.error("--public-host needs --amazon-port and --commerce-port")
    return args


def _public_url(args: argparse.Namespace, port: int) -> dict[str, str]:
    return {"public_base_url": f"http://{args.public_host}:{port}"} if args.public_host else {}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    common = dict(time_scale=args.time_scale, orders=args.orders, seed=args.seed, fresh=args.fresh,
                  credentials=dict(DEFAULT_CREDENTIALS))
    servers = {
        "amazon": ProcessServer("amazon", SandboxConfig(state_dir=args.state_dir / "amazon", **common,
                                                        **_public_url(args, args.amazon_port)),
                                args.host, args.amazon_port),
        "commerce": ProcessServer("commerce", SandboxConfig(state_dir=args.state_dir / "commerce",
                                                            latency_ms=args.commerce_latency_ms, **common,
                                                            **_public_url(args, args.commerce_port)),
                                  args.host, args.commerce_port),
    }
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        for server in servers.values():
            server.start()
        creds = DEFAULT_CREDENTIALS
        print(json.dumps({
            "amazon_url": servers["amazon"].url,
            "commerce_url": servers["commerce"].url,
            "lwa_client_id": creds["lwa_client_id"],
            "lwa_client_secret": creds["lwa_client_secret"],
            "refresh_token": creds["refresh_token"],
            "commerce_token": creds["commerce_token"],
        }), flush=True)
        print(f"Amazon SP-API sandbox   {servers['amazon'].url}  (LWA: {servers['amazon'].url}/auth/o2/token)\n"
              f"Adobe Commerce sandbox  {servers['commerce'].url}/rest/default/V1/...\n"
              f"Orders seeded: {args.orders} (seed {args.seed}), time scale {args.time_scale:g}, "
              f"state in {args.state_dir}\n"
              f"Control APIs: <url>/_sandbox/...  Stop with Ctrl-C.", flush=True)
        while not stop.wait(0.5):
            if not all(server.is_alive() for server in servers.values()):
                print("a sandbox process exited unexpectedly", file=sys.stderr)
                return 1
        return 0
    finally:
        for server in servers.values():
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
