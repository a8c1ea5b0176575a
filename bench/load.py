"""Load on the running app: N requests from C concurrent gradio_client clients, on loopback.

    python -m bench.load [--requests 2000] [--clients 32] [--time-limit 300]

Starts ``python -m serve`` on a free loopback port, sends a bounded mix of /predict and
/explain calls (every method of ``explain.methods``), stops by itself, and prints requests/s, p50/p99
latency and the error count.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from gradio_client import Client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import table  # noqa: E402
from bench.server import Server  # noqa: E402
from explain.methods import METHODS  # noqa: E402

REVIEWS = [
    "A warm, funny and beautifully acted film; the ending moved me.",
    "Two hours I will never get back. Wooden acting and a plot full of holes.",
    "Not bad at all, though the middle drags a little before a strong finish.",
    "The best thriller I have seen this year, tense from the first scene to the last.",
]
# Half /predict, half /explain spread over every registered method.
CALLS = [call for method in METHODS for call in (("/predict", ()), ("/explain", (method,)))]


def run(url: str, requests: int, clients: int, time_limit: float) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    counter = iter(range(requests))
    lock = threading.Lock()
    deadline = time.monotonic() + time_limit

    def worker() -> None:
        client = Client(url, verbose=False, ssl_verify=False)
        while time.monotonic() < deadline:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            api, extra = CALLS[i % len(CALLS)]
            t0 = time.perf_counter()
            try:
                client.predict(REVIEWS[i % len(REVIEWS)], *extra, api_name=api)
                with lock:
                    latencies.append(time.perf_counter() - t0)
            except Exception as err:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(f"{api}: {err}")

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(time_limit + 60)
    wall = time.perf_counter() - t0
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
    return {"requests": len(latencies) + len(errors), "ok": len(latencies), "errors": len(errors),
            "seconds": wall, "rps": len(latencies) / wall, "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000,
            "first_errors": errors[:3]}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--time-limit", type=float, default=300.0, help="seconds before the clients stop")
    p.add_argument("--model", help="model directory (default: the committed exported/)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        extra = ["--model", args.model] if args.model else []
        server = Server("--db", f"{tmp}/load.sqlite3", "--concurrency", "8", *extra, log=Path(tmp) / "server.log")
        try:
            result = run(server.url, args.requests, args.clients, args.time_limit)
        finally:
            server.stop()
    print(f"{result['requests']:,} requests from {args.clients} clients (mixed /predict and /explain), loopback")
    print(table([("requests/s", "p50 ms", "p99 ms", "errors"),
                 (f"{result['rps']:.0f}", f"{result['p50_ms']:.0f}", f"{result['p99_ms']:.0f}", result["errors"])]))
    for e in result["first_errors"]:
        print("error:", e)
    return result


if __name__ == "__main__":
    main()
