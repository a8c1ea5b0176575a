"""The repository root is a valid Gradio Space that never needs TensorFlow."""

import re
import subprocess
import sys
from importlib.metadata import version

import pytest

from tests.conftest import ROOT


def front_matter() -> dict:
    text = (ROOT / "README.md").read_text()
    m = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert m, "README.md must start with YAML front matter"
    return dict(line.split(": ", 1) for line in m.group(1).splitlines() if ": " in line)


def test_front_matter_matches_the_pinned_gradio():
    fm = front_matter()
    assert fm["sdk"] == "gradio" and fm["app_file"] == "app.py"
    assert fm["sdk_version"] == version("gradio") == "6.31.0"
    assert fm["python_version"].strip('"') == "3.11"
    assert fm["title"]


def test_requirements_are_runtime_only():
    lines = (ROOT / "requirements.txt").read_text().lower().splitlines()
    reqs = "\n".join(line for line in lines if not line.startswith("#"))
    for heavy in ("tensorflow", "tf2onnx", "keras", "onnx=", "onnx>"):
        assert heavy not in reqs
    assert "gradio==6.31.0" in reqs and "onnxruntime" in reqs


@pytest.mark.server
def test_app_builds_with_tensorflow_unimportable(tmp_path):
    code = (
        "import sys\n"
        "for name in ('tensorflow', 'keras', 'tf2onnx', 'onnx'):\n"
        "    sys.modules[name] = None  # any import of them now raises ImportError\n"
        "import runpy\n"
        "ns = runpy.run_path('app.py')\n"
        "import gradio as gr\n"
        "assert isinstance(ns['demo'], gr.Blocks)\n"
        "print(sorted(ns['launch_kwargs']))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180,
                         env={"SENTILENS_DB": str(tmp_path / "space.sqlite3"), "PATH": "/usr/bin:/bin",
                              "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "auth" in out.stdout
