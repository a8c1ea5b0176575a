"""Does the app keep answering while it learns? /predict latency idle and during "Learn from these labels".

    python -m bench.learn_load [--labels 1000] [--clients 4] [--requests 400]

Starts ``python -m serve`` on a free loopback port with a queue of the dev sentences, of which
``--labels`` are already labelled in its database; then ``--clients`` gradio_client clients send
``--requests`` /predict calls while nothing else runs, and again while another client calls /learn
over and over (each learning builds and checks a version of the committed model). Prints p50, p99 and
the largest latency of each phase (the goal: p99 under 1 s while learning) and how long each /learn
took. Bounded in count and time; loopback only.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from gradio_client import Client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import labelled_sentences, table  # noqa: E402
from serve.app.process import Server  # noqa: E402
from sentilens.labels import name_of  # noqa: E402

TIME_LIMIT = 300.0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--labels", type=int, default=1000)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--requests", type=int, default=400)
    args = p.parse_args()

    from serve.store.annotations import AnnotationStore

    sentences = labelled_sentences()
    with tempfile.TemporaryDirectory() as tmp:
        queue, db = Path(tmp) / "queue.csv", Path(tmp) / "a.sqlite3"
        with open(queue, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["id", "text"])
            writer.writerows((f"s{i}", t) for i, t in enumerate(sentences.texts))
        with Server("--db", str(db), "--annotate", str(queue), log=Path(tmp) / "server.log") as server:
            store = AnnotationStore(db)
            for i, y in list(enumerate(sentences.labels))[: args.labels]:
                store.decide(f"queue.csv@{_sha8(queue)}#s{i}", name_of(y), "bench", "bench")
            idle = predict_latencies(server.url, args.clients, args.requests)
            learning, learn_seconds, stop = [], [], threading.Event()

            def learner() -> None:
                client = Client(server.url, verbose=False)
                while not stop.is_set():
                    started = time.perf_counter()
                    client.predict(True, api_name="/learn")
                    learn_seconds.append(time.perf_counter() - started)

            thread = threading.Thread(target=learner, daemon=True)
            thread.start()
            time.sleep(1.0)  # let the first learning start before the clients measure
            learning = predict_latencies(server.url, args.clients, args.requests)
            stop.set()
            thread.join(timeout=TIME_LIMIT)
    rows = [("phase", "requests", "p50 ms", "p99 ms", "max ms")]
    for name, times in (("idle", idle), ("while learning", learning)):
        q = statistics.quantiles(times, n=100)
        rows.append((name, len(times), f"{q[49]:.0f}", f"{q[98]:.0f}", f"{max(times):.0f}"))
    print(table(rows))
    print(f"/learn on {args.labels:,} labels: " + ", ".join(f"{s:.1f} s" for s in learn_seconds))


def _sha8(path: Path) -> str:
    from sentilens.digest import sha256_of

    return sha256_of(path)[:8]


def predict_latencies(url: str, clients: int, requests: int) -> list[float]:
    times: list[float] = []
    lock = threading.Lock()
    per_client = requests // clients
    deadline = time.monotonic() + TIME_LIMIT

    def run() -> None:
        client = Client(url, verbose=False)
        for i in range(per_client):
            if time.monotonic() > deadline:
                return
            started = time.perf_counter()
            client.predict(f"A film I would watch again, number {i}.", api_name="/predict")
            with lock:
                times.append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times


if __name__ == "__main__":
    main()
