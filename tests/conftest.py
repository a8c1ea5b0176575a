"""Shared fixtures: tiny corpora and the committed tiny model (never IMDB text).

Lanes (markers registered in pyproject.toml): ``train`` tests need TensorFlow, ``browser``
tests need Chromium, ``spark`` tests need pyspark and Java, ``server`` tests start the app in a
process. The fast lane, ``pytest -m "not train and not browser and not spark"``, needs none of them.
``--block-tensorflow`` makes TensorFlow, Keras, tf2onnx and onnx unimportable for the run,
which proves the fast lane needs none of them even where they are installed.
"""

from __future__ import annotations

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
