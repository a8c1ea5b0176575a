"""The fast lane stays fast and free of TensorFlow: it is run here, whole, with TensorFlow blocked.

Marked ``train`` so that the fast lane does not run itself; the full run (CI) runs it. Also
``server``: it runs the lane in a pytest process of its own.
"""

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

FAST_LANE = ["-m", "not train and not browser and not spark"]


@pytest.mark.train
@pytest.mark.server
def test_fast_lane_passes_with_tensorflow_unimportable():
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *FAST_LANE,
                           "--block-tensorflow"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    tail = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 0, proc.stdout[-3000:]
    passed = int(re.search(r"(\d+) passed", tail).group(1))
    assert passed >= 200 and "failed" not in tail and "error" not in tail, tail


def test_every_test_module_names_its_lane_when_it_needs_more_than_numpy():
    """A module that imports TensorFlow-side code at the top would break the fast lane's collection."""
    heavy = re.compile(r"^(?:from|import) (?:tensorflow|keras|tf2onnx|onnx\b|trainer\.(?:train|model|export|reload))",
                       re.M)
    offenders = [p.name for p in (ROOT / "tests").glob("*.py") if heavy.search(p.read_text())]
    assert offenders == []


PROBE = '''
import multiprocessing
import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def process():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    yield proc
    proc.wait()


def test_unmarked_subprocess():
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_unmarked_multiprocessing():
    p = multiprocessing.get_context("spawn").Process(target=print)
    p.start()
    p.join()


@pytest.mark.server
def test_marked_without_a_process():
    pass


@pytest.mark.server
def test_marked_with_a_process():
    subprocess.run([sys.executable, "-c", "pass"], check=True)


@pytest.mark.server
def test_marked_first_user_of_a_process_fixture(process):
    pass


@pytest.mark.server
def test_marked_later_user_of_a_process_fixture(process):
    pass


def test_unmarked_later_user_of_a_process_fixture(process):
    pass


@pytest.mark.spark
def test_other_marks_may_start_processes():
    subprocess.run([sys.executable, "-c", "pass"], check=True)
'''


@pytest.mark.server
def test_a_test_that_starts_a_process_must_say_so_and_only_then(tmp_path):
    """The check in conftest.py, on tests made to break it (in a pytest process of their own)."""
    (tmp_path / "conftest.py").write_text("from tests.conftest import *  # noqa: F403 - the hooks under test\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    server\n    browser\n    spark\n")
    (tmp_path / "test_probe.py").write_text(PROBE)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_probe.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    failed = dict(re.findall(r"^_+ (test_\w+) _+\n(.*)$", proc.stdout, re.M))  # each failure's heading, message
    start = "starts a process: mark it server (in its call, through "
    assert sorted(failed) == ["test_marked_without_a_process", "test_unmarked_later_user_of_a_process_fixture",
                              "test_unmarked_multiprocessing", "test_unmarked_subprocess"], proc.stdout[-3000:]
    assert failed["test_unmarked_subprocess"].startswith(start + "Popen._execute_child [")
    assert failed["test_unmarked_subprocess"].endswith(", '-c', 'pass'])")
    assert failed["test_unmarked_multiprocessing"] == start + "BaseProcess.start)"
    assert failed["test_marked_without_a_process"] == "marked server but started no process: remove the mark"
    assert failed["test_unmarked_later_user_of_a_process_fixture"] == start + "fixture 'process')"
    assert "4 failed, 4 passed" in proc.stdout.splitlines()[-1], proc.stdout[-3000:]
