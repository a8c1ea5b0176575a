"""Crash durability of annotations and login enforcement, against a real server process."""


import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from gradio_client import Client
from gradio_client.exceptions import AuthenticationError

from tests.servers import ROOT, Server

pytestmark = pytest.mark.server


def queue_file(tmp_path, n):
    src = tmp_path / "queue.txt"
    src.write_text("".join(f"review number {i} was splendid\n" for i in range(n)))
    return src


def item(src, line):
    """The queue's id of a line of ``src`` (the source is named by file name and content)."""
    from sentilens.digest import file_sha256

    return f"{src.name}@{file_sha256(src)[:8]}#{line}"


def test_sigkill_while_annotating_loses_no_acknowledged_write(tiny_model_dir, tmp_path):
    db = tmp_path / "db.sqlite3"
    src = queue_file(tmp_path, 400)
    args = ("--model", str(tiny_model_dir), "--db", str(db), "--annotate", str(src))
    server = Server(*args, log=tmp_path / "server.log")
    acked: list[tuple[str, int]] = []
    stop = threading.Event()

    def annotator(name):
        client = Client(server.url, verbose=False)
        for i in range(200):
            if stop.is_set():
                return
            try:
                decision = client.predict(item(src, i * 2 + (name == 'b') + 1), "pos", name, "",
                                          api_name="/annotate")
            except Exception:  # noqa: BLE001 - the server is gone: this write was not acknowledged
                return
            acked.append((name, decision))

    threads = [threading.Thread(target=annotator, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    while len(acked) < 30 and time.monotonic() < deadline and any(t.is_alive() for t in threads):
        time.sleep(0.05)
    assert len(acked) >= 30, "the annotators could not write before the kill"
    server.kill()  # SIGKILL mid-stream
    stop.set()
    for t in threads:
        t.join(60)
    stored = set(sqlite3.connect(db).execute("SELECT annotator, decision_id FROM decisions").fetchall())
    assert set(acked) <= stored
    with Server(*args, log=tmp_path / "server2.log"):  # restarts on the same database
        con = sqlite3.connect(db)
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("SELECT COUNT(*) FROM items").fetchone() == (400,)


@pytest.mark.parametrize("source", ["file"])  # SENTILENS_AUTH: test_logins.py, in-process
def test_login_is_required_for_the_api_and_names_the_annotator(tiny_model_dir, tmp_path, source):
    src = queue_file(tmp_path, 3)
    args = ("--model", str(tiny_model_dir), "--db", str(tmp_path / "db.sqlite3"), "--annotate", str(src))
    env = {}
    if source == "file":
        (tmp_path / "logins").write_text("# who may log in\nalice:s3cret\n")
        args += ("--auth-file", str(tmp_path / "logins"))
    else:
        env = {"SENTILENS_AUTH": "alice:s3cret"}
    with Server(*args, env=env, log=tmp_path / "server.log") as server:
        assert "s3cret" not in " ".join(server.proc.args)  # never on the command line (ps)
        with pytest.raises(AuthenticationError, match="credentials were not provided"):
            Client(server.url, verbose=False).predict(item(src, 1), "pos", "mallory", "", api_name="/annotate")
        with pytest.raises(ValueError, match="Could not login"):
            Client(server.url, auth=("alice", "wrong"), verbose=False)
        client = Client(server.url, auth=("alice", "s3cret"), verbose=False)
        assert client.predict(item(src, 1), "neg", "mallory", "", api_name="/annotate") == 1
    rows = sqlite3.connect(tmp_path / "db.sqlite3").execute("SELECT annotator, label FROM decisions").fetchall()
    assert rows == [("alice", "neg")]


def test_load_script_small_run_has_no_errors(tiny_model_dir):
    """bench.load as people run it (a process of its own; tests import nothing from bench/): exit 0 only
    when no request failed."""
    proc = subprocess.run([sys.executable, "-m", "bench.load", "--requests", "120", "--clients", "8", "--time-limit",
                           "120", "--model", str(tiny_model_dir)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stdout.startswith("120 requests from 8 clients") and "error:" not in proc.stdout


def test_uploads_over_the_cap_are_refused(tiny_model_dir, tmp_path):
    import httpx

    from serve.app.uploads import MAX_UPLOAD_BYTES

    with Server("--model", str(tiny_model_dir), "--db", str(tmp_path / "db.sqlite3")) as server:
        big = b"text\n" + b"x" * MAX_UPLOAD_BYTES + b"\n"
        small = b"text\nfine\n"
        for payload, ok in ((small, True), (big, False)):
            r = httpx.post(server.url + "gradio_api/upload", files={"files": ("../../etc/r.csv", payload)}, timeout=60)
            assert (r.status_code == 200) == ok, r.text[:200]
            if ok:  # stored under gradio's upload folder, never at the path the name suggests
                stored = r.json()[0]
                assert "/etc/r.csv" not in stored and stored.endswith("r.csv")
            else:
                assert r.status_code == 413 and "maximum allowed size" in r.text
