"""Damaged or mismatched model files: the app and the batch command refuse with one clear line."""

import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def damage(model_dir, how):
    meta_path = model_dir / "metadata.json"
    meta = json.loads(meta_path.read_text())
    if how == "truncated onnx":
        data = (model_dir / "model.onnx").read_bytes()
        (model_dir / "model.onnx").write_bytes(data[: len(data) // 2])
        return "model.onnx: sha256 does not match metadata.json"
    if how == "truncated onnx, sha updated":
        data = (model_dir / "model.onnx").read_bytes()
        (model_dir / "model.onnx").write_bytes(data[: len(data) // 2])
        import hashlib

        meta["sha256"]["model.onnx"] = hashlib.sha256(data[: len(data) // 2]).hexdigest()
        meta_path.write_text(json.dumps(meta))
        return "model.onnx: onnxruntime cannot load it"
    if how == "wrong vocabulary size":
        with open(model_dir / "vocab.txt", "a") as f:
            f.write("extraword\n")
        import hashlib

        meta["sha256"]["vocab.txt"] = hashlib.sha256((model_dir / "vocab.txt").read_bytes()).hexdigest()
        meta_path.write_text(json.dumps(meta))
        return "vocab.txt: "
    if how == "other codec version":
        meta["codec"]["version"] = 0
        meta_path.write_text(json.dumps(meta))
        return "metadata.json: made with codec version 0"
    if how == "missing data file":
        (model_dir / "model.onnx.data").unlink()
        return "model.onnx.data: missing"
    if how == "not json":
        meta_path.write_text("{not json")
        return "metadata.json: not valid JSON"
    if how == "incomplete metadata":
        del meta["codec"]
        meta_path.write_text(json.dumps(meta))
        return "metadata.json: incomplete"
    raise AssertionError(how)


CASES = ["truncated onnx", "truncated onnx, sha updated", "wrong vocabulary size", "other codec version",
         "missing data file", "not json", "incomplete metadata"]


@pytest.mark.parametrize("how", CASES)
@pytest.mark.parametrize("command", ["serve", "serve.batch"])
def test_refuses_to_start_with_one_clear_line(tiny_model_dir, tmp_path, how, command):
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    expected = damage(model, how)
    src = tmp_path / "in.txt"
    src.write_text("splendid\n")
    args = {"serve": ["--model", str(model), "--port", "1", "--db", str(tmp_path / "db.sqlite3")],
            "serve.batch": [str(src), "-o", str(tmp_path / "out.csv"), "--model", str(model), "--quiet"]}[command]
    proc = subprocess.run([sys.executable, "-m", command, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and expected in lines[0] and str(model) in lines[0]
