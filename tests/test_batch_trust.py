"""serve.batch never destroys a file, and no row, however broken, stops a run or goes missing."""

import csv
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serve.jobs.batch import main
from tests.conftest import ROOT

BEFORE = "id,probability\nprecious,0.5\n"


def run(model_dir, *args):
    return main([*args, "--model", str(model_dir), "--quiet"])


def rows_of(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


@pytest.mark.parametrize("how", ["same path", "another spelling", "a symlink", "side file"])
def test_an_output_that_is_the_input_is_refused_and_the_input_kept(tiny_model_dir, tmp_path, capsys, how):
    src = tmp_path / "reviews.csv"
    src.write_text("text\nthe plot was splendid\n")
    before = src.read_bytes()
    out = {"same path": src, "another spelling": tmp_path / "sub" / ".." / "reviews.csv",
           "a symlink": tmp_path / "link.csv", "side file": tmp_path / "x.csv"}[how]
    (tmp_path / "sub").mkdir()
    if how == "a symlink":
        out.symlink_to(src)
    if how == "side file":  # x.csv.rejected.csv would be written over the input
        src = tmp_path / "x.csv.rejected.csv"
        src.write_bytes(before)
    assert run(tiny_model_dir, str(src), "-o", str(out)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is the input file" in err[0]
    assert src.read_bytes() == before and leftovers(tmp_path) == []


def test_an_output_inside_the_input_folder_is_refused(tiny_model_dir, acl_dir, capsys):
    assert run(tiny_model_dir, str(acl_dir), "-o", str(acl_dir / "train" / "scores.csv")) == 2
    assert "lies inside the input folder" in capsys.readouterr().err
    assert not (acl_dir / "train" / "scores.csv").exists()


@pytest.mark.parametrize("bad_input", ["missing.csv", "no_text_column.csv", "broken.tar.gz", "bad_model"])
def test_a_run_that_fails_leaves_existing_outputs_as_they_were(tiny_model_dir, tmp_path, capsys, bad_input):
    (tmp_path / "no_text_column.csv").write_text("body\nfine\n")
    (tmp_path / "broken.tar.gz").write_bytes(b"not a tarball")
    (tmp_path / "good.csv").write_text("text\nfine\n")
    out = tmp_path / "out.csv"
    out.write_text(BEFORE)
    side = tmp_path / "out.csv.rejected.csv"
    side.write_text("where,problem\nold,kept\n")
    model = tiny_model_dir
    src = tmp_path / bad_input
    if bad_input == "bad_model":
        model, src = tmp_path / "nowhere", tmp_path / "good.csv"
    assert run(model, str(src), "-o", str(out)) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert out.read_text() == BEFORE and side.read_text() == "where,problem\nold,kept\n"
    assert leftovers(tmp_path) == []


def test_a_failure_in_the_middle_of_a_run_changes_nothing(tiny_model_dir, tmp_path, capsys, monkeypatch):
    import serve.jobs.batch as batch

    src = tmp_path / "in.txt"
    src.write_text("the plot was splendid\n" * 5000)
    out = tmp_path / "out.csv"
    out.write_text(BEFORE)
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    real = batch.score_encoded
    monkeypatch.setattr(batch, "score_encoded", failing)
    monkeypatch.setenv("SENTILENS_LOG_DIR", str(tmp_path / "logs"))
    assert run(tiny_model_dir, str(src), "-o", str(out)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    # a bug: one line saying what happened to the files, its traceback for the maintainer in a log
    assert len(err) == 1 and "disk on fire" in err[0] and "existing files are unchanged" in err[0]
    (log,) = (tmp_path / "logs").iterdir()
    assert log.name in err[0] and "Traceback (most recent call last):" in log.read_text()
    assert log.read_text().strip().endswith("RuntimeError: disk on fire")
    assert out.read_text() == BEFORE and leftovers(tmp_path) == []


@pytest.mark.server
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_run_leaves_existing_files_and_no_temporaries(tiny_model_dir, tmp_path, signum):
    src = tmp_path / "big.txt"
    src.write_text("the plot was splendid and the music was long\n" * 1_500_000)
    out = tmp_path / "out.csv"
    out.write_text(BEFORE)
    proc = subprocess.Popen([sys.executable, "-m", "serve.batch", str(src), "-o", str(out), "--quiet",
                             "--model", str(tiny_model_dir)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not leftovers(tmp_path) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert leftovers(tmp_path), "the run never started writing"
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum
    assert err.strip().splitlines() == [f"error: stopped by {signal.Signals(signum).name}; no output was written "
                                        "and existing files are unchanged"]
    assert out.read_text() == BEFORE and leftovers(tmp_path) == []
    assert not (tmp_path / "out.csv.rejected.csv").exists()


def test_a_completed_run_replaces_the_output_whole(tiny_model_dir, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("the plot was splendid\n")
    out = tmp_path / "out.csv"
    out.write_text(BEFORE)
    assert run(tiny_model_dir, str(src), "-o", str(out)) == 0
    assert [r["id"] for r in rows_of(out)] == ["1"] and leftovers(tmp_path) == []
    assert oct(os.stat(out).st_mode & 0o777) == "0o644"


BAD_ROWS = {
    "in.csv": (b'id,text,label\nok1,the plot was splendid,pos\n\xff\xfe,the music was dreadful,neg\n'
               b'ok2,"the night was \xe9 splendid",pos\nok3,fine "quoted" inside,\n'
               b'bad,"this quote never closes,pos\nok4,the plot was dreadful,neg\nok5,splendid,1\n',
               ["ok1", "ok3", "ok4", "ok5"], {"3": "the id is not UTF-8", "4": "the text is not UTF-8",
                                             "6": "a quoted field opens here and never closes"}),
    "in.jsonl": (b'{"text": "splendid"}\n{"text": "bad \\ud800 surrogate"}\n' + b"[" * 50_000 + b"]" * 50_000 +
                 b'\n[1, 2]\n"just a string"\n{"text": "dreadful", "id": "\\udcff"}\n{"text": "fine", "id": 7}\n',
                 ["1", "7"], {"2": "the text is not UTF-8", "3": "nested too deeply", "4": "expected a JSON object",
                             "5": "expected a JSON object", "6": "the id is not UTF-8"}),
    "in.txt": (b"splendid\n\xff\xfe broken bytes\n\n   \ndreadful\r\nlone\rcarriage\n",
               ["1", "5", "6", "7"], {"2": "the text is not UTF-8"}),
}


@pytest.mark.parametrize("name", list(BAD_ROWS))
def test_every_kind_of_bad_row_is_rejected_with_its_line_and_the_run_goes_on(tiny_model_dir, tmp_path, capsys, name):
    content, good_ids, problems = BAD_ROWS[name]
    src = tmp_path / name
    src.write_bytes(content)
    out = tmp_path / "out.csv"
    assert run(tiny_model_dir, str(src), "-o", str(out)) == 0
    assert [r["id"] for r in rows_of(out)] == good_ids
    rejected = rows_of(tmp_path / "out.csv.rejected.csv")
    got = {r["where"].rsplit(":", 1)[1]: r["problem"] for r in rejected}
    assert set(got) == set(problems)
    for line, problem in problems.items():
        assert problem in got[line], (line, got[line])
    n = len(good_ids) + len(problems)
    assert f"rows in {n} = scored {len(good_ids)} + rejected {len(problems)}" in capsys.readouterr().out


def test_a_quote_that_never_closes_does_not_swallow_the_rows_after_it(tiny_model_dir, tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text('id,text\na,"the plot was splendid\n' + "".join(f"r{i},the music was dreadful\n" for i in range(500)))
    out = tmp_path / "out.csv"
    assert run(tiny_model_dir, str(src), "-o", str(out)) == 0
    assert [r["id"] for r in rows_of(out)] == [f"r{i}" for i in range(500)]
    assert "rows in 501 = scored 500 + rejected 1" in capsys.readouterr().out


def test_cells_a_spreadsheet_would_run_are_neutralized_unless_raw(tiny_model_dir, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('id,text,label\n"=HYPERLINK(""http://127.0.0.1/x"")",splendid,pos\n+1,dreadful,neg\n'
                   '-2,splendid,\n@SUM(A1),dreadful,\n"\tx",fine,\nplain,fine,maybe\n')
    out = tmp_path / "out.csv"
    assert run(tiny_model_dir, str(src), "-o", str(out)) == 0
    ids = [r["id"] for r in rows_of(out)]
    assert ids == ["'=HYPERLINK(\"http://127.0.0.1/x\")", "'+1", "'-2", "'@SUM(A1)", "'\tx"]
    problems = rows_of(tmp_path / "out.csv.rejected.csv")
    assert all(not cell.startswith(("=", "+", "-", "@")) for r in problems for cell in r.values())
    assert run(tiny_model_dir, str(src), "-o", str(out), "--raw-csv") == 0
    assert [r["id"] for r in rows_of(out)] == ['=HYPERLINK("http://127.0.0.1/x")', "+1", "-2", "@SUM(A1)", "\tx"]


ROW_BYTES = st.lists(st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b'"', b'""', b",", b"\n", b"\r\n", b"\r", b"{", b"}", b"[", b'{"text": "', b'"}', b"\\u",
                     b"\\ud800", b"\xff", b"\xe9", b"\x00", b"text", b"splendid", b"label", b"pos", b"id"])),
    max_size=30).map(b"".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=ROW_BYTES, suffix=st.sampled_from([".csv", ".jsonl", ".txt"]), header=st.booleans())
def test_generated_bytes_never_crash_a_run_and_every_row_is_accounted_for(tiny_model_dir, tmp_path_factory,
                                                                          capsys, body, suffix, header):
    folder = tmp_path_factory.mktemp("gen")
    src = folder / f"in{suffix}"
    src.write_bytes((b"id,text,label\n" if header and suffix == ".csv" else b"") + body)
    out = folder / "out.csv"
    capsys.readouterr()
    code = run(tiny_model_dir, str(src), "-o", str(out))
    printed = capsys.readouterr()
    assert "Traceback" not in printed.err
    if code == 2:
        assert len(printed.err.strip().splitlines()) == 1 and not out.exists()
        return
    assert code == 0, printed.err
    summary = printed.out.splitlines()[0]
    rows_in, scored, rejected = (int(x.replace(",", "")) for x in
                                 __import__("re").match(r"rows in ([\d,]+) = scored ([\d,]+) \+ rejected ([\d,]+)",
                                                        summary).groups())
    assert rows_in == scored + rejected
    assert len(rows_of(out)) == scored and len(rows_of(folder / "out.csv.rejected.csv")) == rejected
    assert leftovers(folder) == []


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".txt"])
def test_a_giant_line_is_rejected_without_being_held(tiny_model_dir, tmp_path, capsys, monkeypatch, suffix):
    import sentilens.sources.lines as sources

    monkeypatch.setattr(sources, "MAX_RECORD_CHARS", 1000)
    monkeypatch.setattr(sources, "TOO_LONG", "the line is longer than 1,000 characters")
    head = {".csv": "text\n", ".jsonl": "", ".txt": ""}[suffix]
    good = {".csv": "the plot was splendid\n", ".jsonl": '{"text": "the plot was splendid"}\n',
            ".txt": "the plot was splendid\n"}[suffix]
    src = tmp_path / f"in{suffix}"
    src.write_text(head + good + "x" * 5000 + "\n" + good)
    out = tmp_path / "out.csv"
    assert run(tiny_model_dir, str(src), "-o", str(out)) == 0
    assert len(rows_of(out)) == 2
    rejected = rows_of(tmp_path / "out.csv.rejected.csv")
    assert [r["problem"] for r in rejected] == ["the line is longer than 1,000 characters"]
    assert "rows in 3 = scored 2 + rejected 1" in capsys.readouterr().out


ROWS = 60_000  # about a second of scoring: long enough to be caught mid-run by polling every few ms
PART = re.compile(r"\.out\.csv\.[^.]+\.part")  # the scores' temporary (the side file's has more dots)


def batch(model_dir, src, out) -> subprocess.Popen:
    """``python -m serve.batch`` in a process, its summary unbuffered so that it can be waited for. SIGINT and
    SIGTERM start at their defaults: a test run started as a shell's background job has SIGINT ignored, which
    the process would inherit, and a stop sent before it sets its own handling would be lost."""
    def default_stops() -> None:
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, signal.SIG_DFL)

    return subprocess.Popen([sys.executable, "-m", "serve.batch", str(src), "-o", str(out), "--quiet",
                             "--model", str(model_dir)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=default_stops)


def rows_written(part: Path) -> int:
    return max(part.read_bytes().count(b"\n") - 1, 0)  # less the header


def frozen(pid: int) -> bool:
    """Every thread of ``pid`` is stopped (SIGSTOP), so that nothing it writes can change."""
    states = []
    for task in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            stat = task.read_text()
        except FileNotFoundError:  # a thread that has just ended
            continue
        states.append(stat[stat.rindex(")") + 2])
    return bool(states) and set(states) == {"T"}


def freeze_once_written(proc: subprocess.Popen, folder: Path, rows: int) -> int:
    """Wait until the run's temporary output holds ``rows`` scored rows, then stop the process where
    it is (SIGSTOP) and return how many rows the temporary holds: read while nothing can move on, it
    tells exactly where the run was."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        part = next((p for p in folder.iterdir() if PART.fullmatch(p.name)), None)
        if part is not None and rows_written(part) >= rows:
            proc.send_signal(signal.SIGSTOP)
            while not frozen(proc.pid):
                assert proc.poll() is None and time.monotonic() < deadline, "the run ended instead of pausing"
                time.sleep(0.001)
            assert part.exists(), "the run finished before it could be stopped mid-run: give it more rows"
            return rows_written(part)
        time.sleep(0.002)
    if proc.poll() is not None:
        raise AssertionError(f"the run ended (exit {proc.returncode}) before it was seen with {rows:,} rows written: "
                             "give it more rows")
    raise AssertionError(f"the run did not write {rows:,} rows within 60 s")


@pytest.mark.server
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("moment", ["before start", "first rows written", "half written", "after finish"])
def test_a_stop_at_any_moment_leaves_either_the_old_files_or_the_whole_result(tiny_model_dir, tmp_path, moment,
                                                                             signum):
    """Stops at points the run's own progress defines, not after a guessed delay: before it has
    started, at its first written rows and halfway (the process paused while its output is read,
    so the point is the one looked at), and once it has printed its summary."""
    src = tmp_path / "in.txt"
    src.write_text("the plot was splendid and the music was long\n" * ROWS)
    out, side = tmp_path / "out.csv", tmp_path / "out.csv.rejected.csv"
    out.write_text(BEFORE)
    proc = batch(tiny_model_dir, src, out)
    try:
        if moment == "after finish":
            assert any(line.startswith("wrote ") for line in proc.stdout), "no summary"
        elif moment != "before start":
            held = freeze_once_written(proc, tmp_path, 1 if moment == "first rows written" else ROWS // 2)
            assert 0 < held < ROWS and out.read_text() == BEFORE  # mid-run: rows still to write, nothing renamed
        proc.send_signal(signum)
        proc.send_signal(signal.SIGCONT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert leftovers(tmp_path) == []
    if moment == "after finish":  # a stop after the results are in place changes nothing
        assert proc.returncode == 0, err
        assert len(rows_of(out)) == ROWS and rows_of(side) == []
        return
    assert out.read_text() == BEFORE and not side.exists()
    if moment == "before start":  # Python's own handling, or ours once set: either way it failed
        assert proc.returncode != 0
    else:
        assert proc.returncode == 128 + signum
        assert err.strip().splitlines() == [f"error: stopped by {signal.Signals(signum).name}; no output was written "
                                            "and existing files are unchanged"]
