"""The registry of explanation methods: one entry each, read by the app, the API, the batch
scorer, the benchmarks and the load test.

A method is a function ``(model, forward) -> Attribution`` in a module of its own, plus one
``Method`` entry below saying its name, the label people see, the space its scores live in
and what the model must offer (``requires``: features from ``sentilens.artifact.FEATURES``,
matched at export and again when a model loads). Adding a method is one new file and one entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from explain.attribution import Attribution, Forward, ScoringModel, forward
from explain.cd import cd_attribution
from explain.occlusion import occlusion
from explain.running import running_score
from sentilens.artifact import LSTM_WEIGHTS, RUNNING_OUTPUT
from sentilens.codec import Encoding
from sentilens.errors import InputError

__all__ = ["DEFAULT_METHOD", "METHODS", "Method", "SHOWN_FIRST", "applicable", "attribute", "check_method", "shown_first"]


@dataclass(frozen=True)
class Method:
    name: str
    label: str  # what people see in the app
    space: str  # "probability" or "logit": the units of its scores
    requires: frozenset[str]
    explain: Callable[[ScoringModel, Forward], Attribution]
    summary: str  # one line for the API docs and the README


METHODS: dict[str, Method] = {m.name: m for m in (
    Method("running", "running score (one pass, probability change per word)", "probability",
           frozenset({RUNNING_OUTPUT}), running_score,
           "change of P(positive) at each word in one forward pass; sums exactly to the final score"),
    Method("occlusion", "occlusion (leave one word out, probability change)", "probability",
           frozenset(), occlusion,
           "P(review) minus P(review with the word replaced by the unknown-word id)"),
    Method("cd", "contextual decomposition (LSTM only, logit contribution)", "logit",
           frozenset({LSTM_WEIGHTS}), cd_attribution,
           "the word's own part of the final LSTM state, read out as a logit (Murdoch et al. 2018)"),
)}
DEFAULT_METHOD = "running"  # the bulk default (serve.batch, serve.spark): the cheapest per row by far

# What a person sees first (Analyze, the API's /explain, Team): the most faithful method a click can
# afford (under 150 ms for a 250-word review). By ERASER's measures on the committed model (docs/results.md,
# "Explanations: faithfulness and speed"), contextual decomposition leads comprehensiveness, then
# occlusion, then the running score; all three answer a click in time.
SHOWN_FIRST = ("cd", "occlusion", "running")


def shown_first(available: Iterable[str]) -> str:
    """The method to show first among ``available`` (a model's ``methods``): the most faithful one."""
    available = tuple(available)
    if not available:
        raise InputError("This model offers no explanation method.")
    return next((m for m in SHOWN_FIRST if m in available), available[0])


def applicable(features: Iterable[str], recorded: Iterable[str] | None = None) -> tuple[str, ...]:
    """Names of the registered methods a model with ``features`` supports (and, when given, that
    its metadata ``recorded``), in registry order."""
    features = frozenset(features)
    names = METHODS if recorded is None else [m for m in METHODS if m in set(recorded)]
    return tuple(name for name in names if METHODS[name].requires <= features)


def check_method(method: object, available: tuple[str, ...] | None = None) -> Method:
    """The registry entry for ``method``, or ``InputError`` saying what to pick instead."""
    names = tuple(METHODS) if available is None else available
    if not isinstance(method, str) or method not in METHODS:
        raise InputError(f"Unknown explanation method {str(method)[:40]!r}; choose one of {', '.join(names)}.")
    if method not in names:
        raise InputError(f"The method {method!r} does not apply to this model; choose one of {', '.join(names)}.")
    return METHODS[method]


def attribute(model: ScoringModel, text: str, method: str = DEFAULT_METHOD, enc: Encoding | None = None,
              fwd: Forward | None = None) -> Attribution:
    """Explain ``text`` with ``method``; pass ``fwd`` (or ``enc``) when the caller already has it.

    The model's own list of methods (``model.methods``, from its capabilities) is honoured when
    it has one."""
    entry = check_method(method, getattr(model, "methods", None))
    return entry.explain(model, fwd or forward(model, text, enc))
