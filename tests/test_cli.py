"""The `sentilens` command: every job listed and runnable from the installed package, each behaving the
same through one runner (bad input: one line, exit 2; a bug: one line naming the log with its traceback)."""

import subprocess
import sys
import tomllib

import pytest

from sentilens import cli
from sentilens.errors import DataError
from tests.conftest import ROOT

JOBS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["sentilens.commands"]


def sentilens(*args, **kwargs):
    return subprocess.run([sys.executable, "-c", "import sys; from sentilens.cli import main; sys.exit(main())", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, **kwargs)


@pytest.mark.server
def test_the_help_lists_every_job_with_a_summary_without_loading_them():
    assert set(cli.commands()) == set(JOBS), "reinstall the package: pip install -e ."
    proc = sentilens("--help")
    assert proc.returncode == 0
    listed = {line.split()[0]: line for line in proc.stdout.split("jobs:\n")[1].splitlines()}
    assert set(listed) == set(JOBS) and all(len(line.split()) > 4 for line in listed.values())
    loaded = subprocess.run([sys.executable, "-c", "import sys; from sentilens.cli import main; main(['--help']); "
                             "print(sorted(m for m in ('gradio', 'tensorflow', 'pyspark', 'onnxruntime') if m in sys.modules))"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60).stdout.splitlines()[-1]
    assert loaded == "[]"


@pytest.mark.server
@pytest.mark.parametrize("job", sorted(JOBS))
def test_each_job_has_help_with_examples_under_its_own_name(job):
    proc = sentilens(job, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: sentilens {job}") and "examples:" in proc.stdout


@pytest.mark.server
def test_an_unknown_job_is_one_line_and_exit_2():
    proc = sentilens("scroe", "x.csv")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "score" in proc.stderr


def test_the_runner_turns_bad_input_into_one_line_and_a_bug_into_a_logged_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SENTILENS_LOG_DIR", str(tmp_path))

    @cli.command("demo")
    def bad(argv=None):
        raise DataError("reviews.csv, line 3: no text")

    @cli.command("demo", failure_note="nothing was written")
    def buggy(argv=None):
        return {}["missing"]

    @cli.command("demo")
    def unreadable(argv=None):
        open(tmp_path / "nowhere" / "x.csv")

    assert bad([]) == 2 and capsys.readouterr().err == "error: reviews.csv, line 3: no text\n"
    assert unreadable([]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nowhere/x.csv: No such file or directory" in err
    assert buggy([]) == 1
    err = capsys.readouterr().err
    (log,) = tmp_path.glob("demo-*.log")
    assert err.count("\n") == 1 and "KeyError" in err and "nothing was written" in err and str(log) in err
    assert "Traceback (most recent call last)" in log.read_text() and "KeyError: 'missing'" in log.read_text()


@pytest.mark.server
def test_sentilens_score_runs_the_batch_job(tiny_model_dir, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("a superb film\nawful and dull\n")
    proc = sentilens("score", str(src), "-o", str(tmp_path / "out.csv"), "--model", str(tiny_model_dir), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 3
    proc = sentilens("score", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "o.csv"), "--model", str(tiny_model_dir))
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
