"""The hand-written results/quickstart/README.md against the tables it describes: every α and
accuracy it quotes is checked here, so an edit of the tables or the text cannot drift apart."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

STUDY = Path(__file__).resolve().parents[2] / "results" / "quickstart"


@pytest.fixture(scope="module")
def readme() -> str:
    if not (STUDY / "README.md").is_file():
        pytest.skip(f"{STUDY} is absent")
    return (STUDY / "README.md").read_text()


def test_alpha_quoted_per_label_mode_is_the_searched_one(readme):
    best = json.loads((STUDY / "best_configs.json").read_text())
    for mode, name in (("binary", "binary labels"), ("subclass", "sub-class labels")):
        alphas = {round(v["params"]["model_options.alpha"], 3)
                  for k, v in best.items() if k.startswith(f"m2-{mode}-")}
        (alpha,) = alphas                       # one search per label mode, reused at 50 labels
        assert f"α = {alpha:.3f} with {name}" in readme


def test_m2_table_matches_summary_and_superseded_rows(readme):
    rows = re.findall(r"^\| (\d+) \| (binary|subclass) \| ([\d.]+) % \| ([\d.]+) % \|$", readme,
                      flags=re.M)
    assert len(rows) == 4
    now = pd.read_csv(STUDY / "summary.csv").query("model == 'm2'")
    old = pd.read_csv(STUDY / "superseded_runs.csv").query("model == 'm2'")
    for n, mode, paper, labelled in rows:
        cell = now[(now["label_mode"] == mode) & (now["n_labels"] == int(n))]
        assert f"{100 * cell['test_binary_acc_mean'].item():.1f}" == labelled
        runs = old[(old["label_mode"] == mode) & (old["n_labels"] == int(n))]
        assert len(runs) == 3
        assert f"{100 * runs['test_binary_acc'].mean():.1f}" == paper
