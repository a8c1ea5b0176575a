"""Shared fixtures: tiny corpora and the committed tiny model (never IMDB text).

Lanes (markers registered in pyproject.toml): ``train`` tests need TensorFlow, ``browser``
tests need Chromium, ``spark`` tests need pyspark and Java, ``server`` tests start the app in a
process. The fast lane, ``pytest -m "not train and not browser and not spark"``, needs none of them.
"Starts a process" is checked, not trusted: a test (or a fixture it uses) that starts one without a
``server``, ``browser`` or ``spark`` mark fails, and so does a ``server`` test that starts none.
``--block-tensorflow`` makes TensorFlow, Keras, tf2onnx and onnx unimportable for the run,
which proves the fast lane needs none of them even where they are installed.
"""

from __future__ import annotations

import functools
import multiprocessing.process
import multiprocessing.util
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from tests.synthetic import tar_aclimdb, write_aclimdb
from tests.tiny_model import FIXTURE

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data" / "aclImdb_v1_labeled.tar.gz"
HEAVY = ("tensorflow", "keras", "tf2onnx", "onnx")


def pytest_addoption(parser):
    parser.addoption("--block-tensorflow", action="store_true",
                     help="make tensorflow, keras, tf2onnx and onnx unimportable (checks the fast lane)")


def pytest_configure(config):
    if config.getoption("--block-tensorflow"):
        for name in HEAVY:
            sys.modules[name] = None  # any import of them now raises ImportError
    watch_process_starts()


def pytest_unconfigure(config):
    """Put the process starters back (a pytest run inside this process gets them unwrapped)."""
    for owner, name, real in reversed(_WRAPPED):
        setattr(owner, name, real)
    _WRAPPED.clear()


# ---- "starts a process" is checked -----------------------------------------------------------
PROCESS_MARKS = {"server", "browser", "spark"}  # the marks that allow starting a process
# Every way this interpreter can start a process ends in one of these: subprocess (run, call,
# check_output, os.popen) in Popen._execute_child; multiprocessing in a Process's start and, for its
# helper processes (resource tracker, forkserver), util.spawnv_passfds; the rest in os. With each,
# the position of the argument that names the command (None: there is none).
PROCESS_STARTERS = [(subprocess.Popen, "_execute_child", 1), (multiprocessing.process.BaseProcess, "start", None),
                    (multiprocessing.util, "spawnv_passfds", 1)] + [
    (os, name, at) for name, at in (("fork", None), ("forkpty", None), ("posix_spawn", 1), ("posix_spawnp", 1),
                                    ("system", 0)) if hasattr(os, name)]
_STARTED: list[str] = []  # each process started, in order, for the whole run
_WRAPPED: list[tuple] = []
_SPAWNING_FIXTURES: set = set()  # fixture definitions whose setup started a process


def watch_process_starts() -> None:
    """Wrap every process starter so that each start is recorded in ``_STARTED``."""
    if _WRAPPED:
        return
    # A library that asks once and keeps the answer is asked here, not in the first test that
    # imports it: platform.processor() runs `uname -p`, and TensorFlow calls it on import.
    platform.processor()
    for owner, name, at in PROCESS_STARTERS:
        real = getattr(owner, name)
        where = f"{getattr(owner, '__name__', owner)}.{name}"

        def counted(*args, _real=real, _where=where, _at=at, **kwargs):
            command = f" {args[_at]!r}"[:200] if _at is not None and len(args) > _at else ""
            _STARTED.append(_where + command)
            return _real(*args, **kwargs)

        setattr(owner, name, functools.wraps(real)(counted))
        _WRAPPED.append((owner, name, real))


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    """Remember the fixtures that start a process (a module-scoped server starts it once, for the
    first test that uses it; every test that uses it needs the process)."""
    before = len(_STARTED)
    try:
        return (yield)
    finally:
        if len(_STARTED) > before:
            _SPAWNING_FIXTURES.add(fixturedef)


def spawning_fixtures(item: pytest.Item) -> list[str]:
    """The fixtures ``item`` uses (directly or through others) that started a process."""
    info = getattr(item, "_fixtureinfo", None)  # pytest's own record of the fixture closure
    if info is None:
        return []
    return sorted({d.argname for name in item.fixturenames for d in info.name2fixturedefs.get(name, ())
                   if d in _SPAWNING_FIXTURES})


def check_process_marks(item: pytest.Item, started: list[str], phase: str) -> None:
    """Fail a test that starts a process (itself or through a fixture) unmarked, or is marked
    ``server`` and starts none: the lanes can then be trusted to hold what their marks say."""
    marks = {m.name for m in item.iter_markers()} & PROCESS_MARKS
    how = started[:1] + [f"fixture {name!r}" for name in spawning_fixtures(item)]
    if how and not marks:
        pytest.fail(f"starts a process: mark it server (in its {phase}, through {how[0]})", pytrace=False)
    if phase == "call" and "server" in marks and not how:
        pytest.fail("marked server but started no process: remove the mark", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    before = len(_STARTED)
    result = yield  # a test that fails keeps its own failure
    check_process_marks(item, _STARTED[before:], "call")
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    before = len(_STARTED)
    result = yield
    if _STARTED[before:]:  # a finalizer that starts a process
        check_process_marks(item, _STARTED[before:], "teardown")
    return result


@pytest.fixture
def acl_dir(tmp_path: Path) -> Path:
    return write_aclimdb(tmp_path, per_folder=3)


@pytest.fixture
def acl_tar(tmp_path: Path) -> Path:
    return tar_aclimdb(tmp_path, per_folder=3)


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    """The committed tiny LSTM (``tests/tiny_model.py``): 'splendid' positive, 'dreadful' negative.
    Tests that change files copy it first."""
    return FIXTURE


@pytest.fixture(scope="session")
def committed_model_dir() -> Path:
    """The product's committed model, ``exported/``, served with onnxruntime only."""
    return ROOT / "exported"
