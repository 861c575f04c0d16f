"""Cell expansion, search-once-and-reuse, final runs, the compute estimate, and --dry-run on
every shipped spec (which starts neither Ray nor any training)."""
from __future__ import annotations

import sys

import pytest

from tune.cells import asha_expected_epochs, estimate, expand_cells, final_configs, search_cells
from tune.search import main
from tune.spec import load_spec, parse_spec, shipped_specs

RAW = {
    "name": "t", "data": {"dataset": "digits"},
    "grid": {"model": ["supervised", "m2"], "label_mode": ["binary", "subclass"],
             "n_labels": [50, 200]},
    "fixed": {"epochs": 8, "hidden_dim": 32},
    "models": {"m2": {"model_options.alpha": 0.5}},
    "search_space": {"m2": {"lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}}},
    "search": {"trials": 3, "search_at": {"n_labels": 200}, "split_seed": 4},
    "evaluation": {"split_seeds": [0, 1], "seeds": [None, 7]},
    "resources": {"cpus_per_trial": 2},
}


def test_expand_and_reuse():
    spec = parse_spec(RAW)
    cells = expand_cells(spec)
    assert [c.name for c in cells][:3] == ["supervised-binary-n50", "supervised-binary-n200",
                                           "supervised-subclass-n50"]
    assert len(cells) == 8
    searched = search_cells(cells)
    assert [c.name for c in searched] == ["supervised-binary-n200", "supervised-subclass-n200",
                                          "m2-binary-n200", "m2-subclass-n200"]
    by_name = {c.name: c for c in cells}
    assert by_name["m2-subclass-n50"].search_cell == "m2-subclass-n200"
    m2 = by_name["m2-binary-n50"].config
    assert (m2.n_labels, m2.label_mode, m2.epochs, m2.hidden_dim) == (50, "binary", 8, 32)
    assert dict(m2.model_options) == {"alpha": 0.5}          # per-model delta
    assert "alpha" not in dict(by_name["supervised-binary-n50"].config.model_options)
    assert m2.split_seed == 4 and m2.threads == 2           # the search's draw; threads = CPUs


def test_final_configs_cover_draws_and_seeds():
    spec = parse_spec(RAW)
    cell = next(c for c in expand_cells(spec) if c.name == "m2-binary-n50")
    runs = final_configs(spec, cell, {"lr": 0.003})
    assert [(r.split_seed, r.train_seed) for r in runs] == [(0, 0), (0, 7), (1, 1), (1, 7)]
    assert all(r.lr == 0.003 and r.n_labels == 50 for r in runs)
    assert len({r.run_id for r in runs}) == 4


def test_estimate_and_random_search_flag():
    spec = parse_spec(RAW)
    est = estimate(spec, expand_cells(spec))
    # supervised has no search space: no trial (the runner trains its fixed config only in the
    # final evaluation), so only the two m2 cells count
    assert est["trials"] == 3 + 3
    assert est["final_runs"] == 8 * 2 * 2
    assert est["random_search"] is True                      # 3 trials <= 10 startup trials
    assert est["search_epochs"] <= est["search_epochs_no_asha"]


def test_asha_expected_epochs():
    assert asha_expected_epochs(8, 8, 2) == 8
    # rungs 1, 2, 4: 1 + 1/2 + 2/4 + 4/8 = 2.5
    assert asha_expected_epochs(8, 1, 2) == pytest.approx(2.5)


@pytest.mark.parametrize("name", sorted(shipped_specs()))
@pytest.mark.parametrize("smoke", [False, True])
def test_dry_run_every_shipped_spec(name, smoke, tmp_path, capsys, monkeypatch):
    import tune.runner

    def no_ray(*args, **kwargs):
        raise AssertionError("a dry run must start neither Ray nor training")

    monkeypatch.setattr(tune.runner, "ensure_ray", no_ray)
    monkeypatch.setattr(tune.runner, "run_study", no_ray)
    before = set(sys.modules)
    args = [name, "--dry-run", "--results-dir", str(tmp_path)] + (["--smoke"] if smoke else [])
    assert main(args) == 0
    out = capsys.readouterr().out
    spec = load_spec(name)
    assert "dry run: nothing started" in out and "estimate" in out
    for cell in expand_cells(spec.smoked() if smoke else spec):
        assert cell.name in out
    assert not any(tmp_path.iterdir()), "a dry run writes nothing"
    started = {m for m in set(sys.modules) - before if m.startswith("ssvae.training.loop")}
    assert not started, f"a dry run imported {started}"


def test_shipped_specs_follow_the_protocol():
    mnist = load_spec("mnist_label_curve")
    assert dict(mnist.grid)["n_labels"] == (100, 600, 1000, 3000)
    assert set(dict(mnist.grid)["model"]) == {"m2", "m1m2", "gmvae", "supervised"}
    assert dict(mnist.grid)["label_mode"] == ("subclass",)
    assert len(mnist.evaluation.split_seeds) == 5
    fashion = load_spec("fashion_binary_vs_subclass")
    assert fashion.hierarchy == "mixed" and fashion.dataset == "fashion_mnist"
    assert set(dict(fashion.grid)["label_mode"]) == {"binary", "subclass"}
    assert len(dict(fashion.grid)["n_labels"]) >= 3
    assert len(fashion.evaluation.split_seeds) == 3
    quick = load_spec("quickstart")
    assert quick.dataset == "digits" and set(dict(quick.grid)["label_mode"]) == {"binary", "subclass"}
    assert quick.smoked().name == "quickstart-smoke"
