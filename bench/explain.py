"""Latency of each explanation method for one 250-word review on the committed model, against the
implementation it replaced (``explain.reference``), both timed in this run, plus each method's
share of this machine's sgemm rate.

    python -m bench.explain [--repeats 200]

The two versions are timed in alternating blocks, so a slower minute of a shared machine falls on
both; the ratio is of their medians. "GFLOP" counts the matrix products a method performs (the
LSTM's recurrent and input products); "of sgemm" is that over the time, as a share of a large
float32 matrix product's rate on all the machine's cores, measured here.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from bench.common import percentiles_ms, table
from explain.attribution import forward
from explain.cd import cd_attribution
from explain.methods import attribute
from explain.occlusion import occlusion
from explain.reference import cd_rowwise, occlusion_batched
from serve.runtime import SentimentModel

# Our own words, repeated to 250: a long, mixed review.
SENTENCE = ("the first half drags and the jokes fall flat but the final act is tense moving and "
            "beautifully shot with a lead performance that i will remember for years ")
BLOCK = 10  # calls of one version before switching to the other


def sgemm_rate(threads: int) -> float:
    """FLOP/s of a 2048^3 float32 matrix product on ``threads`` cores (onnxruntime's MatMul: the app's
    numpy runs BLAS on one thread, sentilens.settings)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    n = 2048
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "a"], ["b"])], "sgemm",
                              [helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n])],
                              [helper.make_tensor_value_info("b", TensorProto.FLOAT, [n, n])])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
                                   .SerializeToString(), options, providers=["CPUExecutionProvider"])
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    session.run(None, {"a": a})
    t0 = time.perf_counter()
    for _ in range(3):
        session.run(None, {"a": a})
    return 3 * 2 * n ** 3 / (time.perf_counter() - t0)


def alternating(old, new, repeats: int) -> tuple[list[float], list[float]]:
    """Milliseconds per call of ``old`` and ``new``, timed in alternating blocks of ``BLOCK`` calls."""
    old(), new()  # warm-up
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(max(1, repeats // BLOCK)):
        for fn, out in ((old, times[0]), (new, times[1])):
            for _ in range(BLOCK):
                t0 = time.perf_counter()
                fn()
                out.append((time.perf_counter() - t0) * 1000)
    return times


def products(model: SentimentModel, fwd) -> dict[str, tuple[float, float]]:
    """GFLOP of the matrix products (before, now) of occlusion and CD on this review."""
    arch = model.artifact.architecture
    H, E = arch["units"], arch["embed_dim"] + (2 if "unigram" in model.weights else 0)  # evidence: 2 inputs more
    T, read = len(fwd.enc.padded), fwd.read_positions
    steps = T - (read[0] - 1 if read else T)  # from the start marker on
    word_steps = sum(T - p for p in read)  # each word's row, from its word to the end
    gate = 1 if "unigram" in model.weights else 0
    occ_before = len(read) * steps * 2 * (E + H) * 4 * H  # every variant from its first step, input and recurrence
    occ_now = (steps + word_steps) * 2 * (H + 1) * (4 * H + gate) + steps * 2 * E * 4 * H
    cd = word_steps * 2 * H * 3 * H + steps * 2 * (E + H) * 4 * H  # the same products in both versions
    return {"occlusion": (occ_before / 1e9, occ_now / 1e9), "cd": (cd / 1e9, cd / 1e9)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=200)
    args = p.parse_args()
    model = SentimentModel()
    words = (SENTENCE.split() * 20)[:250]
    text = " ".join(words)
    fwd = forward(model, text)
    rate = sgemm_rate(model.threads)
    flops = products(model, fwd)
    pairs = {"occlusion": (occlusion_batched, occlusion), "cd": (cd_rowwise, cd_attribution)}
    rows = [("method", "before p50 ms", "now p50 ms", "now / before", "GFLOP before / now",
             "of sgemm before / now")]
    for name, (old, new) in pairs.items():
        if name not in model.methods:
            continue
        before, now = alternating(lambda f=old: f(model, fwd), lambda f=new: f(model, fwd), args.repeats)
        b, n = statistics.median(before), statistics.median(now)
        fb, fn = flops[name]
        rows.append((name, f"{b:.1f}", f"{n:.1f}", f"{n / b:.2f}", f"{fb:.2f} / {fn:.2f}",
                     f"{fb / (b / 1e3) * 1e9 / rate:.0%} / {fn / (n / 1e3) * 1e9 / rate:.0%}"))
    print(f"{len(words)}-word review, maxlen {model.maxlen}, ORT threads {model.threads}; "
          f"sgemm on this machine ({model.threads} cores): {rate / 1e9:.0f} GFLOP/s")
    print("Each method on the same forward pass, the version before issue 24 and now, in alternating blocks:")
    print(table(rows))
    rows = [("method (attribute, with its forward pass)", "p50 ms", "p95 ms")]
    for method in model.methods:
        attribute(model, text, method)  # warm-up
        p50, p95 = percentiles_ms(lambda m=method: attribute(model, text, m), args.repeats)
        rows.append((method, f"{p50:.1f}", f"{p95:.1f}"))
    p50, p95 = percentiles_ms(lambda: model.predict([text]), args.repeats)
    rows.append(("(score only)", f"{p50:.2f}", f"{p95:.2f}"))
    print(table(rows))


if __name__ == "__main__":
    main()
