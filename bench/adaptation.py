"""Do annotations improve the model on a new kind of review? A learning curve, uncertainty vs random.

    python -m bench.adaptation [--labels 100 200 500 1000] [--base-epochs 5]

A new domain is simulated from aclImdb: the base model is trained (default preset, fewer epochs)
on the training reviews that mention none of ``DOMAIN_WORDS`` (horror); those that do are the
pool an annotator labels, and the test reviews that do are where the new domain is measured. For
each budget the base model is fine-tuned (``trainer.finetune``, the same code as ``python -m
trainer --init``) on that many labels, chosen either by the Annotate queue's "most uncertain first"
order (the base model's |p - 0.5| smallest) or at random, and the domain test accuracy is printed,
with the accuracy on the whole test split (forgetting) beside it.
"""

from __future__ import annotations

import argparse
import copy
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import DATA, table

DOMAIN_WORDS = ("horror", "zombie", "zombies", "slasher", "gore", "gory", "vampire", "vampires")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--labels", type=int, nargs="+", default=[100, 200, 500, 1000])
    p.add_argument("--base-epochs", type=int, default=5)
    args = p.parse_args()

    from sentilens.errors import ExportError
    from serve.runtime import SentimentModel
    from trainer.config import PRESETS
    from trainer.data import Corpus, Split, load_files
    from trainer.finetune import fine_tune
    from trainer.train import train

    corpus = load_files(args.data)
    domain = re.compile(r"\b(?:" + "|".join(DOMAIN_WORDS) + r")\b", re.I)
    in_train = np.array([bool(domain.search(t)) for t in corpus.train.texts])
    in_test = np.array([bool(domain.search(t)) for t in corpus.test.texts])
    base_corpus = Corpus(corpus.train.take(np.flatnonzero(~in_train)), corpus.test, dict(corpus.source))
    pool = corpus.train.take(np.flatnonzero(in_train))
    domain_test = corpus.test.take(np.flatnonzero(in_test))
    print(f"domain ({', '.join(DOMAIN_WORDS)}): {len(pool):,} train reviews to annotate, {len(domain_test):,} test "
          f"reviews; the base model trains on the other {len(base_corpus.train):,}", flush=True)

    def accuracy(model: SentimentModel, split: Split) -> float:
        return float(((model.predict(split.texts) >= 0.5) == split.labels).mean())

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cfg = copy.deepcopy(PRESETS["default"])
        cfg.epochs, cfg.patience = args.base_epochs, None
        t0 = time.perf_counter()
        train(base_corpus, cfg, tmp / "base", log=lambda *_: None)
        base = SentimentModel(tmp / "base")
        rows = [("labels", "order", "domain test accuracy", "whole test accuracy", "seconds")]
        rows.append((0, "-", f"{accuracy(base, domain_test):.4f}", f"{accuracy(base, corpus.test):.4f}",
                     f"{time.perf_counter() - t0:.0f} (base)"))
        print(table(rows), flush=True)
        uncertainty = np.argsort(np.abs(base.predict(pool.texts) - 0.5), kind="stable")
        random_order = np.random.default_rng(0).permutation(len(pool))
        for n in args.labels:
            for name, order in (("uncertain first", uncertainty), ("random", random_order)):
                picked = pool.take(order[:n])
                path = tmp / f"labels-{name[:4]}-{n}.jsonl"
                path.write_text("")  # the lineage names a file; the labels themselves come in ``picked``
                t0 = time.perf_counter()
                out = tmp / f"tuned-{name[:4]}-{n}"
                try:
                    fine_tune(tmp / "base", base_corpus, picked, [path], out, log=lambda *_: None)
                    tuned = SentimentModel(out)
                    rows.append((n, name, f"{accuracy(tuned, domain_test):.4f}", f"{accuracy(tuned, corpus.test):.4f}",
                                 f"{time.perf_counter() - t0:.0f}"))
                except ExportError as err:
                    rows.append((n, name, "refused", str(err)[:60], f"{time.perf_counter() - t0:.0f}"))
                print(table(rows), flush=True)


if __name__ == "__main__":
    main()
