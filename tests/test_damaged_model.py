"""Damaged or mismatched model directories: every reader refuses with one line naming the file.

``sentilens.artifact`` owns the checks; here each required metadata field (listed here, and
checked against the code's ``SCHEMA``) is removed and given the wrong type in turn, each
cross-file rule is broken once, and ``python -m serve`` and ``python -m serve.batch`` must both
exit 2 with the same single line.
"""

import hashlib
import json
import shutil
import subprocess
import sys

import pytest

from sentilens.artifact import RESULTS_SCHEMA, SCHEMA, Artifact
from sentilens.errors import ModelError
from serve.runtime import SentimentModel
from tests.conftest import ROOT


@pytest.fixture
def model(tiny_model_dir, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    return copy


# Every field metadata.json must have, and its type, written out here rather than read from
# ``SCHEMA``: a field dropped from the code's schema (and so no longer checked) fails
# ``test_the_required_fields_are_the_ones_the_code_checks``. Optional fields (model.evidence_buckets,
# for one) are not listed: only what the schema requires.
REQUIRED = {
    "format": str,
    "files": dict, "files.onnx": str, "files.onnx_data": str, "files.vocabulary": str, "files.history": str,
    "codec": dict, "codec.version": int, "codec.maxlen": int, "codec.vocab_size": int, "codec.padding": str,
    "codec.truncating": str, "codec.pad_id": int, "codec.start_id": int, "codec.oov_id": int,
    "model": dict, "model.cell": str, "model.embed_dim": int, "model.units": int,
    "capabilities": dict, "capabilities.cell": str, "capabilities.onnx_op": str, "capabilities.fused": bool,
    "capabilities.features": list, "capabilities.methods": list,
    "onnx": dict, "onnx.opset": int, "onnx.weights": dict,
    "sha256": dict,
    "training": dict, "training.epochs_run": int, "training.best_epoch": int, "training.batch_size": int,
    "training.optimizer": str, "training.seed": int,
    "data": dict,
    "versions": dict,
    # written once the export has been measured through the runtime
    "parity": dict, "parity.reviews": int, "parity.max_abs_diff": float, "parity.tolerance": float,
    "metrics": dict, "metrics.test": dict, "metrics.test.n": int, "metrics.test.accuracy": float,
    "metrics.test.loss": float, "metrics.test.roc_auc": float, "metrics.test.f1": float,
    "metrics.test.confusion": dict, "metrics.test.confusion.tn": int, "metrics.test.confusion.fp": int,
    "metrics.test.confusion.fn": int, "metrics.test.confusion.tp": int,
}
FIELDS = [(tuple(name.split(".")), kind) for name, kind in REQUIRED.items()]


def schema_fields(schema: dict, prefix: str = "") -> dict:
    """The code's schema as ``REQUIRED`` spells it: dotted name -> type (``dict`` for a section)."""
    found = {}
    for key, want in schema.items():
        found[prefix + key] = dict if isinstance(want, dict) else want
        if isinstance(want, dict):
            found |= schema_fields(want, f"{prefix}{key}.")
    return found


WRONG = {str: 7, int: "7", float: "x", bool: "yes", list: "x", dict: ["x"]}


def edit_meta(model, fn):
    path = model / "metadata.json"
    meta = json.loads(path.read_text())
    fn(meta)
    path.write_text(json.dumps(meta))


def rehash(model, name):
    edit_meta(model, lambda m: m["sha256"].__setitem__(name, hashlib.sha256((model / name).read_bytes()).hexdigest()))


def at(meta, path):
    for key in path[:-1]:
        meta = meta[key]
    return meta


def refusals(model, tmp_path, capsys) -> list[str]:
    """What serve and serve.batch print when started on ``model`` (in-process; both must exit 2)."""
    from serve.__main__ import main as serve_main
    from serve.jobs.batch import main as batch_main

    src = tmp_path / "in.txt"
    src.write_text("splendid\n")
    lines = []
    for main, args in ((serve_main, ["--port", "1", "--db", str(tmp_path / "db.sqlite3")]),
                       (batch_main, [str(src), "-o", str(tmp_path / "out.csv"), "--quiet"])):
        capsys.readouterr()
        assert main([*args, "--model", str(model)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        lines.append(err[0])
    assert not (tmp_path / "out.csv").exists()
    return lines


def test_the_required_fields_are_the_ones_the_code_checks():
    assert schema_fields(SCHEMA | RESULTS_SCHEMA) == REQUIRED


@pytest.mark.parametrize("path, kind", FIELDS, ids=[".".join(p) for p, _ in FIELDS])
@pytest.mark.parametrize("how", ["missing", "wrong type"])
def test_every_metadata_field_is_checked(model, tmp_path, capsys, path, kind, how):
    name = ".".join(path)
    if how == "missing":
        edit_meta(model, lambda m: at(m, path).pop(path[-1]))
    else:
        edit_meta(model, lambda m: at(m, path).__setitem__(path[-1], WRONG[kind]))
    serve_line, batch_line = refusals(model, tmp_path, capsys)
    assert serve_line == batch_line
    assert serve_line.startswith(f"error: {model / 'metadata.json'}: ")
    if name != "format":
        assert f" {name} " in serve_line + " ", serve_line


def break_vocab_duplicate(model):
    (model / "vocab.txt").write_text((model / "vocab.txt").read_text() + "the\n")
    rehash(model, "vocab.txt")
    return "vocab.txt: word 'the' on line"


def break_vocab_bytes(model):
    (model / "vocab.txt").write_bytes((model / "vocab.txt").read_bytes() + b"caf\xe9\n")
    rehash(model, "vocab.txt")
    return "vocab.txt: not UTF-8"


def vocab_size(model):
    return json.loads((model / "metadata.json").read_text())["codec"]["vocab_size"]


def break_vocab_size(model):
    n = vocab_size(model)
    (model / "vocab.txt").write_text((model / "vocab.txt").read_text() + "extraword\n")
    rehash(model, "vocab.txt")
    return f"vocab.txt: {n + 1} ids, but metadata.json says vocab_size {n}"


def break_embedding_rows(model):
    n = vocab_size(model)
    break_vocab_size(model)
    edit_meta(model, lambda m: m["codec"].__setitem__("vocab_size", n + 1))
    return f"onnx.weights.embedding has shape [{n}, 8], expected [{n + 1}, 8]"


def break_maxlen(model):
    edit_meta(model, lambda m: m["codec"].__setitem__("maxlen", 30))  # the gate's bias per position has 24
    return "metadata.json: onnx.weights.position has shape [24], expected [30]"


def break_offset(model):
    edit_meta(model, lambda m: m["onnx"]["weights"]["readout_kernel"].__setitem__("offset", 10**6))
    return "model.onnx.data: weight readout_kernel at bytes 1000000"


def break_length(model):
    edit_meta(model, lambda m: m["onnx"]["weights"]["W"].__setitem__("length", 4))
    return "onnx.weights.W offset/length do not fit shape"


def empty_sha_map(model):
    edit_meta(model, lambda m: m.__setitem__("sha256", {}))
    return "sha256 must list exactly the model's files"


def partial_sha_map(model):
    edit_meta(model, lambda m: m["sha256"].pop("history.json"))
    return "sha256 must list exactly the model's files (missing ['history.json']"


def changed_history(model):
    (model / "history.json").write_text("{}")
    return "history.json: sha256 does not match metadata.json"


def truncated_onnx(model):
    data = (model / "model.onnx").read_bytes()
    (model / "model.onnx").write_bytes(data[: len(data) // 2])
    return "model.onnx: sha256 does not match metadata.json"


def truncated_onnx_rehashed(model):
    truncated_onnx(model)
    rehash(model, "model.onnx")
    return "model.onnx: onnxruntime cannot load it"


def missing_data_file(model):
    (model / "model.onnx.data").unlink()
    return "model.onnx.data: missing"


def other_codec_version(model):
    edit_meta(model, lambda m: m["codec"].__setitem__("version", 0))
    return "metadata.json: made with codec version 0"


def other_padding(model):
    edit_meta(model, lambda m: m["codec"].__setitem__("padding", "post"))
    return "codec.padding is 'post'; this codec uses 'pre'"


def old_format(model):
    edit_meta(model, lambda m: m.__setitem__("format", "sentilens-model/1"))
    return "format 'sentilens-model/1', this code reads 'sentilens-model/2'"


def not_json(model):
    (model / "metadata.json").write_text("{not json")
    return "metadata.json: not valid JSON"


def deep_json(model):
    (model / "metadata.json").write_text("[" * 100_000 + "]" * 100_000)
    return "metadata.json: not valid JSON"


def unknown_feature(model):
    edit_meta(model, lambda m: m["capabilities"]["features"].append("telepathy"))
    return "capabilities.features must include"


def no_known_method(model):
    edit_meta(model, lambda m: m["capabilities"].__setitem__("methods", ["magic"]))
    return "capabilities.methods names no explanation method this code knows"


def file_outside(model):
    edit_meta(model, lambda m: m["files"].__setitem__("history", "../history.json"))
    return "files must name distinct plain files"


def fast_path_files_missing(model):
    edit_meta(model, lambda m: [m["files"].pop(k) for k in ("fast_onnx", "pad_states")])
    edit_meta(model, lambda m: [m["sha256"].pop(k) for k in ("model_fast.onnx", "pad_states.npy")])
    return "capabilities say 'skip_padding' but files lack fast_onnx, pad_states"


def pad_table_of_the_wrong_shape(model):
    import numpy as np

    np.save(model / "pad_states.npy", np.zeros((3, 2, 8), np.float32))
    rehash(model, "pad_states.npy")
    return "pad_states.npy: shape [3, 2, 8] float32, expected [25, 2, 8] float32"


def int8_claimed_without_its_file(model):
    def drop(m):
        assert "int8" in m["capabilities"]["features"]
        m["files"].pop("fast_int8")
        m["sha256"].pop("model_fast_int8.onnx")
    edit_meta(model, drop)
    return "capabilities say 'int8' but files lack fast_onnx, pad_states, fast_int8"


BREAKS = [int8_claimed_without_its_file, fast_path_files_missing, pad_table_of_the_wrong_shape, break_vocab_duplicate, break_vocab_bytes, break_vocab_size, break_embedding_rows, break_maxlen,
          break_offset, break_length, empty_sha_map, partial_sha_map, changed_history, truncated_onnx,
          truncated_onnx_rehashed, missing_data_file, other_codec_version, other_padding, old_format, not_json,
          deep_json, unknown_feature, no_known_method, file_outside]


@pytest.mark.parametrize("damage", BREAKS, ids=[b.__name__ for b in BREAKS])
def test_each_broken_rule_is_one_line_naming_the_file(model, tmp_path, capsys, damage):
    expected = damage(model)
    serve_line, batch_line = refusals(model, tmp_path, capsys)
    assert serve_line == batch_line
    assert serve_line.startswith(f"error: {model}/") and expected in serve_line, serve_line


def test_missing_model_dir_names_the_trainer(tmp_path):
    with pytest.raises(ModelError, match=r"metadata.json: missing; train a model with"):
        SentimentModel(tmp_path)


def test_the_committed_models_load_and_round_trip(tiny_model_dir, committed_model_dir):
    for directory in (tiny_model_dir, committed_model_dir):
        art = Artifact.load(directory)
        assert art.to_dict() == json.loads((directory / "metadata.json").read_text())
        assert art.model_config()["maxlen"] == art.codec.maxlen


@pytest.mark.server
@pytest.mark.parametrize("command", ["serve", "serve.batch"])
def test_the_real_commands_exit_2_with_one_line(model, tmp_path, command):
    truncated_onnx(model)
    src = tmp_path / "in.txt"
    src.write_text("splendid\n")
    args = {"serve": ["--model", str(model), "--port", "1", "--db", str(tmp_path / "db.sqlite3")],
            "serve.batch": [str(src), "-o", str(tmp_path / "out.csv"), "--model", str(model), "--quiet"]}[command]
    proc = subprocess.run([sys.executable, "-m", command, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {model / 'model.onnx'}: sha256 does not match metadata.json; "
                                                "the file is damaged or was replaced"]


@pytest.mark.server
def test_scoring_never_imports_tensorflow(tiny_model_dir):
    code = (
        "import sys; from serve.runtime import SentimentModel; "
        f"m = SentimentModel({str(tiny_model_dir)!r}); m.predict(['fine', 'awful']); m.weights; "
        "m2 = SentimentModel(); print(m2.predict(['a lovely film'])[0]); "
        "bad = [k for k in sys.modules if k.split('.')[0] in ('tensorflow', 'keras', 'tf2onnx', 'onnx')]; "
        "assert not bad, bad"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert 0.0 <= float(out.stdout) <= 1.0
