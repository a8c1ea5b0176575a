"""Honest peers: the simple models a user could pick instead, fitted on the same split and recorded
beside ours (``metrics.baseline``, shown on the Model tab).

Each uses the project's tokenizer (so it sees the words the LSTM sees) and reads the whole review
(ours reads its last ``maxlen`` ids):

- ``words``: TF-IDF over words + logistic regression;
- ``word_pairs``: TF-IDF over words and adjacent word pairs + logistic regression;
- ``nb_word_pairs``: NBSVM's recipe (Wang & Manning, 2012): binary words and pairs scaled by their
  naive-Bayes log-count ratios + logistic regression; the strongest simple peer on IMDB.

``fit_peer`` returns a fitted peer that scores any texts and can be refitted with extra, weighted
labels, so the benchmarks put every peer through the same tests as the model (out of domain, and
learning from annotations). Needs the train extra (scikit-learn).

    python -m trainer.baseline exported/ --data ../shared/data/aclImdb_v1_labeled.tar.gz

writes ``metrics.baseline`` into an existing export's metadata (the trainer does it at export).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sentilens.cli import command, parser
from sentilens.codec import tokenize

from sentilens.metrics import classification_report
from trainer.data import Corpus

__all__ = ["EXAMPLES", "PEERS", "Peer", "baselines", "fit_baseline", "fit_peer", "main"]

PEERS = {
    "words": "TF-IDF (words) + logistic regression",
    "word_pairs": "TF-IDF (words and word pairs) + logistic regression",
    "nb_word_pairs": "naive-Bayes-weighted logistic regression (binary words and word pairs, NBSVM)",
}


@dataclass
class Peer:
    name: str
    vectorizer: object
    model: object
    ratio: np.ndarray | None  # naive-Bayes log-count ratios scaling the features (nb_word_pairs)

    def features(self, texts: Sequence[str]):
        import scipy.sparse as sp

        x = self.vectorizer.transform(texts)
        return x @ sp.diags(self.ratio) if self.ratio is not None else x

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """P(positive) of each text."""
        return self.model.predict_proba(self.features(texts))[:, 1]


def fit_peer(name: str, texts: Sequence[str], labels: np.ndarray, weights: np.ndarray | None = None,
             seed: int = 0) -> Peer:
    """Fit peer ``name`` (a key of ``PEERS``) on labelled texts, each counted ``weights`` times."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    ours = dict(tokenizer=tokenize, lowercase=False, token_pattern=None, preprocessor=None)
    labels = np.asarray(labels)
    w = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=np.float64)
    if name == "nb_word_pairs":
        vectorizer = CountVectorizer(ngram_range=(1, 2), binary=True, **ours)
        x = vectorizer.fit_transform(texts)
        pos = 1.0 + x.T @ (w * (labels == 1))
        neg = 1.0 + x.T @ (w * (labels == 0))
        ratio = np.log((pos / pos.sum()) / (neg / neg.sum()))
        model = LogisticRegression(C=1.0, solver="liblinear", max_iter=1000, random_state=seed)
        model.fit(x @ sp.diags(ratio), labels, sample_weight=weights)
        return Peer(name, vectorizer, model, ratio)
    pairs = name == "word_pairs"
    vectorizer = TfidfVectorizer(ngram_range=(1, 2 if pairs else 1), min_df=2, sublinear_tf=True, **ours)
    x = vectorizer.fit_transform(texts)
    model = LogisticRegression(C=4.0 if pairs else 2.0, max_iter=2000, random_state=seed)
    model.fit(x, labels, sample_weight=weights)
    return Peer(name, vectorizer, model, None)


def fit_baseline(corpus: Corpus, name: str, seed: int = 0) -> dict:
    """Test-split metrics of peer ``name`` fitted on the training split, as recorded."""
    t0 = time.perf_counter()
    peer = fit_peer(name, corpus.train.texts, corpus.train.labels, seed=seed)
    report = classification_report(corpus.test.labels, peer.predict(corpus.test.texts))
    return {"model": PEERS[name], "features": len(peer.vectorizer.vocabulary_),
            "seconds": round(time.perf_counter() - t0, 1)} | {k: report[k] for k in ("n", "accuracy", "roc_auc", "f1",
                                                                                        "loss")}


def baselines(corpus: Corpus, seed: int = 0) -> dict:
    """Every peer, as recorded under ``metrics.baseline``."""
    return {name: fit_baseline(corpus, name, seed) for name in PEERS}


EXAMPLES = ("sentilens baseline exported --data ../shared/data/aclImdb_v1_labeled.tar.gz",)


@command("python -m trainer.baseline")
def main(argv: list[str] | None = None) -> int:
    """Fit the simple peers on an export's split and record them in its metadata."""
    from sentilens.artifact import Artifact
    from trainer.data import load_files

    p = parser("python -m trainer.baseline", main.__doc__, EXAMPLES)
    p.add_argument("model", help="an export directory (e.g. exported/)")
    p.add_argument("--data", required=True, help="the data the model was trained on (its train/test split)")
    args = p.parse_args(argv)
    art = Artifact.load(args.model)
    corpus = load_files(args.data, seed=art.training.get("seed", 0))
    art.metrics["baseline"] = found = baselines(corpus, art.training.get("seed", 0))
    art.write(args.model)
    for name, m in found.items():
        print(f"{m['model']}: test accuracy {m['accuracy']:.4f}, ROC AUC {m['roc_auc']:.4f} "
              f"({m['features']:,} features, {m['seconds']} s)")
    ours = art.metrics["test"]
    print(f"this model: test accuracy {ours['accuracy']:.4f}, ROC AUC {ours['roc_auc']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
