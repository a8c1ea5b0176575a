"""What the model computes for a review, as one vector: the single representation behind the Data tab's
map, "more like this" and word neighbours.

The embedding of this model is not where its meaning lives (a word's embedding neighbours look like
noise); the LSTM's state and the gated word evidence are. So:

- a word is described by what the model *does* with it (``word_behaviour``): from a few reference
  states (the states met while reading the export's probe reviews), the state it leads to and the
  change of the logit it causes (state readout plus its gated evidence), centred over the vocabulary;
- a review is described (``represent``) by its final LSTM state (``state``), by the words that counted,
  each word's behaviour weighted by how much its gated evidence counted (``evidence``), by both (unit
  parts side by side), or, for comparison only, by the mean embedding of its words (``embedding``).

``bench/representation.py`` measures which one puts reviews of one label together (label agreement of
the nearest neighbours); ``DEFAULT_KIND`` is its choice (docs/results.md, "A map of the dataset").
The LSTM is re-run in numpy from the exported weights (``explain.replay``'s layout), each row for its
real steps only, from the state after its pads; its readout equals onnxruntime's score (tested).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from explain.attribution import ScoringModel, prepared
from explain.replay import Replay
from sentilens.artifact import PROBES
from sentilens.codec import FIRST_WORD_ID
from sentilens.evidence import GATE_MAX, token_evidence

__all__ = ["DEFAULT_KIND", "KINDS", "ReviewIndex", "Runner", "nearest", "project", "represent", "unit_rows",
           "word_behaviour"]

KINDS = ("both", "state", "evidence", "embedding")
DEFAULT_KIND = "both"  # bench/representation.py: the best label agreement of the nearest neighbours
BATCH = 512  # rows per numpy step: large enough to amortise a step's calls, small enough for cache
CHUNK = 4096  # reviews encoded at once by ReviewIndex
REFERENCES = 16  # reference states a word's behaviour is measured from
BEHAVIOUR_DIMS = 64  # a word's behaviour, reduced (principal components) for the review vectors


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class Runner:
    """A fused LSTM export laid out for batched numpy steps (``Replay``'s layout: gates (i, f, o, c),
    the sigmoid gates pre-halved, the state carried doubled), with each id's input projection computed
    once and the state after every number of pads."""

    def __init__(self, weights: dict[str, np.ndarray]):
        r = self.replay = Replay(weights)
        E = weights["embedding"].shape[1]
        self.units = r.units
        self.embedding = weights["embedding"]
        self.id_proj = np.ascontiguousarray(self.embedding.astype(np.float32) @ r.W[:E] + r.bias)  # [V, 4H]
        self.ev_proj = r.W[E:]  # [2, 4H] (evidence models) or [0, 4H]
        self._pads: np.ndarray | None = None

    def step(self, xw: np.ndarray, h2: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One LSTM step for rows: input projection ``xw`` [m, 4H], doubled state ``h2`` and cell ``c``."""
        H = self.units
        p = np.tanh(xw + h2 @ self.replay.R_doubled)
        ui, uf, uo, g = p[:, :H], p[:, H:2 * H], p[:, 2 * H:3 * H], p[:, 3 * H:]
        c = 0.5 * ((1.0 + uf) * c + (1.0 + ui) * g)
        return (1.0 + uo) * np.tanh(c), c

    def pad_states(self, maxlen: int) -> np.ndarray:
        """float32 [maxlen + 1, 2, H]: (doubled h, c) after 0..maxlen pads, computed once."""
        if self._pads is None or len(self._pads) < maxlen + 1:
            H = self.units
            h2, c = np.zeros((1, H), np.float32), np.zeros((1, H), np.float32)
            out = np.zeros((maxlen + 1, 2, H), np.float32)
            xw = self.id_proj[:1]  # the pad id; pads carry no evidence
            for k in range(1, maxlen + 1):
                h2, c = self.step(xw, h2, c)
                out[k, 0], out[k, 1] = h2[0], c[0]
            self._pads = out
        return self._pads

    def gate(self, h2: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """The evidence gate (0..GATE_MAX) of the state ``h2`` [m, H] reached at ``positions`` [m]."""
        r = self.replay
        return GATE_MAX * _sigmoid(h2 @ r.gate_kernel + r.gate_bias[positions])

    def scan(self, ids: np.ndarray, weights: np.ndarray | None = None, record: bool = False):
        """Run padded rows ``ids`` [n, T] over their real steps only.

        Returns the final doubled state [n, H], the logit [n] (state readout plus gated evidence, the
        model's output before the sigmoid), the sum of ``|gated evidence| * weights[id]`` over each row's
        words [n, D] when ``weights`` [V, D] is given, and, with ``record``, the (h2, c) after every real
        step of every row (a list of [steps, 2, H])."""
        ids = np.asarray(ids)
        n, T = ids.shape
        r, H = self.replay, self.units
        pads = self.pad_states(T)
        lengths = T - np.where((ids != 0).any(axis=1), np.argmax(ids != 0, axis=1), T)
        final = np.zeros((n, H), np.float32)
        logit = np.full(n, r.state_bias, np.float64)
        bag = np.zeros((n, weights.shape[1]), np.float32) if weights is not None else None
        states: list = [None] * n
        order = np.argsort(-lengths, kind="stable")  # longest first: the live rows are a shrinking prefix
        for start in range(0, n, BATCH):
            rows = order[start:start + BATCH]
            lens = lengths[rows]
            first = T - lens  # each row's first real position
            batch = ids[rows].astype(np.int64)  # (the evidence of one batch at a time: 25,000 rows would hold 200 MB)
            ev = token_evidence(batch, r.unigram, r.pairs) if r.evidence else None
            h2, c = pads[first, 0].copy(), pads[first, 1].copy()
            trail = [] if record else None
            for s in range(int(lens.max(initial=0))):
                m = int(np.searchsorted(-lens, -s, side="left"))  # rows with more than s real steps
                live, here = rows[:m], np.arange(m)
                pos = first[:m] + s
                tok = batch[here, pos]
                xw = self.id_proj[tok]
                if ev is not None:
                    e = ev[here, pos]
                    xw = xw + e @ self.ev_proj
                h2[:m], c[:m] = self.step(xw, h2[:m], c[:m])
                if ev is not None:
                    counted = self.gate(h2[:m], pos) * e.sum(axis=1)
                    logit[live] += counted
                    if bag is not None:
                        bag[live] += np.abs(counted)[:, None].astype(np.float32) * weights[tok]
                if record:
                    trail.append((live, h2[:m].copy(), c[:m].copy()))
            final[rows] = h2
            if record:
                for j, row in enumerate(rows):
                    states[row] = np.array([[h[j], cc[j]] for live, h, cc in trail if j < len(live)], np.float32) \
                        .reshape(-1, 2, H)
        logit += final.astype(np.float64) @ r.state_kernel
        return final, logit, bag, (states if record else None)


def _runner(model: ScoringModel) -> Runner:
    return prepared(Runner, model.weights)


class _Behaviour:
    """Every word's behaviour (see ``word_behaviour``), computed once per model."""

    def __init__(self, weights: dict[str, np.ndarray], codec):
        run = prepared(Runner, weights)
        r, H = run.replay, run.units
        probes = codec.encode_batch([p for p in PROBES if p.strip()])
        _, _, _, trails = run.scan(probes, record=True)
        seen = np.concatenate([t for t in trails if len(t)])  # [states, 2, H]
        pick = np.linspace(0, len(seen) - 1, min(REFERENCES, len(seen))).round().astype(int)
        refs = seen[pick]
        V = len(run.id_proj)
        ev = np.zeros((V, 2), np.float32)
        if r.evidence:
            ev[:, 0] = np.asarray(r.unigram).reshape(-1)[:V].astype(np.float32)
        xw = run.id_proj + ev @ run.ev_proj
        position = np.full(V, len(r.gate_bias) - 1) if r.evidence else None
        states, effects = [], []
        for h2_ref, c_ref in refs:
            h2, _ = run.step(xw, np.broadcast_to(h2_ref, (V, H)), np.broadcast_to(c_ref, (V, H)))
            effect = (h2 - h2_ref).astype(np.float64) @ r.state_kernel  # the state's readout moves ...
            if r.evidence:
                effect += run.gate(h2, position) * ev[:, 0]  # ... and the word's own evidence counts
            states.append(h2 * 0.5)
            effects.append(effect)
        state = np.concatenate(states, axis=1).astype(np.float64)
        effect = np.stack(effects, axis=1)
        state -= state[FIRST_WORD_ID:].mean(axis=0)
        effect_c = effect - effect[FIRST_WORD_ID:].mean(axis=0)
        # the two parts weigh the same: the state's spread would otherwise drown the logit's few columns
        scale = np.sqrt((state[FIRST_WORD_ID:] ** 2).sum() / max((effect_c[FIRST_WORD_ID:] ** 2).sum(), 1e-12))
        vectors = np.concatenate([state, effect_c * scale], axis=1)
        self.vectors = vectors.astype(np.float32)
        self.effect = effect.mean(axis=1)  # a word's mean change of the logit
        self.unit = unit_rows(self.vectors)
        # principal components of the words' behaviour, for review vectors (a fixed basis, not the batch's)
        body = self.vectors[FIRST_WORD_ID:].astype(np.float64)
        _, _, vt = np.linalg.svd(body[:: max(1, len(body) // 2000)], full_matrices=False)
        self.reduced = (self.vectors @ vt[:BEHAVIOUR_DIMS].T.astype(np.float32)).astype(np.float32)
        self.reduced[:FIRST_WORD_ID] = 0.0  # pads, the start marker, unknown and unused say nothing


_BEHAVIOURS: dict[int, tuple[dict, _Behaviour]] = {}
_BUILDING = threading.Lock()  # one build at a time: the app warms it while a first click may ask for it


def _behaviour(model: ScoringModel) -> _Behaviour:
    """Built once per weights dict (``prepared`` builds from the weights alone; this also needs the codec)."""
    weights = model.weights
    with _BUILDING:
        hit = _BEHAVIOURS.get(id(weights))
        if hit is None or hit[0] is not weights:
            if len(_BEHAVIOURS) >= 4:
                _BEHAVIOURS.pop(next(iter(_BEHAVIOURS)))
            hit = _BEHAVIOURS[id(weights)] = (weights, _Behaviour(weights, model.codec))
    return hit[1]


def word_behaviour(model: ScoringModel) -> tuple[np.ndarray, np.ndarray]:
    """float32 [vocab, D] unit vectors of what the model does with each word (the state it leads to from
    each reference state, and the logit change it causes there, the two parts weighted alike), and each
    word's mean logit change [vocab]. Cosine between rows: words the model treats alike."""
    b = _behaviour(model)
    return b.unit, b.effect


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero)."""
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def represent(model: ScoringModel, ids: np.ndarray, kind: str = DEFAULT_KIND) -> np.ndarray:
    """float32 [n, D]: the representation ``kind`` of padded reviews ``ids`` [n, maxlen] (the codec's
    ``encode_batch``). Each row depends on its own review only: batched equals one by one."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    ids = np.asarray(ids, np.int64)
    if ids.ndim != 2:
        raise ValueError(f"ids must be [n, maxlen], got {list(ids.shape)}")
    if kind == "embedding":
        emb = model.weights["embedding"]
        words = ids >= FIRST_WORD_ID
        out = np.zeros((len(ids), emb.shape[1]), np.float32)
        step = 64  # rows at a time: each holds maxlen x E floats
        for start in range(0, len(ids), step):
            part, mask = ids[start:start + step], words[start:start + step]
            out[start:start + step] = (emb[part].astype(np.float32) * mask[..., None]).sum(axis=1) \
                / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return out
    run = _runner(model)
    behaviour = _behaviour(model).reduced if kind in ("evidence", "both") else None
    final, _, bag, _ = run.scan(ids, weights=behaviour)
    if kind == "state":
        return final * 0.5
    if kind == "evidence":
        return unit_rows(bag)
    return np.concatenate([unit_rows(final), unit_rows(bag)], axis=1) / np.sqrt(2.0)


def nearest(vectors: np.ndarray, query: np.ndarray, k: int, exclude: int | None = None) -> tuple[np.ndarray,
                                                                                                   np.ndarray]:
    """Indices and cosine similarities of the ``k`` rows of unit ``vectors`` nearest to unit ``query``,
    closest first, leaving out row ``exclude``."""
    sims = vectors @ query
    if exclude is not None:
        sims[exclude] = -np.inf
    k = min(k, len(sims) - (exclude is not None))
    if k <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    best = np.argpartition(-sims, k - 1)[:k]
    best = best[np.argsort(-sims[best], kind="stable")]
    return best, sims[best]


def project(vectors: np.ndarray, sample: int = 5000, seed: int = 0) -> np.ndarray:
    """float32 [n, 2]: the rows on the two principal axes of a centred sample of them (SVD), numpy only."""
    vectors = np.asarray(vectors, np.float32)
    if len(vectors) == 0:
        return np.zeros((0, 2), np.float32)
    rng = np.random.default_rng(seed)
    part = vectors if len(vectors) <= sample else vectors[rng.choice(len(vectors), sample, replace=False)]
    mean = part.mean(axis=0)
    _, _, vt = np.linalg.svd(part - mean, full_matrices=False)
    axes = np.zeros((vectors.shape[1], 2), np.float32)
    axes[:, : min(2, len(vt))] = vt[:2].T
    return (vectors - mean) @ axes


class ReviewIndex:
    """Reviews (a loaded file, a queue) by the model's representation, for "more like this".

    ``texts`` are encoded and represented once; ``labels`` (0/1 or None) and ``scores`` (P(positive))
    are carried along for display. Vectors are centred on the reviews' mean before the cosine, so the
    direction every review shares does not make them all look alike."""

    def __init__(self, model: ScoringModel, texts: Sequence[str], labels: Sequence | None = None,
                 scores: Sequence[float] | None = None, kind: str = DEFAULT_KIND, vectors: np.ndarray | None = None):
        self.model, self.kind = model, kind
        self.texts = list(texts)
        self.labels = list(labels) if labels is not None else [None] * len(self.texts)
        if vectors is None:  # encoded a chunk at a time: 25,000 padded reviews at once would hold 100 MB
            parts = [represent(model, model.codec.encode_batch(self.texts[i:i + CHUNK]), kind)
                     for i in range(0, len(self.texts), CHUNK)]
            vectors = np.concatenate(parts) if parts else represent(model, model.codec.encode_batch([""]), kind)[:0]
        self.raw = np.asarray(vectors, np.float32)
        self.mean = self.raw.mean(axis=0) if len(self.raw) else np.zeros(self.raw.shape[1], np.float32)
        self.unit = unit_rows(self.raw - self.mean)
        self.scores = np.asarray(scores, np.float64) if scores is not None else np.concatenate(
            [model.score_ids(model.codec.encode_batch(self.texts[i:i + CHUNK])) for i in range(0, len(self.texts), CHUNK)]
            or [np.zeros(0)])

    def __len__(self) -> int:
        return len(self.texts)

    def query(self, text: str) -> np.ndarray:
        """The unit vector of ``text`` in this index's space."""
        raw = represent(self.model, self.model.codec.encode_batch([text]), self.kind)[0]
        return unit_rows((raw - self.mean)[None, :])[0]

    def like_row(self, row: int, k: int = 10) -> list[dict]:
        """The ``k`` reviews nearest to review ``row`` of the index (itself left out)."""
        best, sims = nearest(self.unit, self.unit[row], k, exclude=row)
        return self._rows(best, sims)

    def like_text(self, text: str, k: int = 10) -> list[dict]:
        """The ``k`` reviews nearest to ``text``; a review of the index equal to it is left out."""
        same = next((i for i, t in enumerate(self.texts) if t == text), None)
        if same is not None:
            return self.like_row(same, k)
        best, sims = nearest(self.unit, self.query(text), k)
        return self._rows(best, sims)

    def _rows(self, best: np.ndarray, sims: np.ndarray) -> list[dict]:
        return [{"row": int(i), "similarity": float(s), "label": self.labels[i], "score": float(self.scores[i]),
                 "text": self.texts[i]} for i, s in zip(best, sims)]
