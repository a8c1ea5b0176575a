"""Can one visitor exhaust the app? Issue 33's payloads, timed and measured (peak memory), on this
checkout and, with ``--against``, on another one in the same run (``git archive HEAD | tar -x -C DIR``).

    python -m bench.exhaustion [--only NAME ...] [--against CHECKOUT] [--unread 300]

- ``unread``: ``--unread`` joins of /explain, each its own session, on different 20,000-word reviews,
  whose results nobody reads: the server's memory then, and a minute and a half later;
- ``fdfa``: a 47 MB TXT of 4 lines of 3.9 M x U+FDFA (NFKC makes 18 characters of it) into Annotate's
  loader, the Data tab's scorer and ``serve.batch``;
- ``whatif``: two what-if edits of 20,000 words at once, and a 4-word explanation beside them;
- ``parquet``: ``serve.batch`` on 1,258 bytes of Parquet that repeat one 3.9 M-character value in 200,000
  rows, and on one 200 MiB cell;
- ``logins``: 400 wrong passwords for one name at once, then the owner's right one;
- ``explains``: 50 /explain calls of 20,000 words at once, and /predict's latency meanwhile.

Tests hold the bounds (tests/test_exhaustion.py); this prints the figures. The tiny test model keeps
the app's own costs in front (the committed one only adds model time).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import table  # noqa: E402
from serve.app.process import ROOT, Server  # noqa: E402

MODEL = ROOT / "tests" / "fixtures" / "tiny_model"
LETTERS = "abcdefghijklmnopqrstuvwxyz"

# Run in a child process with the checkout on its path: prints {"seconds", "peak_mb", ...} as JSON.
CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
out = {}
exec(sys.argv[1])
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))  # ru_maxrss keeps the parent's
peak = max(hwm, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps({"seconds": round(time.perf_counter() - t0, 1), "peak_mb": peak // 1024, **out}))
"""


def words(n: int, rng: random.Random) -> str:
    return " ".join("".join(rng.choices(LETTERS, k=3)) for _ in range(n))


def child(root: Path, code: str, timeout: float = 900) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, code], cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the child and what it started (serve.batch and its reader)
        proc.communicate()
        return {"result": f"still running after {timeout:.0f} s"}
    lines = stdout.strip().splitlines()
    if proc.returncode or not lines:
        return {"result": f"exit {proc.returncode}: {(stderr.strip().splitlines() or [''])[-1][:120]}"}
    return json.loads(lines[-1])


def rss_mb(pid: int) -> int:
    return int(next(line for line in open(f"/proc/{pid}/status") if line.startswith("VmRSS")).split()[1]) // 1024


def post(url: str, body: dict | bytes, headers: dict | None = None, timeout: float = 120) -> tuple[int, bytes]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data, headers or {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - loopback
            return answer.status, answer.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except OSError:  # no answer in time: a client that went away
        return 0, b""


def fn_index(url: str, api_name: str) -> int:
    config = json.loads(urllib.request.urlopen(url + "config", timeout=30).read())  # noqa: S310
    return next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)


def unread(root: Path, tmp: Path, n: int) -> dict:
    rng = random.Random(0)
    with Server("--model", str(MODEL), "--db", str(tmp / "unread.sqlite3"), root=root) as s:
        fn, start = fn_index(s.url, "explain"), rss_mb(s.proc.pid)
        codes: dict[int, int] = {}
        for _ in range(n):
            code, _ = post(s.url + "gradio_api/queue/join", {"data": [words(20_000, rng), "occlusion"], "fn_index": fn,
                                                              "session_hash": uuid.uuid4().hex[:11]})
            codes[code] = codes.get(code, 0) + 1
        time.sleep(10)
        after = rss_mb(s.proc.pid)
        time.sleep(80)
        return {"joins answered": " ".join(f"{c}x{k}" for c, k in sorted(codes.items())), "server MB at start": start,
                "10 s after": after, "90 s after": rss_mb(s.proc.pid)}


def fdfa(root: Path, tmp: Path) -> dict:
    src = tmp / "fdfa.txt"
    if not src.exists():
        src.write_text(("\ufdfa" * 3_900_000 + "\n") * 4, encoding="utf-8")
    m = str(MODEL)
    annotate = (f"from serve.runtime import SentimentModel\nfrom serve.store.annotations import AnnotationStore\n"
                f"from serve.app.annotate_intake import load_reviews\n"
                f"out['report'] = load_reviews(AnnotationStore({str(tmp / 'fdfa.sqlite3')!r}), SentimentModel({m!r}), "
                f"{str(src)!r})[-90:]")
    data = (f"from serve.runtime import SentimentModel\nfrom serve.app.data_slices import score_file\n"
            f"from pathlib import Path\ntry:\n    score_file(SentimentModel({m!r}), Path({str(src)!r}), None)\n"
            f"except Exception as err:\n    out['report'] = str(err)[-90:]")
    batch = (f"import subprocess\nr = subprocess.run([sys.executable, '-m', 'serve.batch', {str(src)!r}, '-o', "
             f"{str(tmp / 'fdfa_out.csv')!r}, '--model', {m!r}, '--quiet'], capture_output=True, text=True)\n"
             f"out['report'] = (r.stdout.strip().splitlines() or r.stderr.strip().splitlines() or [''])[0][-90:]")
    return {name: child(root, code) for name, code in (("Annotate", annotate), ("Data", data), ("serve.batch", batch))}


def whatif(root: Path, tmp: Path) -> dict:
    code = (f"import random, threading\nfrom serve.runtime import SentimentModel\n"
            f"from serve.app.analyze_tab import AnalyzeHandlers\n"
            f"m = SentimentModel({str(MODEL)!r}); h = AnalyzeHandlers(m, None)\n"
            f"rng = random.Random(0)\nbase = ['very'] * 19_990\n"
            f"def edit(k):\n    w = list(base); w[5000 + k] = 'not'; w[15000 - k] = 'so'\n    return ' '.join(w)\n"
            f"seconds = {{}}\n"
            f"def run(k):\n    t = time.perf_counter(); h.what_if(' '.join(base), edit(k), 'occlusion')\n"
            f"    seconds[k] = round(time.perf_counter() - t, 1)\n"
            f"def short():\n    time.sleep(0.5); t = time.perf_counter(); h._explained('not bad at all', 'occlusion')\n"
            f"    seconds['4 words'] = round(time.perf_counter() - t, 2)\n"
            f"threads = [threading.Thread(target=run, args=(k,)) for k in (1, 2)] + [threading.Thread(target=short)]\n"
            f"[t.start() for t in threads]; [t.join() for t in threads]\n"
            f"out['each edit s'] = [seconds[1], seconds[2]]; out['4-word explanation s'] = seconds['4 words']")
    return {"two edits": child(root, code, timeout=600)}


def parquet(root: Path, tmp: Path) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    bomb, cell = tmp / "bomb.parquet", tmp / "cell.parquet"
    if not bomb.exists():
        value = "splendid " * 433_333
        pq.write_table(pa.table({"text": pa.DictionaryArray.from_arrays(pa.array([0] * 200_000, pa.int32()),
                                                                         pa.array([value]))}), bomb, compression="zstd")
        pq.write_table(pa.table({"id": ["a", "b", "c"], "text": ["fine", "x" * (200 * 2**20), "also fine"]}), cell,
                       compression="zstd")
    out = {}
    for name, src in ((f"bomb ({bomb.stat().st_size:,} bytes)", bomb), ("one 200 MiB cell", cell)):
        code = (f"import subprocess\nr = subprocess.run([sys.executable, '-m', 'serve.batch', {str(src)!r}, '-o', "
                f"{str(tmp / 'pq_out.csv')!r}, '--model', {str(MODEL)!r}, '--quiet'], capture_output=True, text=True)\n"
                f"out['report'] = (r.stdout.strip().splitlines() or r.stderr.strip().splitlines() or [''])[-1][-90:]")
        out[name] = child(root, code, timeout=300)
    return out


def logins(root: Path, tmp: Path) -> dict:
    (tmp / "logins").write_text("alice:s3cret\n")
    form = lambda password: f"username=alice&password={password}".encode()  # noqa: E731
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    with Server("--model", str(MODEL), "--db", str(tmp / "logins.sqlite3"), "--auth-file", str(tmp / "logins"),
                root=root) as s:
        threads = [threading.Thread(target=post, args=(s.url + "login", form(f"guess{i}"), headers, 5), daemon=True)
                   for i in range(400)]
        [t.start() for t in threads]
        [t.join() for t in threads]  # each gives up after 5 s: clients that went away
        time.sleep(1)
        t0 = time.perf_counter()
        code, _ = post(s.url + "login", form("s3cret"), {**headers, "X-Forwarded-For": "192.0.2.7"}, 180)
        return {"owner after 400 guesses": {"status": code, "seconds": round(time.perf_counter() - t0, 1)}}


def explains(root: Path, tmp: Path) -> dict:
    from gradio_client import Client

    rng = random.Random(1)
    texts = [words(20_000, rng) for _ in range(50)]
    with Server("--model", str(MODEL), "--db", str(tmp / "explains.sqlite3"), root=root) as s:
        latencies: list[float] = []
        done = threading.Event()

        def explain(text: str) -> None:
            try:
                Client(s.url, verbose=False).predict(text, "occlusion", api_name="/explain")
            except Exception:  # noqa: BLE001 - refused calls count as done
                pass

        def predict() -> None:
            client = Client(s.url, verbose=False)
            while not done.is_set():
                t0 = time.perf_counter()
                client.predict("not bad at all", api_name="/predict")
                latencies.append(time.perf_counter() - t0)

        watcher = threading.Thread(target=predict)
        watcher.start()
        threads = [threading.Thread(target=explain, args=(t,)) for t in texts]
        [t.start() for t in threads]
        [t.join() for t in threads]
        done.set()
        watcher.join()
        latencies.sort()
        return {"/predict meanwhile": {"calls": len(latencies), "p50 ms": round(1000 * latencies[len(latencies) // 2]),
                                       "max ms": round(1000 * latencies[-1])}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    names = ["unread", "fdfa", "whatif", "parquet", "logins", "explains"]
    p.add_argument("--only", nargs="*", choices=names, default=names)
    p.add_argument("--against", type=Path, help="another checkout to run the same payloads on")
    p.add_argument("--unread", type=int, default=300, help="joins whose results nobody reads")
    args = p.parse_args()
    roots = [("this checkout", ROOT)] + ([("against", args.against.resolve())] if args.against else [])
    rows = [("payload", "case", *[name for name, _ in roots])]
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only:
            results = []
            for _, root in roots:
                folder = Path(tmp) / f"{name}-{len(results)}"
                folder.mkdir()
                run = {"unread": lambda: unread(root, folder, args.unread)}.get(name) or (
                    lambda: globals()[name](root, folder))
                results.append(run())
            for case in results[0]:
                rows.append((name, case, *[json.dumps(r.get(case)) for r in results]))
            print(table([rows[0], *rows[-len(results[0]):]]), flush=True)
    print(table(rows))


if __name__ == "__main__":
    main()
