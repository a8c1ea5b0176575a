"""Agreement statistics (serve/agreement.py) against hand-computed cases and the reference packages."""

import random

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from serve.store.agreement import cohen_kappa, krippendorff_alpha, team_agreement


def test_kappa_by_hand():
    # 10 reviews: both pos on 4, both neg on 3, A pos / B neg on 2, A neg / B pos on 1.
    a = ["pos"] * 4 + ["neg"] * 3 + ["pos"] * 2 + ["neg"]
    b = ["pos"] * 4 + ["neg"] * 3 + ["neg"] * 2 + ["pos"]
    # observed 0.7; A: 6 pos 4 neg, B: 5 pos 5 neg -> expected 0.6*0.5 + 0.4*0.5 = 0.5; kappa = 0.2 / 0.5
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(a, a) == pytest.approx(1.0)
    assert cohen_kappa(["pos", "neg"], ["neg", "pos"]) == pytest.approx(-1.0)
    assert cohen_kappa([], []) is None and cohen_kappa(["pos"] * 3, ["pos"] * 3) is None


def test_alpha_by_hand():
    # Krippendorff (2011), nominal: two coders, units (a,a) (a,b) (b,b) (b,b):
    # o_aa = 2, o_ab = o_ba = 1, o_bb = 4; n = 8, n_a = 3, n_b = 5
    # alpha = 1 - (n - 1) * (o_ab + o_ba) / (n_a n_b + n_b n_a) = 1 - 7 * 2 / 30
    units = [["pos", "pos"], ["pos", "neg"], ["neg", "neg"], ["neg", "neg"]]
    assert krippendorff_alpha(units) == pytest.approx(1 - 14 / 30)
    assert krippendorff_alpha([["pos", "pos"], ["neg", "neg"]]) == pytest.approx(1.0)
    assert krippendorff_alpha([["pos"], ["neg"]]) is None  # nothing pairable
    assert krippendorff_alpha([["pos", "pos"], ["pos", "pos", "pos"]]) is None  # one category: undefined


@pytest.mark.parametrize("seed", range(20))
def test_both_match_the_reference_packages(seed):
    rng = random.Random(seed)
    n, people = rng.randint(5, 60), rng.randint(2, 5)
    truth = [rng.choice(["pos", "neg"]) for _ in range(n)]
    table = [[t if rng.random() < 0.75 else rng.choice(["pos", "neg"]) for t in truth] for _ in range(people)]
    a, b = table[0], table[1]
    if len(set(a) | set(b)) > 1:
        assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
    # missing votes: each review gets a random subset of the annotators
    present = [[rng.random() < 0.7 for _ in range(n)] for _ in range(people)]
    units = [[table[p][i] for p in range(people) if present[p][i]] for i in range(n)]
    codes = np.array([[{"pos": 1.0, "neg": 0.0}[table[p][i]] if present[p][i] else np.nan for i in range(n)]
                      for p in range(people)])
    ours = krippendorff_alpha(units)
    pairable = [u for u in units if len(u) >= 2]
    if ours is None:
        assert len({v for u in pairable for v in u}) < 2 or sum(map(len, pairable)) < 2
    else:
        assert ours == pytest.approx(krippendorff.alpha(reliability_data=codes, level_of_measurement="nominal"),
                                     abs=1e-9)


def test_team_agreement_counts_each_annotator_on_the_reviews_they_share():
    votes = {"r1": {"ana": "pos", "bo": "pos"}, "r2": {"ana": "neg", "bo": "pos", "cy": "neg"},
             "r3": {"ana": "skip", "cy": "pos"}, "r4": {"bo": "neg"}}
    t = team_agreement(votes)
    pairs = {(p["a"], p["b"]): p for p in t["pairs"]}
    assert pairs["ana", "bo"]["reviews"] == 2 and pairs["ana", "cy"]["reviews"] == 1 and pairs["bo", "cy"]["reviews"] == 1
    assert pairs["ana", "bo"]["kappa"] == pytest.approx(cohen_kappa(["pos", "neg"], ["pos", "pos"]))
    ana = next(p for p in t["annotators"] if p["annotator"] == "ana")
    assert (ana["votes"], ana["pos"], ana["neg"], ana["skip"]) == (3, 1, 1, 1)
    assert ana["compared"] == 3 and ana["agreement"] == pytest.approx(2 / 3)  # r1 bo, r2 bo, r2 cy
    assert t["reviews"] == 2  # r1, r2 have two labels (r3's skip is not one)
    assert t["alpha"] == pytest.approx(krippendorff_alpha([["pos", "pos"], ["neg", "pos", "neg"]]))
