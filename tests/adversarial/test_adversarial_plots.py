"""The study's figures from a small table of attack rows, and the accepted/rejected grid."""
from __future__ import annotations

import matplotlib.image
import pandas as pd
import torch

from ssvae.adversarial.plots import (accepted_rejected_grid, attack_label, plot_accuracy_rejection,
                                    with_clean_points)


def _rows() -> pd.DataFrame:
    rows = []
    for model in ("gmvae", "supervised"):
        for draw in (0, 1):
            for attack, aware in (("fgsm", False), ("pgd", False), ("pgd", True)):
                for eps in (0.1, 0.3):
                    rows.append({"model": model, "run": f"{model}-s{draw}", "attack": attack,
                                 "aware": aware, "target": "", "eps": eps,
                                 "clean_acc": 0.9, "clean_reject_rate": 0.05,
                                 "clean_acc_on_accepted": 0.92, "adv_acc": 0.5 - eps,
                                 "adv_acc_on_accepted": 0.6 - eps, "adv_reject_rate": eps + draw / 10,
                                 "fooled_accepted": 0.4})
    return pd.DataFrame(rows)


def test_the_clean_images_are_the_eps_0_point_of_every_run_and_attack():
    rows = _rows()
    rows["attack_label"] = rows["attack"] + rows["aware"].map({True: " aware", False: ""})
    data = with_clean_points(rows)
    clean = data[data["eps"] == 0]
    assert len(clean) == 4 * 3
    assert (clean["adv_acc"] == 0.9).all() and (clean["adv_reject_rate"] == 0.05).all()


def test_the_accuracy_rejection_figure_is_written(tmp_path):
    paths = plot_accuracy_rejection(_rows(), tmp_path)
    assert sorted(p.name for p in paths) == ["accuracy_rejection.png", "accuracy_rejection.svg"]
    assert matplotlib.image.imread(paths[0]).shape[1] > 1000     # three attack columns


def test_the_grid_shows_accepted_and_rejected_images(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(20, 1, 8, 8, generator=g)
    pred, y = torch.arange(20) % 10, torch.zeros(20, dtype=torch.long)
    rejected = torch.arange(20) >= 15
    out = accepted_rejected_grid(x, pred, rejected, y, [str(i) for i in range(10)],
                                 tmp_path / "g.png", title="t", n=6)
    assert matplotlib.image.imread(out).shape[0] > 100


def test_an_attacks_label_reads_the_aware_flag_as_csv_gives_it_back():
    assert attack_label(pd.Series({"attack": "pgd", "aware": 1.0, "target": float("nan")})) == "PGD aware"
    assert attack_label(pd.Series({"attack": "pgd", "aware": False, "target": ""})) == "PGD"
    assert attack_label(pd.Series({"attack": "fgsm", "aware": "True", "target": 3})) == "FGSM aware targeted"
