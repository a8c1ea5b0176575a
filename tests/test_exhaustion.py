"""No visitor can exhaust the app (issue 33): each class of payload, fed to every entry point it concerns.

- results nobody reads and work waiting in the queue are bounded and expire (the queue, /explain, the
  request body, the REST routes around the queue);
- characters are bounded before anything normalises them, and what normalising may make of one
  review is bounded (the codec, every reader, the uploads of Annotate, Data and Compare, serve.batch);
- what-if edits are paired in near-linear work, however long and repetitive the review;
- Parquet decodes within a budget (serve.batch, the Data tab's reader, serve.convert);
- a burst of wrong passwords neither queues without end nor locks the owner out.

Memory is measured coarsely, in a child process (its peak RSS under a generous bound); nothing here
asserts a duration (bench/exhaustion.py prints the figures, before and after).
"""

from __future__ import annotations

import asyncio
import csv
import json
import random
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from sentilens.errors import DataError
from tests.conftest import ROOT

FDFA = "\ufdfa"  # NFKC: one character, 18 of them normalised (the most any character makes)


def peak_mb(code: str, timeout: float = 300) -> tuple[int, dict]:
    """Run ``code`` in a child Python (this checkout on its path); (its peak RSS in MB, the dict ``out``
    it filled). The child is held to 3 GiB of address space, so a regression fails instead of eating the
    machine. Its own peak is VmHWM, which starts afresh at exec (ru_maxrss keeps pytest's size at the fork)."""
    wrapper = ("import json, resource, sys\n"
               "resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))\n"
               "out = {}\nexec(sys.argv[1])\n"
               "hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
               "peak = max(hwm, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
               "print(json.dumps({'peak': peak // 1024, 'out': out}))\n")
    done = subprocess.run([sys.executable, "-c", wrapper, code], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["peak"], result["out"]


def rejected_rows(out: Path) -> list[dict]:
    with open(f"{out}.rejected.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# ---- results nobody reads, work waiting, bodies: the queue ----------------------------------------

@pytest.fixture(scope="module")
def queue(tiny_model_dir):
    """The app's bounded queue, built in this process (not started): its bookkeeping, driven by hand."""
    from serve.app.blocks import build_app
    from serve.app.queue_limits import bound_queue
    from serve.runtime import SentimentModel

    app = bound_queue(build_app(SentimentModel(tiny_model_dir)), 8)
    return app._queue


def completed(queue, session: str, size: int = 10):
    """A finished event's result sent to ``session``'s message queue, as Gradio's queue sends it."""
    from gradio.server_messages import ProcessCompletedMessage

    event = SimpleNamespace(alive=True, session_hash=session, _id=uuid.uuid4().hex)
    queue.pending_messages_per_session[session] = queue.pending_messages_per_session.get(session) or asyncio.Queue()
    queue.pending_event_ids_session.setdefault(session, set()).add(event._id)
    message = ProcessCompletedMessage(output={"data": ["x" * size]}, success=True)
    queue.send_message(event, message)
    return message


def test_unread_results_expire_and_the_oldest_go_first_past_the_room(queue, monkeypatch):
    from serve.app import queue_limits as ql

    now = time.monotonic()
    completed(queue, "gone")
    read = completed(queue, "reading")
    queue.pending_messages_per_session["reading"].get_nowait()  # its client took it
    assert queue.sweep(now) == 0
    assert [u.session for u in queue.unread] == ["gone"]  # a result read is forgotten
    assert queue.sweep(now + ql.RESULT_TTL + 1) == 1  # one left unread past the TTL goes, with its session
    assert "gone" not in queue.pending_messages_per_session and "gone" not in queue.pending_event_ids_session
    assert "reading" in queue.pending_messages_per_session and read.success  # its client's session stays
    monkeypatch.setattr(ql, "MAX_UNREAD_BYTES", 50_000)
    sessions = [f"s{i}" for i in range(10)]
    for s in sessions:
        completed(queue, s, size=20_000)  # ~20 KB each: room for two
    assert queue.sweep(time.monotonic()) == 0  # none is discarded for room before GRACE: its client may be reading
    assert queue.sweep(time.monotonic() + ql.GRACE + 0.1) == 8
    assert [u.session for u in queue.unread] == sessions[-2:]  # the newest kept
    monkeypatch.setattr(ql, "MAX_UNREAD_BYTES", 64 * 2**20)
    assert queue.sweep(time.monotonic() + ql.RESULT_TTL + 1) == 2 and not queue.unread


def test_a_client_gets_a_bounded_share_of_the_waiting_room(queue):
    from serve.app.queue_limits import MAX_QUEUED, MAX_QUEUED_PER_CLIENT, client_of

    request = lambda host, forwarded="": SimpleNamespace(  # noqa: E731
        client=SimpleNamespace(host=host), headers={"x-forwarded-for": forwarded} if forwarded else {})
    mine = request("203.0.113.9")
    waiting = queue.event_queue_per_concurrency_id.setdefault("test", SimpleNamespace(queue=[])).queue
    waiting.extend(SimpleNamespace(request=mine, username=None) for _ in range(MAX_QUEUED_PER_CLIENT))
    try:
        ok, why, state = asyncio.run(queue.push(SimpleNamespace(fn_index=None), mine, None))
        assert (ok, state) == (False, "queue_full") and "Too many requests of yours" in why
    finally:
        waiting.clear()
    assert MAX_QUEUED_PER_CLIENT < MAX_QUEUED == queue.max_size
    # behind a proxy on a private address, the address it appended last; a login is its own client
    assert client_of(request("10.0.0.2", "6.6.6.6, 198.51.100.4"), None) == "address:198.51.100.4"
    assert client_of(request("8.8.8.8", "198.51.100.4"), None) == "address:8.8.8.8"  # a public peer is who it says
    assert client_of(mine, "alice") == "user:alice"


def test_the_explain_answer_lists_the_words_the_model_did_not_read_once(tiny_model_dir):
    from serve.app.analysis import MAX_TOKENS, explain
    from serve.runtime import SentimentModel

    model = SentimentModel(tiny_model_dir)
    rng = random.Random(0)
    words = ["".join(rng.choices("abcdefghij", k=3)) for _ in range(MAX_TOKENS - 1)] + ["splendid"]
    answer = explain(model, " ".join(words), "occlusion").to_dict()
    read = model.maxlen  # a review longer than the model reads fills every position (no start marker)
    attribution = answer["attribution"]["tokens"]
    assert [t["word"] for t in attribution] == words[-read:] == [w for w, _ in answer["highlighted"]]
    assert answer["encodings"]["truncated"] == words[:-read] and answer["encodings"]["tokens"] == words[-read:]
    assert [w for w, _ in answer["encodings"]["integer_encoding"]] == words[-read:]
    assert all(t["score"] is not None for t in attribution)
    first = len(answer["encodings"]["truncated"]) + 1  # word numbers still count from the review's start
    assert [p["word_number"] for p in answer["running_score"] if p["word"] != "(start)"][0] == first
    assert len(json.dumps(answer)) < 300_000  # the unread words, once: about 4 bytes each
    short = explain(model, "the plot was splendid", "cd").to_dict()  # a review read whole: as before
    assert [t["word"] for t in short["attribution"]["tokens"]] == ["the", "plot", "was", "splendid"]
    assert short["encodings"]["truncated"] == []


def join(url: str, fn: int, data: list, session: str | None = None) -> int:
    body = json.dumps({"data": data, "fn_index": fn, "session_hash": session or uuid.uuid4().hex[:11]}).encode()
    request = urllib.request.Request(url + "gradio_api/queue/join", body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - loopback
            return answer.status
    except urllib.error.HTTPError as err:
        return err.code


def oversized(port: int, chunked: bool) -> int:
    """The status a 3 MB join gets: its length stated and no byte of it sent, or sent in chunks."""
    import http.client

    from serve.app.queue_limits import MAX_BODY_BYTES

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.putrequest("POST", "/gradio_api/queue/join")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding" if chunked else "Content-Length", "chunked" if chunked else str(3 * 2**20))
    conn.endheaders()
    if chunked:
        try:
            for _ in range(3 * 2**20 // 65536):
                conn.send(b"10000\r\n" + b"x" * 65536 + b"\r\n")
        except OSError:  # refused before it was all sent
            pass
    status = conn.getresponse().status
    conn.close()
    assert MAX_BODY_BYTES < 3 * 2**20
    return status


@pytest.mark.server
def test_unread_explanations_of_long_reviews_keep_the_server_small(tiny_model_dir, tmp_path):
    """Before: 100 unread /explain results of 20,000 words held 2 GB (300: 6 GB); each its own session."""
    from tests.servers import Server

    rng = random.Random(1)
    with Server("--model", str(tiny_model_dir), "--db", str(tmp_path / "db.sqlite3"), log=tmp_path / "log") as s:
        config = json.loads(urllib.request.urlopen(s.url + "config", timeout=30).read())  # noqa: S310
        fn = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "explain")
        rss = lambda: int(next(line for line in open(f"/proc/{s.proc.pid}/status")  # noqa: E731
                               if line.startswith("VmRSS")).split()[1]) // 1024
        start = rss()
        codes = [join(s.url, fn, [" ".join("".join(rng.choices("abcdefghij", k=3)) for _ in range(20_000)),
                                  "occlusion"]) for _ in range(100)]
        assert set(codes) <= {200, 503} and codes.count(200) >= 32
        deadline, last = time.time() + 120, -1
        while time.time() < deadline and rss() != last:  # until the queue has done them all
            last = rss()
            time.sleep(3)
        assert rss() - start < 600, (start, rss())
        # a body over the bound is refused before it is read (from its length, or as it streams in); the
        # REST routes around the queue are closed
        assert oversized(s.port, chunked=False) == oversized(s.port, chunked=True) == 413
        body = json.dumps({"data": ["splendid"]}).encode()
        request = urllib.request.Request(s.url + "gradio_api/run/predict", body, {"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)  # noqa: S310
        assert refused.value.code in (403, 404, 405)


# ---- characters before normalising, and what normalising may make of them -------------------------

def test_no_character_expands_past_the_codecs_bound():
    import unicodedata

    from sentilens.codec import MAX_EXPANSION

    most = max(len(unicodedata.normalize(form, chr(c)).casefold()) for c in range(0x110000)
               if not 0xD800 <= c <= 0xDFFF for form in ("NFKC", "NFKD"))
    assert most == MAX_EXPANSION == len(unicodedata.normalize("NFKC", FDFA))


def test_the_codec_refuses_before_normalising_and_never_changes_an_id(monkeypatch, tiny_model_dir):
    from hypothesis import given, settings, strategies as st

    from sentilens import codec
    from sentilens.codec import TextTooLong, fits, standardize

    monkeypatch.setattr(codec, "MAX_STANDARD_CHARS", 400)
    pieces = st.sampled_from([FDFA, "\u3316", "\u00bc", "\ufb03", "e\u0301", "\u1e9e", "&#xFDFA;", "<b>", "ab ",
                              "\u0130", "\u0390", "&amp;", "x"])

    @settings(max_examples=300, deadline=None)
    @given(st.lists(pieces, max_size=120).map("".join))
    def bound_holds(text):
        if fits(text):
            assert len(standardize(text)) <= 400  # the bound never lets more through
        else:
            with pytest.raises(TextTooLong):
                standardize(text)

    bound_holds()
    monkeypatch.undo()
    assert not fits(FDFA * 250_000) and fits(FDFA * 200_000) and fits("a" * 4_000_000)
    with pytest.raises(TextTooLong, match="longer than 4,000,000 characters once normalised"):
        standardize(FDFA * 250_000)
    from serve.runtime import SentimentModel

    model = SentimentModel(tiny_model_dir)  # the app's largest review encodes, as it did
    assert model.codec.encode_batch([FDFA * 100_000, "the plot was splendid"]).shape == (2, model.maxlen)


def fdfa_file(tmp_path: Path, n: int = 1_000_000) -> Path:
    src = tmp_path / "fdfa.txt"  # 4 rows NFKC makes 18 M characters of, 1 row the app takes, 1 too long for it
    src.write_text((FDFA * n + "\n") * 4 + "the plot was splendid\n" + "splendid " * 20_000 + "\n", encoding="utf-8")
    return src


@pytest.mark.server
def test_reviews_that_normalise_past_the_bound_are_refused_unread_everywhere(tiny_model_dir, tmp_path):
    """Before: 4 lines of 3.9 M x U+FDFA cost 41-60 s and 2.6-2.7 GB in Annotate, Data and serve.batch."""
    src = fdfa_file(tmp_path)
    m, s = str(tiny_model_dir), str(src)
    expanded = "the text would be longer than 4,000,000 characters once normalised"
    app_cap = "the review has 180,000 characters; the limit is 100,000"
    runs = {
        "batch": f"from serve.jobs.batch import main\nout['code'] = main([{s!r}, '-o', {s + '.csv'!r}, '--model', {m!r}, "
                 "'--quiet'])",
        "annotate": f"from serve.runtime import SentimentModel\nfrom serve.store.annotations import AnnotationStore\n"
                    f"from serve.app.annotate_intake import load_reviews\nout['report'] = load_reviews(AnnotationStore("
                    f"{str(tmp_path / 'db.sqlite3')!r}), SentimentModel({m!r}), {s!r})",
        "data": f"from pathlib import Path\nfrom serve.runtime import SentimentModel\nfrom serve.app.data_slices import "
                f"score_file\nscored = score_file(SentimentModel({m!r}), Path({s!r}), None)\n"
                "out['rows'], out['skipped'] = len(scored.frame), scored.skipped",
        "compare": f"from serve.runtime import SentimentModel\nfrom serve.jobs.compare import compare\n"
                   f"from serve.app.uploads import read_upload\nmodel = SentimentModel({m!r})\n"
                   f"out['summary'] = compare(model, model, {s!r}, read=read_upload)",
    }
    for name, code in runs.items():
        peak, out = peak_mb(code)
        assert peak < 700, (name, peak)  # a child with numpy and onnxruntime is ~150 MB; before: 2.6 GB
        if name == "batch":
            assert out["code"] == 0
            assert [r["problem"] for r in rejected_rows(Path(s + ".csv"))] == [expanded] * 4
        elif name == "annotate":
            assert "1 review (" in out["report"] and "5 rows skipped" in out["report"], out
            assert expanded in out["report"], out
        elif name == "data":
            assert out == {"rows": 1, "skipped": 5}
        else:
            assert (out["summary"]["reviews"], out["summary"]["rejected"]) == (1, 5), out
    from serve.app.uploads import read_upload

    problems = []
    assert [r.text for r in read_upload(src, lambda where, problem: problems.append(problem))] == [
        "the plot was splendid"]
    assert problems == [expanded] * 4 + [app_cap]


def test_every_reader_bounds_a_review_before_the_codec_sees_it(tmp_path):
    from sentilens.sources import make_record

    for text in (FDFA * 250_000, "&#xFDFA;" * 250_000):  # as written, or as an entity that unescapes to it
        with pytest.raises(DataError, match="once normalised"):
            make_record({"text": text}, "text", "f:1", "1")
    assert make_record({"text": FDFA * 200_000}, "text", "f:1", "1").text


# ---- what-if: near-linear pairing ---------------------------------------------------------------

class Counted(str):
    """A word that counts how often it is compared or hashed: the work of pairing, without a clock."""

    work = 0

    def __eq__(self, other):
        Counted.work += 1
        return str.__eq__(self, other)

    def __hash__(self):
        Counted.work += 1
        return str.__hash__(self)


def valid(a: list, b: list, ops: list) -> bool:
    i = j = 0
    for op, i1, i2, j1, j2 in ops:
        if (i1, j1) != (i, j) or i2 < i1 or j2 < j1 or (op == "equal" and (a[i1:i2] != b[j1:j2])):
            return False
        i, j = i2, j2
    return (i, j) == (len(a), len(b))


@pytest.mark.parametrize("vocabulary", [1, 10, 5000])
def test_what_if_pairs_words_in_near_linear_work(vocabulary):
    """Before: difflib (autojunk off) did ~n^2 work: 155 s for one edit of 20,000 repeated words."""
    from serve.app.whatif import word_opcodes

    rng = random.Random(vocabulary)
    words = [Counted(f"w{i}") for i in range(vocabulary)]
    a = rng.choices(words, k=20_000)
    b = list(a)
    b[5000], b[15000:15000] = Counted("not"), [Counted("so"), Counted("very")]
    del b[9000:9010]
    Counted.work = 0
    ops = word_opcodes(a, b)
    assert Counted.work < 2000 * (len(a) + len(b)), Counted.work  # quadratic would be ~4e8 * difflib's own
    assert valid(a, b, ops)
    assert sum(i2 - i1 for op, i1, i2, _, _ in ops if op == "equal") >= len(a) - 20  # the words that stayed, paired


def test_what_if_pairs_like_difflib_on_small_edits_and_validly_on_any():
    import difflib

    from serve.app.whatif import word_opcodes

    rng = random.Random(3)
    for trial in range(300):
        pool = ["x", "y", "z"] if trial % 3 == 0 else [f"w{i}" for i in range(200)]
        a = rng.choices(pool, k=rng.choice([0, 1, 7, 60, 700, 3000]))
        b = list(a)
        for _ in range(rng.randint(0, 5)):
            k = rng.randint(0, len(b))
            b[k:k + rng.randint(0, 3)] = rng.choices(pool, k=rng.randint(0, 3))
        if trial % 29 == 0:
            b = rng.sample(a, len(a))
        ops = word_opcodes(a, b)
        assert valid(a, b, ops), trial
        if len(a) * len(b) <= 250 * 250:  # small: as many words kept as difflib keeps
            exact = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
            kept = lambda o: sum(i2 - i1 for op, i1, i2, _, _ in o if op == "equal")  # noqa: E731
            assert kept(ops) >= kept(exact) - 2, trial


def test_the_what_if_box_takes_a_20000_word_review(tiny_model_dir):
    from serve.app.analyze_tab import AnalyzeHandlers
    from serve.runtime import SentimentModel

    h = AnalyzeHandlers(SentimentModel(tiny_model_dir), None)
    words = ["very"] * 19_990
    edited = list(words)
    edited[5001], edited[-3] = "not", "dreadful"
    summary, page, table = h.what_if(" ".join(words), " ".join(edited), "occlusion")
    assert "P(positive)" in summary and "dreadful" in page
    assert any(row[0].startswith("dreadful") for row in table["value"] if row)


# ---- Parquet decodes within a budget --------------------------------------------------------------

def bomb(tmp_path: Path, value: str, rows: int = 200_000) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "bomb.parquet"
    column = pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array([value]))
    pq.write_table(pa.table({"text": column}), path, compression="zstd")
    return path


def test_a_parquet_bomb_is_read_within_its_budget(tmp_path):
    from sentilens.sources import read_any
    from sentilens.sources.parquet import DECODED_FLOOR

    path = bomb(tmp_path, "splendid " * 433_333)  # 3.9 M characters, 200,000 times
    assert path.stat().st_size < 4096
    problems: list[str] = []
    kept = sum(1 for _ in read_any(path, on_bad_row=lambda where, problem: problems.append(problem)))
    assert kept == DECODED_FLOOR // 3_899_997 and kept + len(problems) == 200_000
    assert set(problems) == {f"the file's text would decode past {DECODED_FLOOR:,} characters (1,024 times the "
                             "file's size); this row and the rows after it are not read"}


def test_a_parquet_cell_over_the_bound_is_rejected_from_its_length(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from sentilens.sources import read_any

    path = tmp_path / "cell.parquet"
    texts = ["the plot was splendid", "x" * 4_000_001, None, "dreadful", "x" * 4_000_000]
    for dictionary in (True, False):
        pq.write_table(pa.table({"id": list("abcde"), "text": texts}), path, use_dictionary=dictionary)
        problems: list[tuple[str, str]] = []
        kept = [r.id for r in read_any(path, on_bad_row=lambda where, problem: problems.append((where, problem)))]
        assert kept == ["a", "d", "e"]
        assert [(w.rsplit(":", 1)[1], p) for w, p in problems] == [
            ("2", "the text is longer than 4,000,000 characters"), ("3", "'text' is missing or not a string")]


@pytest.mark.server
def test_serve_batch_on_a_parquet_bomb_stays_small(tiny_model_dir, tmp_path):
    """Before: 1,258 bytes of Parquet took serve.batch to 4.1 GB and a MemoryError traceback."""
    path = bomb(tmp_path, "splendid " * 433_333)
    out = tmp_path / "out.csv"
    peak, result = peak_mb(f"from serve.jobs.batch import main\nout['code'] = main([{str(path)!r}, '-o', {str(out)!r}, "
                           f"'--model', {str(tiny_model_dir)!r}, '--quiet'])")
    assert result["code"] == 0 and peak < 1000, peak
    with open(out, newline="", encoding="utf-8") as f:
        scored = sum(1 for _ in csv.DictReader(f))
    assert scored + len(rejected_rows(out)) == 200_000 and 0 < scored < 20


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark")
    from serve.jobs.spark import session

    s = session("local[2]")
    yield s
    s.stop()


@pytest.mark.spark
def test_serve_spark_reads_a_parquet_bomb_as_serve_batch_does(spark, tiny_model_dir, tmp_path, monkeypatch):
    """Before: serve.spark (local[2]) was still running at 300 s on the bomb, with no output. A small file
    is read by serve.batch's own reader on an executor; a large one by Spark, each cell over the bound
    rejected in the JVM, in serve.batch's words."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from serve.jobs import spark as spark_job
    from serve.jobs.batch import main

    def both(src: Path, name: str):
        spark_job.run(spark, spark_job.SparkJob(str(src), str(tmp_path / name), str(tiny_model_dir)))
        scored = sorted(r["id"] for r in pq.read_table(tmp_path / name).to_pylist())
        rejected = sorted((r["where"], r["problem"]) for r in pq.read_table(tmp_path / name / "_rejected").to_pylist())
        assert main([str(src), "-o", str(tmp_path / f"{name}.csv"), "--model", str(tiny_model_dir), "--quiet"]) == 0
        with open(tmp_path / f"{name}.csv", newline="", encoding="utf-8") as f:
            assert sorted(r["id"] for r in csv.DictReader(f)) == scored
        assert sorted((r["where"].rsplit("/", 1)[-1], r["problem"]) for r in rejected_rows(tmp_path / f"{name}.csv")) \
            == rejected
        return scored, rejected

    src = bomb(tmp_path, "splendid " * 433_333, rows=20_000)
    scored, rejected = both(src, "bomb")
    assert 0 < len(scored) < 20 and len(scored) + len(rejected) == 20_000
    cells = tmp_path / "cells.parquet"
    pq.write_table(pa.table({"id": list("abc"), "text": ["the plot was splendid", "x" * 4_000_001, "dreadful"]}), cells)
    monkeypatch.setattr(spark_job, "PARQUET_WHOLE_BYTES", 0)  # read by Spark, in parts
    scored, rejected = both(cells, "cells")
    assert scored == ["a", "c"] and rejected == [("cells.parquet:2", "the text is longer than 4,000,000 characters")]


# ---- logins: a short line per name, and the owner gets in ----------------------------------------

from tests.test_logins import fake_time  # noqa: E402 - the logins tests' clock, one definition

def test_a_burst_of_guesses_is_refused_at_once_past_a_short_line_and_the_owner_gets_in():
    from serve.app.logins import LOGIN_ADDRESS, MAX_DELAY, MAX_WAITING_PER_CLIENT, Logins

    now, sleep, clock, slept = fake_time()
    logins = Logins({"alice": "s3cret"}, clock=now, sleep=sleep)
    checked = []
    verify = logins.verify
    logins.verify = lambda user, password: checked.append(password) or verify(user, password)

    async def attempt(address: str, password: str) -> tuple[bool, float]:
        LOGIN_ADDRESS.set(address)
        ok = await logins.check("alice", password)
        return ok, clock[0]

    async def burst_then_owner():
        guesses = [asyncio.create_task(attempt("198.51.100.66", f"guess{i}")) for i in range(400)]
        guesses.append(asyncio.create_task(attempt("198.51.100.66", "s3cret")))  # past the line: never checked
        owner = asyncio.create_task(attempt("192.0.2.7", "s3cret"))
        return await asyncio.gather(*guesses), await owner

    guesses, (owner_in, owner_at) = asyncio.run(burst_then_owner())
    assert not any(ok for ok, _ in guesses)
    # the guesser's places in line (the first answered at once, before any failure, freeing its place),
    # and the owner's: the right password sent from the guesser's address past the line was never checked
    assert len(checked) <= MAX_WAITING_PER_CLIENT + 2 and checked.count("s3cret") == 1
    assert owner_in and owner_at <= (MAX_WAITING_PER_CLIENT + 1) * MAX_DELAY
    assert not logins.lines and logins.waiting == 0  # nothing is kept once answered

    async def later():  # the burst is over: the owner, from the guesser's address too, gets in
        return await attempt("198.51.100.66", "s3cret")

    assert asyncio.run(later())[0]


def test_guessing_one_name_stays_one_answer_per_delay():
    from serve.app.logins import FIRST_DELAY, MAX_DELAY, Logins

    now, sleep, clock, slept = fake_time()
    logins = Logins({"alice": "s3cret"}, clock=now, sleep=sleep)

    async def guesses():
        answers = []
        for i in range(12):  # one after another, from one client: each waits, doubling to the cap
            answers.append(await logins.check("alice", f"guess{i}"))
        return answers

    assert not any(asyncio.run(guesses()))
    assert clock[0] >= FIRST_DELAY * (1 + 2 + 4 + 8) + MAX_DELAY * (11 - 4)


@pytest.mark.server
def test_the_owner_logs_in_after_400_concurrent_wrong_passwords(tiny_model_dir, tmp_path):
    """Before: after 400 wrong passwords at once (clients long gone), the owner's right one got no answer
    within 60 s, even 51 minutes later."""
    from tests.servers import Server

    (tmp_path / "logins").write_text("alice:s3cret\n")
    form = lambda password: f"username=alice&password={password}".encode()  # noqa: E731

    def login(password: str, timeout: float, forwarded: str = "") -> int:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} | (
            {"X-Forwarded-For": forwarded} if forwarded else {})
        request = urllib.request.Request(s.url + "login", form(password), headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - loopback
                return answer.status
        except urllib.error.HTTPError as err:
            return err.code
        except OSError:  # gave up waiting: a client that went away
            return 0

    with Server("--model", str(tiny_model_dir), "--db", str(tmp_path / "db.sqlite3"), "--auth-file",
                str(tmp_path / "logins"), log=tmp_path / "log") as s:
        threads = [threading.Thread(target=login, args=(f"guess{i}", 5)) for i in range(400)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert login("s3cret", 120, forwarded="192.0.2.7") == 200  # another address: its own place in line
        assert login("s3cret", 120) == 200  # the guesser's address too, once its burst is over
        assert login("wrong", 120) == 400
