"""The fast lane stays fast and free of TensorFlow: it is run here, whole, with TensorFlow blocked.

Marked ``train`` so that the fast lane does not run itself; the full run (CI) runs it.
"""

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

FAST_LANE = ["-m", "not train and not browser and not spark"]


@pytest.mark.train
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
