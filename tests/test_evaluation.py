"""train/evaluation.py: every figure checked against one worked by hand, and the paired
bootstrap against what it must do (cancel what two models share, widen with fewer rows)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from train.evaluation import Evaluation, evaluate, paired_difference, roc_auc


def test_every_figure_on_a_set_worked_by_hand():
    truth = [1, 1, 1, 0, 0, 0, 0, 0]
    prob = [0.9, 0.6, 0.3, 0.8, 0.4, 0.2, 0.1, 0.1]
    ev = evaluate(truth, prob)
    # predictions 1 1 0 1 0 0 0 0: tp 2, fn 1, fp 1, tn 4
    assert ev.confusion == ((4, 1), (1, 2)) and ev.rows == 8
    assert ev.accuracy == 6 / 8 and ev.majority_rate == 5 / 8 and ev.positive_rate == 3 / 8
    assert ev.precision == (4 / 5, 2 / 3) and ev.recall == (4 / 5, 2 / 3)
    # 15 positive/negative pairs; a positive above a negative: 0.9 beats 5, 0.6 beats 4, 0.3 beats 3
    assert ev.roc_auc == pytest.approx(12 / 15)
    expected_loss = -sum(math.log(p) if y else math.log(1 - p) for y, p in zip(truth, prob)) / 8
    assert ev.log_loss == pytest.approx(expected_loss)
    # bins of width 0.1: [0.1,0.1] -> bin 1, 0.2 -> 2, 0.3 -> 3, 0.4 -> 4, 0.6 -> 6, 0.8 -> 8, 0.9 -> 9
    assert ev.calibration == ((0.1, 0.0, 2), (0.2, 0.0, 1), (0.3, 1.0, 1), (0.4, 0.0, 1), (0.6, 1.0, 1),
                              (0.8, 0.0, 1), (0.9, 1.0, 1))
    gaps = [0.1 * 2, 0.2, 0.7, 0.4, 0.4, 0.8, 0.1]
    assert ev.ece == pytest.approx(sum(gaps) / 8)
    assert Evaluation.from_dict(ev.to_dict()) == ev
    assert "ROC AUC 0.8000" in ev.summary() and "majority class 0.6250" in ev.summary()


def test_ties_count_half_and_one_class_has_no_auc():
    assert roc_auc(np.array([1, 0]), np.array([0.5, 0.5])) == 0.5
    assert roc_auc(np.array([1, 1, 0, 0]), np.array([0.7, 0.4, 0.4, 0.1])) == pytest.approx(3.5 / 4)
    only = evaluate([1, 1], [0.8, 0.3])
    assert only.roc_auc is None and only.recall == (None, 0.5) and only.precision == (0.0, 1.0)  # said 0 once, wrongly
    assert "ROC AUC n/a" in only.summary()


def test_a_certain_mistake_costs_much_but_not_infinitely():
    ev = evaluate([1, 0], [0.0, 1.0])
    assert math.isfinite(ev.log_loss) and ev.log_loss > 15 and ev.accuracy == 0


def test_bad_inputs_are_refused_with_what_is_wrong():
    with pytest.raises(ValueError, match="2 labels but 3 probabilities"):
        evaluate([1, 0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        evaluate([2, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"probabilities must lie in \[0, 1\]"):
        evaluate([1, 0], [float("nan"), 0.2])
    with pytest.raises(ValueError, match="no rows"):
        evaluate([], [])
    with pytest.raises(ValueError, match="different rows"):
        paired_difference([1, 0], [1])


def test_the_paired_interval_cancels_what_two_models_share():
    rng = np.random.default_rng(1)
    n = 2000
    shared = rng.random(n) < 0.85            # rows both get right
    a = shared.copy()
    b = shared.copy()
    flip = np.flatnonzero(~shared)[:30]      # a also gets 30 of the hard rows right: +1.5 points
    a[flip] = True
    iv = paired_difference(a, b, draws=1000, seed=3)
    assert iv.difference == pytest.approx(30 / n)
    assert iv.beyond_noise() and iv.low > 0.008 and iv.high < 0.022
    # unpaired, two accuracies of 0.85 on 2,000 rows would each be +-1.6 points: the pairing is the point
    assert iv.high - iv.low < 0.02
    # the same inputs, the same interval; b against a is the mirror image
    assert paired_difference(a, b, draws=1000, seed=3) == iv
    back = paired_difference(b, a, draws=1000, seed=3)
    assert back.difference == -iv.difference and not back.beyond_noise()


def test_a_lead_within_noise_is_not_beyond_it_and_fewer_rows_widen_the_interval():
    rng = np.random.default_rng(2)
    a = rng.random(400) < 0.8
    b = a.copy()
    right, wrong = np.flatnonzero(a), np.flatnonzero(~a)
    b[rng.choice(right, size=18, replace=False)] = False   # b misses 18 rows a gets right,
    b[rng.choice(wrong, size=14, replace=False)] = True    # and gets 14 right that a misses
    iv = paired_difference(a, b, draws=2000, seed=0)
    assert iv.difference == pytest.approx(4 / 400) and iv.low < 0 < iv.high and not iv.beyond_noise()
    small = paired_difference(a[:100], b[:100], draws=2000, seed=0)
    assert (small.high - small.low) > (iv.high - iv.low)
