"""Load on the running app: N requests from C concurrent gradio_client clients, on loopback.

    python -m bench.load [--requests 2000] [--clients 32] [--time-limit 300] [--against CHECKOUT]

Starts ``python -m serve`` on a free loopback port, sends a bounded mix of /predict and
/explain calls (every method of ``explain.methods``), stops by itself, and prints requests/s, p50/p99
latency and the error count. Then the same clients call /health, which answers without touching the
model, on the same server: that floor is Gradio's own cost per request on this machine, and the
mix's rate is printed as a share of it. ``--against`` runs the same mix, in the same run, on the app
of another checkout (e.g. ``git worktree add ../before <commit>``) with the same Python packages.
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
from serve.app.process import ROOT, Server  # noqa: E402
from explain.methods import METHODS  # noqa: E402

REVIEWS = [
    "A warm, funny and beautifully acted film; the ending moved me.",
    "Two hours I will never get back. Wooden acting and a plot full of holes.",
    "Not bad at all, though the middle drags a little before a strong finish.",
    "The best thriller I have seen this year, tense from the first scene to the last.",
]
# Half /predict, half /explain spread over every registered method.
CALLS = [call for method in METHODS for call in (("/predict", ()), ("/explain", (method,)))]


FLOOR = [("/health", ())]


def run(url: str, requests: int, clients: int, time_limit: float, calls: list = CALLS) -> dict:
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
            api, extra = calls[i % len(calls)]
            args = (REVIEWS[i % len(REVIEWS)], *extra) if api != "/health" else ()
            t0 = time.perf_counter()
            try:
                client.predict(*args, api_name=api)
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
    p.add_argument("--against", type=Path, help="another checkout of sentilens: its app gets the same mix first")
    args = p.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        extra = ["--model", args.model] if args.model else []
        for name, root in ((("before", args.against),) if args.against else ()) + (("now", ROOT),):
            server = Server("--db", f"{tmp}/{name}.sqlite3", "--concurrency", "8", *extra,
                            log=Path(tmp) / f"{name}.log", root=root.resolve())
            try:
                results[name] = run(server.url, args.requests, args.clients, args.time_limit)
                if name == "now":
                    results["floor"] = run(server.url, args.requests, args.clients, args.time_limit, FLOOR)
            finally:
                server.stop()
    print(f"{results['now']['requests']:,} requests from {args.clients} clients, loopback; then as many to /health "
          "(no model: Gradio's own cost per request)")
    names = {"before": f"mixed /predict and /explain, {args.against}", "now": "mixed /predict and /explain, this checkout",
             "floor": "/health on this checkout (the floor)"}
    rows = [("calls", "requests/s", "p50 ms", "p99 ms", "errors")]
    for key, r in results.items():
        rows.append((names[key], f"{r['rps']:.0f}", f"{r['p50_ms']:.0f}", f"{r['p99_ms']:.0f}", r["errors"]))
    print(table(rows))
    now, floor = results["now"], results["floor"]
    print(f"the mix runs at {now['rps'] / floor['rps']:.0%} of the floor's rate"
          + (f"; {now['rps'] / results['before']['rps']:.2f}x the other checkout's" if "before" in results else ""))
    for r in results.values():
        for e in r["first_errors"]:
            print("error:", e)
    return now | {"floor": floor, "before": results.get("before")}


if __name__ == "__main__":
    sys.exit(1 if main()["errors"] else 0)
