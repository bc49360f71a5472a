"""Throughput of the Commerce sandbox under latency: one client vs N concurrent clients.

The sandbox runs in its own process (``ProcessServer``) with ``--latency-ms`` added to every call, as a
real store's response time. A realistic mix (GET an order by id, a searchCriteria page, POST a new
order) is sent first by one client, then by ``--clients`` concurrent clients. Because the latency is
slept without holding a thread, a lock or the GIL, N clients should reach close to N times the
sequential rate. The last line of output is one JSON object.

    .venv/bin/python bench/commerce_sandbox_throughput.py --latency-ms 50 --clients 8 --requests 400
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS, SandboxConfig
from sales_channel.sandbox.common.server import ProcessServer

MIX = (("get_order", 0.5), ("search_orders", 0.3), ("post_order", 0.2))


def order_entity(n: int) -> dict[str, Any]:
    item = {"sku": "MUG-CERAMIC-WHT", "name": "Ceramic Coffee Mug", "qty_ordered": 1, "price": 12.99,
            "row_total": 12.99}
    address = {"city": "Seattle", "country_id": "US", "firstname": "Bench", "lastname": "Client",
               "postcode": "98109", "telephone": "0", "street": ["1 Main St"]}
    return {"base_grand_total": 17.98, "grand_total": 17.98, "subtotal": 12.99, "shipping_amount": 4.99,
            "customer_email": "bench@example.com", "ext_order_id": f"BENCH-{n:07d}", "items": [item],
            "payment": {"method": "checkmo", "account_status": "active", "cc_last4": "",
                        "additional_information": [f"BENCH-{n:07d}"]},
            "billing_address": {**address, "address_type": "billing"},
            "extension_attributes": {"shipping_assignments": [{
                "shipping": {"address": {**address, "address_type": "shipping"}, "method": "flatrate_flatrate"},
                "items": []}]}}


class Sequence:
    """Thread-safe numbering of the bench's orders (unique ext_order_id)."""

    def __init__(self) -> None:
        self._value, self._lock = 0, threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._value += 1
            return self._value


class Client:
    """One client's session and the calls of the mix."""

    def __init__(self, url: str, order_ids: list[int], seed: int, counter: Sequence) -> None:
        self.base = f"{url}/rest/default/V1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {DEFAULT_CREDENTIALS['commerce_token']}"
        self.order_ids, self.random, self.counter = order_ids, random.Random(seed), counter

    def call(self, operation: str) -> int:
        if operation == "get_order":
            response = self.session.get(f"{self.base}/orders/{self.random.choice(self.order_ids)}", timeout=30)
        elif operation == "search_orders":
            response = self.session.get(f"{self.base}/orders", timeout=30, params={
                "searchCriteria[filter_groups][0][filters][0][field]": "ext_order_id",
                "searchCriteria[filter_groups][0][filters][0][value]": "BENCH-00001%",
                "searchCriteria[filter_groups][0][filters][0][condition_type]": "like",
                "searchCriteria[sortOrders][0][field]": "entity_id", "searchCriteria[pageSize]": 20,
                "searchCriteria[currentPage]": 1})
        else:
            response = self.session.post(f"{self.base}/orders", json={"entity": order_entity(self.counter.next())},
                                         timeout=30)
        return response.status_code


def run_phase(url: str, order_ids: list[int], clients: int, total: int, counter: Sequence,
              seed: int) -> dict[str, Any]:
    """``total`` calls of the mix spread over ``clients`` threads; rate, latencies, statuses."""
    operations = random.Random(seed).choices([m[0] for m in MIX], weights=[m[1] for m in MIX], k=total)
    shares = [operations[i::clients] for i in range(clients)]
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def work(index: int) -> None:
        client = Client(url, order_ids, seed + index, counter)
        for operation in shares[index]:
            started = time.perf_counter()
            status = client.call(operation)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[status] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"rps": round(total / elapsed, 1), "seconds": round(elapsed, 2),
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1),
            "statuses": {str(k): v for k, v in sorted(statuses.items())}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="latency the sandbox adds to every call")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients of the second phase")
    parser.add_argument("--requests", type=int, default=400, help="calls per phase")
    parser.add_argument("--orders", type=int, default=300, help="orders in the store before measuring")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.clients < 1 or args.requests < args.clients or args.latency_ms < 0:
        parser.error("need --clients >= 1, --requests >= --clients and --latency-ms >= 0")

    with tempfile.TemporaryDirectory(prefix="commerce-bench-") as state_dir:
        config = SandboxConfig(state_dir=Path(state_dir), fresh=True, latency_ms=args.latency_ms,
                               credentials=dict(DEFAULT_CREDENTIALS))
        server = ProcessServer("commerce", config).start()
        try:
            assert server.url
            counter = Sequence()
            order_ids = []
            with requests.Session() as session:  # seeded through the control API: no latency
                for _ in range(args.orders):
                    response = session.post(f"{server.url}/_sandbox/orders", timeout=30,
                                            json={"entity": order_entity(counter.next())})
                    response.raise_for_status()
                    order_ids.append(response.json()["entity_id"])
            sequential = run_phase(server.url, order_ids, 1, args.requests, counter, args.seed)
            concurrent = run_phase(server.url, order_ids, args.clients, args.requests, counter, args.seed + 1)
        finally:
            server.stop()

    ideal = args.clients * 1000 / args.latency_ms if args.latency_ms else None
    result = {
        "benchmark": "commerce_sandbox_throughput", "latency_ms": args.latency_ms, "clients": args.clients,
        "requests_per_phase": args.requests, "orders_in_store": args.orders,
        "mix": dict(MIX), "sequential_rps": sequential["rps"], "concurrent_rps": concurrent["rps"],
        "speedup": round(concurrent["rps"] / sequential["rps"], 2),
        "ideal_concurrent_rps": round(ideal, 1) if ideal else None,
        "sequential": sequential, "concurrent": concurrent,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
