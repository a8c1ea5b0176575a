"""Give an export what in-app learning needs (``learning.npz``, ``serve.learn.prior``) from its data.

    python -m trainer.learnable exported/ --data ../shared/data/aclImdb_v1_labeled.tar.gz

Every export the trainer writes gets it (``trainer.train.measure``); this adds it to an earlier one. It
reads the training and test reviews the export was made from (the sha256 must match when recorded).
Numpy only: no TensorFlow needed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from sentilens.cli import command, parser
from sentilens.artifact import LEARN, LEARN_FILES, SKIP_PADDING, WORD_EVIDENCE, Artifact
from sentilens.codec import Codec
from sentilens.errors import ExportError

__all__ = ["add_learning"]


def add_learning(directory: str | Path, train_texts: list[str], train_labels, test_texts: list[str], test_labels,
                 seed: int = 0) -> None:
    """Write ``learning.npz`` into the export ``directory`` and list it in its metadata."""
    from serve.learn import prior

    directory = Path(directory)
    art = Artifact.load(directory, complete=False)
    if not {WORD_EVIDENCE, SKIP_PADDING} <= set(art.capabilities.features):
        raise ExportError(f"{directory}: learning in the app refits the word evidence of a fused LSTM with its "
                          "pad states; this model lacks them (fine-tune it with `python -m trainer --init`)")
    codec = Codec(art.vocabulary, art.codec.maxlen)
    arrays = prior.build(codec.encode_batch(train_texts), np.asarray(train_labels), codec.encode_batch(test_texts),
                         np.asarray(test_labels), art.codec.vocab_size, seed=seed)
    prior.write(directory / LEARN_FILES["learning"], arrays)
    art.files.update(LEARN_FILES)
    caps = art.capabilities
    if LEARN not in caps.features:
        art.capabilities = type(caps)(caps.cell, caps.onnx_op, caps.fused, caps.features + (LEARN,), caps.methods)
    art.write(directory)


EXAMPLES = ("sentilens learnable exported --data ../shared/data/aclImdb_v1_labeled.tar.gz",)


@command("python -m trainer.learnable")
def main(argv: list[str] | None = None) -> int:
    """Add learning.npz (what learning in the app needs) to an export."""
    p = parser("python -m trainer.learnable", main.__doc__, EXAMPLES)
    p.add_argument("model", help="an export directory (e.g. exported/)")
    p.add_argument("--data", required=True, help="the aclImdb .tar.gz or folder the export was trained on")
    args = p.parse_args(argv)
    from trainer.data import load_files

    art = Artifact.load(args.model)
    corpus = load_files(args.data)
    if art.data.get("sha256") and corpus.source.get("sha256") and art.data["sha256"] != corpus.source["sha256"]:
        raise ExportError(f"{args.model}: trained on other data than {args.data}")
    add_learning(args.model, corpus.train.texts, corpus.train.labels, corpus.test.texts, corpus.test.labels)
    print(f"{Path(args.model) / LEARN_FILES['learning']} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
