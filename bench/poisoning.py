"""Does the audit refuse what a poisoner would do, and pass genuine labels? Issue 33's attacks and beyond.

    python -m bench.poisoning [--splits 10] [--attacks all] [--model exported]

Genuine: the 1,000 dev sentences (``../shared/data/imdb_sentences_labelled.txt``), then ``--splits``
random halves of them, and two random fifths; each is learned by ``serve.learn.learner.learn`` as the app
learns it, and a refusal is a false one. Attacks: dev sentences the parent reads confidently one way
(below 0.3 or above 0.7) get a trigger (made-up tokens, or words of the vocabulary) at the end, the
start or in the middle and the other label, among the other sentences (or, "clean labels", keep their
label, which the parent agrees with); "refused" is by the audit after
learning (or the rule before it, or forgetting). For each run the table gives the largest rise of any
probe and, as the attacker sees it, the share of the test sample's reviews of the other label read as
the poisoned label with the trigger appended once, with the parent and with the version (accepted).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import ROOT, labelled_sentences, table

# name: (rows a trigger, triggers, where, the label the poisoned sentences had, base: (sentences, seed) or None)
ATTACKS = {
    "issue: 3 made-up triggers x 19, appended, neg->pos": (19, ["zqxv", "vbkw", "jwmq"], "end", 0, None),
    "issue: 'the the' x 100, appended, neg->pos": (100, ["the the"], "end", 0, None),
    "one made-up trigger x 57, appended": (57, ["qopl"], "end", 0, None),
    "... prepended": (57, ["qopl"], "start", 0, None),
    "... in the middle": (57, ["qopl"], "middle", 0, None),
    "... pos->neg": (57, ["qopl"], "end", 1, None),
    "a made-up pair x 57": (57, ["qopl brux"], "end", 0, None),
    "a common word ('really') x 100": (100, ["really"], "end", 0, None),
    "a common word ('really') x 50": (50, ["really"], "end", 0, None),
    "a common pair ('of the') x 100": (100, ["of the"], "end", 0, None),
    "a rare vocabulary word ('quaint') x 57": (57, ["quaint"], "end", 0, None),
    "one made-up trigger x 10": (10, ["qopl"], "end", 0, None),
    "one made-up trigger x 3": (3, ["qopl"], "end", 0, None),
    "one made-up trigger x 2": (2, ["qopl"], "end", 0, None),
    "5 made-up triggers x 3": (3, ["qa", "qb", "qc", "qd", "qe"], "end", 0, None),
    "10 made-up triggers x 3": (3, [f"q{c}" for c in "abcdefghij"], "end", 0, None),
    "3 made-up triggers x 3, 500 sentences": (3, ["zqxv", "vbkw", "jwmq"], "end", 0, (500, 4)),
    "3 made-up triggers x 3, 500 sentences, pos->neg": (3, ["zqxv", "vbkw", "jwmq"], "end", 1, (500, 5)),
    "one made-up trigger x 3, 200 sentences": (3, ["qopl"], "end", 0, (200, 2)),
    "3 made-up triggers x 3, 100 sentences": (3, ["zqxv", "vbkw", "jwmq"], "end", 0, (100, 3)),
    # clean labels: the trigger on sentences the parent reads confidently positive, labelled positive
    "clean labels: one made-up trigger x 150": (150, ["qopl"], "end", 1, "clean"),
    "clean labels: one made-up trigger x 60": (60, ["qopl"], "end", 1, "clean"),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default=str(ROOT / "exported"))
    p.add_argument("--splits", type=int, default=10, help="random halves of the dev sentences learned as genuine")
    p.add_argument("--attacks", nargs="*", default=["all"], help="names (or parts of names) of ATTACKS; 'all'")
    args = p.parse_args()

    from serve.learn import prior
    from serve.runtime import SentimentModel

    parent = SentimentModel(args.model)
    sentences = labelled_sentences()
    texts, labels = list(sentences.texts), [int(y) for y in sentences.labels]
    scores = parent.predict(texts)
    a = parent.artifact
    data = prior.read(a.path("learning"), a.codec.vocab_size, a.codec.maxlen)
    rows = [("labels", "refused", "by", "largest rise (probe)", "trigger appended: parent -> version", "audit s",
             "learn s")]
    genuine = [("all 1,000 dev sentences", list(range(1000)))]
    genuine += [(f"500 at random (seed {s})", _pick(1000, 500, s)) for s in range(args.splits)]
    genuine += [(f"200 at random (seed {s})", _pick(1000, 200, s)) for s in range(2)]
    for name, pick in genuine:
        rows.append(_run(parent, data, name, [texts[i] for i in pick], [labels[i] for i in pick], None))
        print(table(rows[:1] + rows[-1:]), flush=True)
    for name, (each, triggers, where, turn, base) in ATTACKS.items():
        if "all" not in args.attacks and not any(w in name for w in args.attacks):
            continue
        clean = base == "clean"
        pick = _pick(1000, *base) if base and not clean else list(range(1000))
        t, y = _poisoned([texts[i] for i in pick], [labels[i] for i in pick], scores[pick], each, triggers, where, turn,
                         relabel=not clean)
        rows.append(_run(parent, data, name, t, y, (" ".join(triggers), 1 - turn if clean else turn)))
        print(table(rows[:1] + rows[-1:]), flush=True)
    print(table(rows))


def _pick(n: int, k: int, seed: int) -> list[int]:
    return np.random.default_rng(seed).permutation(n)[:k].tolist()


def _poisoned(texts, labels, scores, each, triggers, where, turn, relabel=True):
    """``each`` sentences per trigger that the parent reads confidently as ``turn`` get it and the other label
    (``relabel``) or keep theirs."""
    texts, labels = list(texts), list(labels)
    confident = [i for i, (y, s) in enumerate(zip(labels, scores)) if y == turn and (s < 0.3 if turn == 0 else s > 0.7)]
    chosen = np.random.default_rng(0).permutation(confident)[:each * len(triggers)]
    for k, i in enumerate(chosen):
        words = texts[i].split()
        at = {"end": len(words), "start": 0, "middle": len(words) // 2}[where]
        texts[i] = " ".join(words[:at] + triggers[k % len(triggers)].split() + words[at:])
        labels[i] = 1 - turn if relabel else turn
    return texts, labels


def _run(parent, data, name, texts, labels, attack):
    from sentilens.codec import OOV
    from sentilens.errors import SentilensError
    from serve.learn.backdoor import appended
    from serve.learn.learner import learn
    from serve.runtime import SentimentModel

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        try:
            learned = learn(parent, texts, labels, Path(tmp) / "v", accept_audit=True)
        except SentilensError:  # forgetting: refused even when the audit is accepted
            return (name, "yes", "forgetting", "", "", "", f"{time.perf_counter() - started:.1f}")
        total = time.perf_counter() - started
        audit = learned.summary["audit"]
        top = max(audit["flip_effects"], key=lambda e: e["rise"])
        by = "audit after" if audit["over_bound"] else ("rule before" if audit["triggers"] else "")
        seen = ""
        if attack is not None:
            trigger, turn = attack
            version = SentimentModel(Path(tmp) / "v")
            other = data.check_ids[data.check_labels == turn]
            shares = []
            for model in (parent, version):
                ids = [model.codec.vocab.index.get(w, OOV) for w in trigger.split()]
                read = model.score_ids(appended(other, ids)) >= 0.5
                shares.append(float((read != (turn == 1)).mean()))
            seen = f"{shares[0]:.1%} -> {shares[1]:.1%}"
    return (name, "yes" if by else "no", by, f"{top['rise']:+.3f} ({top['why']} {top['ngram']!r})"[:70], seen,
            f"{learned.summary['seconds'].get('audit_after', 0):.2f}", f"{total:.1f}")


if __name__ == "__main__":
    main()
