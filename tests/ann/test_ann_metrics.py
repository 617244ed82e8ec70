"""Metrics against hand-computed values on synthetic accuracy curves (no torch needed)."""
import math

import numpy as np
import pytest

from l5sim.ann.metrics import delange_metrics, final_average_accuracy, paper_metrics, summarise
from l5sim.errors import L5SimError

# Metrics are sums/ratios of a handful of floats: agreement to double rounding.
EXACT = 1e-12


def test_paper_sg_example_from_issue():
    # final 0.99 at the end of block 1, minimum 0.70 in block 2: SG = 0.29/0.99 = 0.2929...
    m = paper_metrics([0.3, 0.99, 0.85, 0.70, 0.95], [0, 0, 1, 1, 1])
    assert m["sg"][0] == pytest.approx(0.29 / 0.99, abs=EXACT)
    assert round(m["sg"][0], 3) == 0.293


def test_paper_three_blocks_by_hand():
    acc = [0.2, 0.9, 0.6, 0.8, 0.4, 0.7]
    block = [0, 0, 1, 1, 2, 2]
    m = paper_metrics(acc, block)
    assert m["final"] == [0.9, 0.8, 0.7]
    assert m["block_min"] == [0.2, 0.6, 0.4]
    sg = [(0.9 - 0.6) / 0.9, (0.8 - 0.4) / 0.8]
    assert m["sg"] == pytest.approx(sg, abs=EXACT)
    assert m["avg_sg"] == pytest.approx(np.mean(sg), abs=EXACT)
    assert m["avg_min_acc"] == pytest.approx(0.4, abs=EXACT)
    assert m["wc_acc"] == pytest.approx(0.7 / 3 + (2 / 3) * 0.4, abs=EXACT)


def test_paper_ignores_pre_training_evaluation():
    m = paper_metrics([0.0, 0.5, 0.9, 0.8], [-1, 0, 0, 1])
    assert m["block_min"][0] == 0.5


def test_no_gap_when_accuracy_never_drops():
    m = paper_metrics([0.5, 0.9, 0.95, 0.97], [0, 0, 1, 1])
    assert m["sg"][0] < 0  # a rise is a negative gap, reported as is


def test_delange_by_hand():
    # columns: task 1, task 2, task 3
    acc = np.array([
        [0.5, 0.1, 0.1],  # block 0
        [0.9, 0.1, 0.1],
        [0.6, 0.5, 0.2],  # block 1: task 1 dips to 0.6
        [0.85, 0.9, 0.2],
        [0.7, 0.4, 0.6],  # block 2: task 1 0.7, task 2 dips to 0.4
        [0.8, 0.85, 0.9],
    ])
    block = [0, 0, 1, 1, 2, 2]
    m = delange_metrics(acc, block)
    worst1 = 0.6   # task 1 after block 0 ended
    worst2 = 0.4   # task 2 after block 1 ended
    assert m["worst_after"] == pytest.approx([worst1, worst2], abs=EXACT)
    assert m["min_acc"] == pytest.approx((worst1 + worst2) / 2, abs=EXACT)
    assert m["wc_acc"] == pytest.approx(0.9 / 3 + (2 / 3) * 0.5, abs=EXACT)
    # after task 2: min over task 1 in block 1 only
    assert m["min_acc_per_task"][1] == pytest.approx(0.6, abs=EXACT)
    assert m["wc_acc_per_task"][1] == pytest.approx(0.9 / 2 + 0.5 * 0.6, abs=EXACT)
    assert math.isnan(m["min_acc_per_task"][0])
    assert final_average_accuracy(acc) == pytest.approx(0.85, abs=EXACT)


def test_families_differ_on_the_same_run():
    # The paper's avg-min-ACC includes task 1's own learning block (near chance at its start);
    # De Lange's min-ACC does not: the two must not be confused.
    acc = np.array([[0.1, 0.1], [0.9, 0.1], [0.7, 0.8], [0.8, 0.9]])
    p = paper_metrics(acc[:, 0], [0, 0, 1, 1])
    d = delange_metrics(acc, [0, 0, 1, 1])
    assert p["avg_min_acc"] == pytest.approx((0.1 + 0.7) / 2, abs=EXACT)
    assert d["min_acc"] == pytest.approx(0.7, abs=EXACT)


def test_nan_propagates_and_summary_counts_it():
    m = paper_metrics([0.5, 0.9, np.nan, np.nan], [0, 0, 1, 1])
    assert math.isnan(m["avg_sg"])
    s = summarise([0.1, 0.3, np.nan])
    assert s["n"] == 2 and s["n_nonfinite"] == 1
    assert s["mean"] == pytest.approx(0.2, abs=EXACT)
    assert s["std"] == pytest.approx(np.std([0.1, 0.3], ddof=1), abs=EXACT)


def test_bad_input_is_refused():
    with pytest.raises(L5SimError, match="one block label per evaluation"):
        paper_metrics([0.1, 0.2], [0])
    with pytest.raises(L5SimError, match="no evaluation in block 1"):
        paper_metrics([0.1, 0.2], [0, 0], n_blocks=2)
    with pytest.raises(L5SimError, match="expected \\(n_evals, n_tasks\\)"):
        delange_metrics([0.1, 0.2], [0, 1])
