"""The exported model's contract: its files and ``metadata.json``, with one owner.

The trainer writes a model only through ``Artifact.write``; the app, the batch scorer, the
trainer's reload and the benchmarks read one only through ``Artifact.load``, which checks
everything before a byte is used and refuses with one ``ModelError`` line naming the file:

- the schema: every required key present with the right type (``SCHEMA``, walked field by field);
- the format, and the codec version and conventions this code encodes with;
- a sha256 for *every* file the metadata names (no more, no fewer), matching the bytes;
- the vocabulary: UTF-8, no empty or duplicate word, exactly ``codec.vocab_size`` ids;
- the weight index: offsets inside ``model.onnx.data``, lengths that match shapes and dtypes,
  an embedding of ``vocab_size`` rows, and the recurrent weights when the model is a fused LSTM.

``maxlen`` and the vocabulary size are written once, under ``codec``; the runtime checks the
ONNX graph's input against them when it opens the session.

One module on purpose (~430 lines): every rule a model must pass sits where a reviewer reads it whole.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from sentilens.codec import CODEC_VERSION, OOV, PAD, START, Vocabulary, tokenize
from sentilens.digest import file_sha256
from sentilens.errors import ModelError
from sentilens.tokenizer_json import tokenizer_json

__all__ = ["Artifact", "Capabilities", "CodecSpec", "DTYPES", "FAST_FILES", "FEATURES", "FILES", "FORMAT", "INPUT",
           "INT8", "INT8_FILES", "INT8_MAX_ACCURACY_LOSS", "LEARN", "LEARN_FILES", "LSTM_WEIGHTS",
           "METADATA", "OPSET", "OUTPUTS", "PARITY_TOLERANCE", "PROBES", "PROBE_TOLERANCE",
           "RESULTS_SCHEMA", "RUNNING_OUTPUT", "SCHEMA", "SKIP_PADDING", "TOKENIZER", "TOKENIZER_FILES",
           "WORD_EVIDENCE", "Weight", "add_tokenizer", "check_schema", "read_metadata", "read_vocabulary"]

FORMAT = "sentilens-model/2"
OPSET = 17  # the ONNX opset of both graphs
PARITY_TOLERANCE = 1e-5  # onnxruntime vs Keras, and the padding-skipping graph vs the full one
METADATA = "metadata.json"
FILES = {"onnx": "model.onnx", "onnx_data": "model.onnx.data", "vocabulary": "vocab.txt", "history": "history.json"}
# The padding-skipping scorer (``trainer.fastpath``): a second graph on the same weights, and the
# LSTM state after each number of pad ids.
FAST_FILES = {"fast_onnx": "model_fast.onnx", "pad_states": "pad_states.npy"}
INT8_FILES = {"fast_int8": "model_fast_int8.onnx"}  # the same scorer with int8 LSTM and readout weights
INT8_MAX_ACCURACY_LOSS = 0.003  # the int8 scorer is kept only within 0.3 points of fp32 on the test split
# What in-app learning needs beside the weights (``serve.learn.prior``): how often the training reviews used
# each word and pair, and a seeded sample of the test split (as ids) to measure forgetting on.
LEARN_FILES = {"learning": "learning.npz"}
# The codec as a standard Hugging Face ``tokenizers`` file (``sentilens.tokenizer_json``): any runtime of that
# library feeds the ONNX model with it. It must be exactly what this codec writes for the vocabulary.
TOKENIZER_FILES = {"tokenizer": "tokenizer.json"}
INPUT = "ids"  # int32 [batch, maxlen]
# Reviews of our own that every export scores and records (``probes``); a loaded model must score them the
# same (``serve.runtime``): files that each pass their sha256 but do not belong together are caught.
PROBES = ("A warm, funny and beautifully acted film.", "Dull, long and badly written; I wanted my evening back.",
          "Not bad at all, though the ending drags.", "")
PROBE_TOLERANCE = 1e-4
OUTPUTS = ("probability", "running_score")  # [batch], [batch, maxlen]
DTYPES = {"float32": 4, "float16": 2}
# What an export can offer (explanation methods, the scorer), and the indexed weights each needs.
RUNNING_OUTPUT = "running_score"  # the graph's per-step readout (every sentilens export has it)
LSTM_WEIGHTS = "lstm_weights"  # the fused ONNX LSTM's W, R, B (contextual decomposition reads them)
SKIP_PADDING = "skip_padding"  # FAST_FILES: score only each review's real steps
INT8 = "int8"  # INT8_FILES: measured within the accuracy bound at export (``int8`` in the metadata)
# The gated evidence readout (``sentilens.evidence``): word and pair tables, the gate's bias per position.
WORD_EVIDENCE = "word_evidence"
LEARN = "learn"  # LEARN_FILES: new versions can be learned from labels without TensorFlow (``serve.learn``)
TOKENIZER = "tokenizer"  # TOKENIZER_FILES: the codec as tokenizer.json
FEATURES = {RUNNING_OUTPUT: (), LSTM_WEIGHTS: ("W", "R", "B"), SKIP_PADDING: ("W", "R", "B"), INT8: ("W", "R", "B"),
            WORD_EVIDENCE: ("unigram", "pairs", "position"), LEARN: ("unigram", "pairs", "position"), TOKENIZER: ()}

# Required keys and their types. A dict is a nested section; ``float`` also accepts integers.
SCHEMA: dict = {
    "format": str,
    "files": {role: str for role in FILES},
    "codec": {"version": int, "maxlen": int, "vocab_size": int, "padding": str, "truncating": str,
              "pad_id": int, "start_id": int, "oov_id": int},
    "model": {"cell": str, "embed_dim": int, "units": int},
    "capabilities": {"cell": str, "onnx_op": str, "fused": bool, "features": list, "methods": list},
    "onnx": {"opset": int, "weights": dict},
    "sha256": dict,
    "training": {"epochs_run": int, "best_epoch": int, "batch_size": int, "optimizer": str, "seed": int},
    "data": dict,
    "versions": dict,
}
# Written once the exported model has been measured through the runtime.
RESULTS_SCHEMA: dict = {
    "parity": {"reviews": int, "max_abs_diff": float, "tolerance": float},
    "metrics": {"test": {"n": int, "accuracy": float, "loss": float, "roc_auc": float, "f1": float,
                         "confusion": {k: int for k in ("tn", "fp", "fn", "tp")}}},
}
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
               list: "a list", dict: "an object"}
_SHA = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class CodecSpec:
    """How text becomes the model's input; must equal what ``sentilens.codec`` does."""

    maxlen: int
    vocab_size: int
    version: int = CODEC_VERSION
    padding: str = "pre"
    truncating: str = "pre"
    pad_id: int = PAD
    start_id: int = START
    oov_id: int = OOV


@dataclass(frozen=True)
class Capabilities:
    """What the exported graph offers, so that readers never probe weights to find out."""

    cell: str  # lstm, gru, simplernn
    onnx_op: str  # the recurrent op in the graph: LSTM, GRU, RNN or Loop
    fused: bool  # one fused recurrent op rather than a Loop
    features: tuple[str, ...]  # what it offers explanation methods (keys of ``FEATURES``)
    methods: tuple[str, ...]  # explanation methods that applied at export


@dataclass(frozen=True)
class Weight:
    """Where one tensor lives in ``model.onnx.data`` (the very bytes onnxruntime runs)."""

    name: str
    offset: int
    length: int
    shape: tuple[int, ...]
    dtype: str


@dataclass
class Artifact:
    """An exported model: ``metadata.json`` typed, plus where its files are."""

    codec: CodecSpec
    architecture: dict  # the model config without maxlen/vocab_size (those live in ``codec``)
    capabilities: Capabilities
    weights: dict[str, Weight]
    opset: int
    training: dict
    data: dict
    versions: dict
    parity: dict | None = None
    metrics: dict | None = None
    lineage: dict | None = None
    fast_path: dict | None = None  # parity of the padding-skipping graph with the full one
    probes: list | None = None  # PROBES as the export scored them: a loaded model must score them the same
    int8: dict | None = None  # the int8 scorer measured against fp32 on the test split
    files: dict[str, str] = field(default_factory=lambda: dict(FILES))
    sha256: dict[str, str] = field(default_factory=dict)
    directory: Path | None = None
    vocabulary: Vocabulary | None = field(default=None, repr=False)

    # ---- derived ---------------------------------------------------------------------------
    def path(self, role: str) -> Path:
        if self.directory is None:
            raise ModelError("this artifact has not been written or loaded yet")
        return self.directory / self.files[role]

    @property
    def model_sha256(self) -> str:
        """Identity of the model: the graph's sha256 (recorded with every annotation)."""
        return self.sha256[self.files["onnx"]]

    def model_config(self) -> dict:
        """The full model configuration (architecture plus maxlen and vocab_size)."""
        return self.architecture | {"maxlen": self.codec.maxlen, "vocab_size": self.codec.vocab_size}

    def read_weights(self) -> dict[str, np.ndarray]:
        """Every indexed tensor, read with numpy from the external-data file."""
        data = self.path("onnx_data")
        return {role: np.fromfile(data, dtype=w.dtype, count=math.prod(w.shape), offset=w.offset).reshape(w.shape)
                for role, w in self.weights.items()}

    def read_history(self) -> dict:
        return json.loads(self.path("history").read_text(encoding="utf-8"))

    # ---- writing ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        meta = {
            "format": FORMAT,
            "files": dict(self.files),
            "codec": asdict(self.codec),
            "model": dict(self.architecture),
            "capabilities": asdict(self.capabilities) | {"features": list(self.capabilities.features),
                                                         "methods": list(self.capabilities.methods)},
            "onnx": {"opset": self.opset, "input": INPUT, "outputs": list(OUTPUTS),
                     "weights": {role: asdict(w) | {"shape": list(w.shape)} for role, w in self.weights.items()}},
            "sha256": dict(self.sha256),
            "training": self.training,
            "data": self.data,
            "versions": self.versions,
        }
        for key in ("parity", "metrics", "lineage", "fast_path", "int8", "probes"):
            if getattr(self, key) is not None:
                meta[key] = getattr(self, key)
        return meta

    def write(self, directory: str | Path) -> Path:
        """Hash every file and write ``metadata.json`` into ``directory`` (where the files already are)."""
        self.directory = Path(directory)
        for role in self.files:
            if not self.path(role).is_file():
                raise ModelError(f"{self.path(role)}: missing; cannot record its sha256")
        self.sha256 = {name: file_sha256(self.directory / name) for name in self.files.values()}
        out = self.directory / METADATA
        out.write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")
        return out

    # ---- loading ---------------------------------------------------------------------------
    @classmethod
    def load(cls, directory: str | Path, complete: bool = True) -> Artifact:
        """Read and validate everything (see the module docstring); ``complete=False`` accepts a
        model whose parity and metrics are still being measured (the trainer's staging copy)."""
        directory = Path(directory)
        meta = read_metadata(directory)
        where = directory / METADATA
        check_schema(meta, SCHEMA | (RESULTS_SCHEMA if complete else {}), where)
        art = cls.from_dict(meta, where)
        art.directory = directory
        art._check_files(where)
        art.vocabulary = art._read_vocabulary()
        art._check_weights()
        art._check_tokenizer()
        return art

    @classmethod
    def from_dict(cls, meta: dict, where: Path) -> Artifact:
        """Typed view of schema-checked metadata, with the checks that span fields."""
        codec = meta["codec"]
        if codec["version"] != CODEC_VERSION:
            raise ModelError(f"{where}: made with codec version {codec['version']}, this code encodes with "
                             f"version {CODEC_VERSION}; retrain the model")
        conventions = {"padding": "pre", "truncating": "pre", "pad_id": PAD, "start_id": START, "oov_id": OOV}
        for key, want in conventions.items():
            if codec[key] != want:
                raise ModelError(f"{where}: codec.{key} is {codec[key]!r}; this codec uses {want!r}")
        if codec["maxlen"] < 1 or codec["vocab_size"] <= START + 3:
            raise ModelError(f"{where}: codec.maxlen must be >= 1 and codec.vocab_size > 4")
        caps = meta["capabilities"]
        if caps["cell"] != meta["model"]["cell"]:
            raise ModelError(f"{where}: capabilities.cell {caps['cell']!r} differs from model.cell "
                             f"{meta['model']['cell']!r}")
        if not all(isinstance(m, str) for m in caps["methods"]):
            raise ModelError(f"{where}: capabilities.methods must be a list of method names")
        unknown = [f for f in caps["features"] if f not in FEATURES]
        if unknown or RUNNING_OUTPUT not in caps["features"]:
            raise ModelError(f"{where}: capabilities.features must include {RUNNING_OUTPUT!r} and only "
                             f"{', '.join(FEATURES)} (got {caps['features']})")
        for name, peer in ((meta.get("metrics") or {}).get("baseline") or {}).items():
            check_schema(peer, {"model": str, "accuracy": float, "roc_auc": float}, where, f"metrics.baseline.{name}.")
        architecture = {k: v for k, v in meta["model"].items() if k not in ("maxlen", "vocab_size")}
        return cls(
            codec=CodecSpec(**{k: codec[k] for k in CodecSpec.__dataclass_fields__}),
            architecture=architecture,
            capabilities=Capabilities(caps["cell"], caps["onnx_op"], caps["fused"], tuple(caps["features"]),
                                      tuple(caps["methods"])),
            weights={role: _weight(role, entry, where) for role, entry in meta["onnx"]["weights"].items()},
            opset=meta["onnx"]["opset"],
            training=meta["training"], data=meta["data"], versions=meta["versions"],
            parity=meta.get("parity"), metrics=meta.get("metrics"), lineage=meta.get("lineage"),
            fast_path=meta.get("fast_path"), int8=meta.get("int8"), probes=_probes(meta.get("probes"), where),
            files=dict(meta["files"]), sha256=dict(meta["sha256"]),
        )

    def _check_files(self, where: Path) -> None:
        for feature, needed in ((SKIP_PADDING, FAST_FILES), (INT8, FAST_FILES | INT8_FILES), (LEARN, LEARN_FILES),
                                (TOKENIZER, TOKENIZER_FILES)):
            if feature in self.capabilities.features and not set(needed) <= set(self.files):
                raise ModelError(f"{where}: capabilities say {feature!r} but files lack {', '.join(needed)}")
        names = list(self.files.values())
        if len(set(names)) != len(names) or any(Path(n).name != n or n in ("", ".", "..", METADATA) for n in names):
            raise ModelError(f"{where}: files must name distinct plain files beside {METADATA}, got {names}")
        if set(self.sha256) != set(names):
            missing = sorted(set(names) - set(self.sha256))
            extra = sorted(set(self.sha256) - set(names))
            raise ModelError(f"{where}: sha256 must list exactly the model's files (missing {missing or 'none'}, "
                             f"unknown {extra or 'none'})")
        for name in names:
            path = self.directory / name
            want = self.sha256[name]
            if not isinstance(want, str) or not _SHA.fullmatch(want):
                raise ModelError(f"{where}: sha256 of {name} is not 64 hex digits")
            if not path.is_file():
                raise ModelError(f"{path}: missing (listed in {METADATA})")
            if file_sha256(path) != want:
                raise ModelError(f"{path}: sha256 does not match {METADATA}; the file is damaged or was replaced")

    def _read_vocabulary(self) -> Vocabulary:
        vocab = read_vocabulary(self.path("vocabulary"))
        if vocab.size != self.codec.vocab_size:
            raise ModelError(f"{self.path('vocabulary')}: {vocab.size} ids, but {METADATA} says vocab_size "
                             f"{self.codec.vocab_size}")
        return vocab

    def _check_tokenizer(self) -> None:
        """tokenizer.json, when the model has one, must state this codec and vocabulary exactly."""
        if TOKENIZER not in self.capabilities.features:
            return
        path = self.path("tokenizer")
        if path.read_text(encoding="utf-8") != tokenizer_json(self.vocabulary.words):
            raise ModelError(f"{path}: does not state this model's codec and vocabulary; write it again with "
                             "sentilens.artifact.add_tokenizer")

    def _check_weights(self) -> None:
        data = self.path("onnx_data")
        where = self.directory / METADATA
        size = data.stat().st_size
        for role, w in self.weights.items():
            if w.offset + w.length > size:
                raise ModelError(f"{data}: weight {role} at bytes {w.offset}..{w.offset + w.length} lies past the "
                                 f"end of the file ({size} bytes)")
        required = ["embedding", "readout_kernel"]
        for feature in self.capabilities.features:
            required += FEATURES[feature]
        missing = [r for r in required if r not in self.weights]
        if missing:
            raise ModelError(f"{where}: onnx.weights lacks {', '.join(missing)}")
        E, H, V = self.architecture["embed_dim"], self.architecture["units"], self.codec.vocab_size
        evidence = WORD_EVIDENCE in self.capabilities.features
        buckets = self.architecture.get("evidence_buckets") or 0
        if evidence != (buckets > 0):
            raise ModelError(f"{where}: capabilities.features {'lists' if evidence else 'lacks'} {WORD_EVIDENCE!r} "
                             f"but model.evidence_buckets is {buckets!r}")
        outputs = 2 if evidence else 1  # the state's logit, and the gate
        shapes = {"embedding": (V, E), "readout_kernel": (H, outputs), "readout_bias": (outputs,),
                  "W": (1, 4 * H, E + 2 * evidence), "R": (1, 4 * H, H), "B": (1, 8 * H),
                  "unigram": (V, 1), "pairs": (max(buckets, 1), 1), "position": (self.codec.maxlen,)}
        for role, w in self.weights.items():
            if role in shapes and w.shape != shapes[role]:
                raise ModelError(f"{where}: onnx.weights.{role} has shape {list(w.shape)}, expected "
                                 f"{list(shapes[role])} for vocab_size {V}, embed_dim {E}, units {H}")


def add_tokenizer(art: Artifact, directory: str | Path) -> None:
    """Write ``tokenizer.json`` for the artifact's vocabulary into ``directory`` and list it (feature
    ``tokenizer``); ``art.write`` then records its sha256."""
    vocabulary = art.vocabulary or read_vocabulary(Path(directory, art.files["vocabulary"]))  # (not loaded yet)
    Path(directory, TOKENIZER_FILES["tokenizer"]).write_text(tokenizer_json(vocabulary.words), encoding="utf-8")
    art.files.update(TOKENIZER_FILES)
    caps = art.capabilities
    if TOKENIZER not in caps.features:
        art.capabilities = Capabilities(caps.cell, caps.onnx_op, caps.fused, caps.features + (TOKENIZER,), caps.methods)


def _probes(value: object, where: Path) -> list | None:
    """``probes``: absent, or one probability in [0, 1] for each of ``PROBES``."""
    if value is None:
        return None
    if (not isinstance(value, list) or len(value) != len(PROBES)
            or not all(_is(p, float) and 0.0 <= p <= 1.0 for p in value)):
        raise ModelError(f"{where}: probes must list {len(PROBES)} probabilities, one for each probe review")
    return value


def read_vocabulary(path: Path) -> Vocabulary:
    """``Vocabulary.save``'s file back: UTF-8, one word a line, none empty or repeated."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ModelError(f"{path}: not UTF-8 ({err.reason} at byte {err.start})") from None
    words = text.split("\n")
    if words[-1] != "":
        raise ModelError(f"{path}: the last word must end with a newline")
    words = words[:-1]
    if "" in words:
        raise ModelError(f"{path}: line {words.index('') + 1} is empty")
    seen: dict[str, int] = {}
    for line, word in enumerate(words, start=1):
        if tokenize(word) != [word]:  # CRLF line ends, capitals, spaces: no text would ever map to it
            raise ModelError(f"{path}: line {line} ({word[:40]!r}) is not a word the codec makes; every word "
                             "would be unknown")
        if word in seen:
            raise ModelError(f"{path}: word {word!r} on line {line} repeats line {seen[word]}")
        seen[word] = line
    return Vocabulary(words)


def read_metadata(directory: Path) -> dict:
    path = directory / METADATA
    if not path.is_file():
        raise ModelError(f"{path}: missing; train a model with `python -m trainer --out {directory}`")
    try:
        meta = json.loads(path.read_bytes().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise ModelError(f"{path}: not valid JSON ({str(err).splitlines()[0][:200]})") from None
    if not isinstance(meta, dict) or "format" not in meta:
        raise ModelError(f"{path}: not sentilens model metadata (no \"format\": {FORMAT!r})")
    if meta["format"] != FORMAT:
        raise ModelError(f"{path}: format {str(meta['format'])[:80]!r}, this code reads {FORMAT!r}; "
                         "re-export the model with this version's trainer")
    return meta


def check_schema(obj: dict, schema: dict, where: Path, prefix: str = "") -> None:
    """Every key of ``schema`` present in ``obj`` with its type; extra keys are allowed."""
    for key, want in schema.items():
        name = prefix + key
        if key not in obj:
            raise ModelError(f"{where}: incomplete, {name} is missing; re-export the model")
        value = obj[key]
        expected = dict if isinstance(want, dict) else want
        if not _is(value, expected):
            raise ModelError(f"{where}: {name} must be {_TYPE_NAMES[expected]}, got {type(value).__name__}")
        if isinstance(want, dict):
            check_schema(value, want, where, name + ".")


def _is(value: object, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _weight(role: str, entry: object, where: Path) -> Weight:
    name = f"onnx.weights.{role}"
    if not isinstance(entry, dict):
        raise ModelError(f"{where}: {name} must be an object")
    check_schema(entry, {"name": str, "offset": int, "length": int, "shape": list, "dtype": str}, where, name + ".")
    shape = entry["shape"]
    if not all(_is(d, int) and d > 0 for d in shape):
        raise ModelError(f"{where}: {name}.shape must be positive integers, got {shape}")
    if entry["dtype"] not in DTYPES:
        raise ModelError(f"{where}: {name}.dtype {entry['dtype']!r} is not one of {sorted(DTYPES)}")
    if entry["offset"] < 0 or entry["length"] != math.prod(shape) * DTYPES[entry["dtype"]]:
        raise ModelError(f"{where}: {name} offset/length do not fit shape {shape} of {entry['dtype']}")
    return Weight(entry["name"], entry["offset"], entry["length"], tuple(shape), entry["dtype"])
