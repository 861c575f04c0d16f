"""Each model against the supervised baselines (``against_baselines``), and the shared rule."""
from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats

from ssvae.analysis.summary import against_baselines, winners


def _runs(cells: dict[tuple[str, str, int], list[float]]) -> pd.DataFrame:
    rows = [{"dataset": "mnist", "hierarchy": "low_high", "model": model, "label_mode": mode,
             "n_labels": n, "split_seed": i, "test_subclass_acc": v}
            for (model, mode, n), values in cells.items() for i, v in enumerate(values)]
    return pd.DataFrame(rows)


def test_each_model_against_the_baseline_on_the_same_labels():
    runs = _runs({("m2", "subclass", 100): [0.70, 0.74, 0.72],
                  ("gmvae", "subclass", 100): [0.92, 0.93, 0.90],
                  ("supervised", "subclass", 100): [0.76, 0.78, 0.75],
                  ("m2", "binary", 100): [0.90, 0.91, 0.92],          # no binary baseline
                  ("m2", "subclass", 1000): [0.96],                    # n < 2
                  ("supervised", "subclass", 1000): [0.92, 0.93]})
    lines = against_baselines(runs, "test_subclass_acc")
    assert len(lines) == 3                               # gmvae, m2 @100; m2 @1000
    gm = next(line for line in lines if "GMVAE" in line)
    a, b = [0.92, 0.93, 0.90], [0.76, 0.78, 0.75]
    comb = math.sqrt(pd.Series(a).var() + pd.Series(b).var())
    p = stats.ttest_ind(a, b, equal_var=False).pvalue
    assert gm.startswith("MNIST/low_high, 100 labels: GMVAE (sub-class labels) leads supervised")
    assert (f"by {100 * (sum(a) / 3 - sum(b) / 3):.1f} pp: more than the spread (combined std "
            f"{100 * comb:.1f} pp), and Welch's test supports a difference at the 5 % level "
            f"(p = {p:.3g}, n = 3 vs 3)") in gm
    m2 = next(line for line in lines if "100 labels: M2" in line)
    assert "M2 (sub-class labels) trails supervised (sub-class labels) by 4.3 pp" in m2
    assert "more than the spread" in m2                  # 4.3 pp against a spread of ~2.5 pp
    few = next(line for line in lines if "1000 labels" in line)
    assert "cannot compare with the spread (a cell has n < 2)" in few


def test_no_baseline_no_lines_and_winners_unchanged():
    runs = _runs({("m2", "subclass", 100): [0.70, 0.74], ("gmvae", "subclass", 100): [0.9, 0.8]})
    assert against_baselines(runs, "test_subclass_acc") == []
    (verdict,) = winners(runs, "test_subclass_acc")
    assert verdict.winner == "GMVAE (sub-class labels)" and verdict.gap == pytest.approx(0.13)
    assert "leads M2 (sub-class labels) by 13.0 pp: more than the spread" in verdict.text
    # 13 pp over a spread of 8.5 pp, but two runs a cell: the test cannot confirm it
    assert "but Welch's test does not support a difference at the 5 % level" in verdict.text
