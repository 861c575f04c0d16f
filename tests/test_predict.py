"""``python -m ssvae.predict`` on a user's folder: unreadable files listed and counted (never
fatal), nested folders and odd sizes, streaming in batches, the columns, and clear errors."""
from __future__ import annotations

import warnings

import csv

import pytest
import torch

from ssvae.deploy.bundle import load_best
from ssvae.config import TrainConfig
from ssvae.data.images import list_images
from ssvae.predict import main, unreadable_path
from ssvae.deploy.thresholds import Goal
from ssvae.training.loop import fit

BAD = {"animals/dogs/broken.jpg", "animals/dogs/truncated.png", "unlabelled/bad.png"}


@pytest.fixture(scope="module")
def best(folder_tree, tmp_path_factory) -> str:
    """A tiny GMVAE trained on sub-classes of the generated tree (16x16 RGB)."""
    out = tmp_path_factory.mktemp("predict_run")
    mp = pytest.MonkeyPatch()
    mp.setenv("SSVAE_SPLIT_DIR", str(out / "splits"))
    config = TrainConfig(dataset="folder", data_root=str(folder_tree), image_size=16, channels=3,
                         network="conv", model="gmvae", label_mode="subclass", n_labels=5,
                         hidden_dim=32, latent_dim=8, epochs=1, batch_size=16,
                         labelled_batch_size=5, progress=False, threads=1)
    with warnings.catch_warnings():         # the tree's unreadable files (warned once: cached)
        warnings.simplefilter("ignore")
        fit(config, out_dir=str(out / "run"))
    mp.undo()
    return str(out / "run" / "best")


def _read(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_folder_with_unreadable_files_nested_folders_and_odd_sizes(best, folder_tree, tmp_path,
                                                                     capsys):
    out = tmp_path / "pred.csv"
    assert main(["--checkpoint", best, "--folder", str(folder_tree), "--positive", "objects",
                 "--out", str(out), "--batch-size", "4", "--no-progress"]) == 0
    console = capsys.readouterr().out
    assert "3 unreadable file(s)" in console and "thresholds for review budget 0.05" in console
    assert "on validation" in console and "precision" in console and "recall" in console
    every = {p.relative_to(folder_tree).as_posix() for p in list_images(folder_tree)}
    rows = _read(out)
    assert {r["path"] for r in rows} == every - BAD             # nested, odd sizes, 16-bit, ...
    assert any(r["path"].count("/") >= 4 for r in rows)         # nested/deeper/
    assert {r["path"] for r in _read(unreadable_path(out))} == BAD
    assert list(rows[0]) == ["path", "score", "superclass", "subclass", "subclass_1",
                             "p_subclass_1", "subclass_2", "p_subclass_2", "subclass_3",
                             "p_subclass_3", "rejection", "decision"]
    subs = set(load_best(best).hierarchy.subclass_names)
    for r in rows:
        assert 0.0 <= float(r["score"]) <= 1.0 and r["decision"] in ("flag", "pass", "review")
        assert r["superclass"] in ("animals", "objects") and r["subclass"] in subs
        top = [float(r[f"p_subclass_{i}"]) for i in (1, 2, 3)]
        assert top == sorted(top, reverse=True) and r["subclass"] == r["subclass_1"]
    assert not out.with_name(out.name + ".partial").exists()


def test_batches_stream_and_give_the_same_rows_as_one_batch(best, folder_tree, tmp_path):
    for size in (3, 500):
        assert main(["--checkpoint", best, "--folder", str(folder_tree / "animals"),
                     "--positive", "objects", "--out", str(tmp_path / f"b{size}.csv"),
                     "--batch-size", str(size), "--no-progress"]) == 0
    assert (tmp_path / "b3.csv").read_text() == (tmp_path / "b500.csv").read_text()


def test_the_decisions_follow_the_printed_thresholds(best, folder_tree, tmp_path, capsys):
    out = tmp_path / "p.csv"
    assert main(["--checkpoint", best, "--folder", str(folder_tree), "--positive", "animals",
                 "--out", str(out), "--target-recall", "0.8", "--no-progress"]) == 0
    t = load_best(best).thresholds("animals", Goal(target_recall=0.8))
    assert t.describe().splitlines()[0] in capsys.readouterr().out
    for r in _read(out):
        score, rejection = float(r["score"]), float(r["rejection"])
        if abs(score - t.flag_at) > 1e-5 and abs(rejection - t.review_above) > 1e-4:
            expected = t.decide(torch.tensor([score]).numpy(), torch.tensor([rejection]).numpy())
            assert r["decision"] == expected[0], r


def test_a_clean_folder_still_reports_zero_unreadable_files(best, folder_tree, tmp_path, capsys):
    out = tmp_path / "clean.csv"
    assert main(["--checkpoint", best, "--folder", str(folder_tree / "objects" / "tiny"),
                 "--positive", "objects", "--out", str(out), "--no-progress"]) == 0
    assert "0 unreadable file(s)" in capsys.readouterr().out
    assert len(_read(out)) == 2 and _read(unreadable_path(out)) == []


@pytest.mark.parametrize("extra, message", [
    (["--positive", "plants"], "--positive 'plants' is not one of this model's super-classes: "
                               "animals, objects"),
    (["--positive", "objects", "--target-precision", "1.5"], "target_precision=1.5 must be"),
    (["--positive", "objects", "--batch-size", "0"], "--batch-size=0 must be >= 1"),
])
def test_bad_input_exits_non_zero_with_a_clear_message(best, folder_tree, tmp_path, capsys,
                                                       extra, message):
    code = main(["--checkpoint", best, "--folder", str(folder_tree), "--out",
                 str(tmp_path / "p.csv"), "--no-progress", *extra])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "p.csv").exists()


def test_an_existing_out_needs_overwrite(best, folder_tree, tmp_path, capsys):
    out = tmp_path / "p.csv"
    out.write_text("earlier predictions")
    args = ["--checkpoint", best, "--folder", str(folder_tree / "objects" / "tiny"), "--positive",
            "objects", "--out", str(out), "--no-progress"]
    assert main(args) == 2 and "pass --overwrite" in capsys.readouterr().err
    assert out.read_text() == "earlier predictions"
    assert main([*args, "--overwrite"]) == 0 and len(_read(out)) == 2


def test_missing_inputs_are_named(best, tmp_path, capsys):
    assert main(["--checkpoint", best, "--folder", str(tmp_path / "none"), "--positive", "objects",
                 "--out", str(tmp_path / "p.csv")]) == 2
    err = capsys.readouterr().err
    assert "--folder" in err and "does not exist" in err
    assert main(["--checkpoint", str(tmp_path), "--folder", str(tmp_path), "--positive", "x",
                 "--out", str(tmp_path / "p.csv")]) == 2
    assert "has no predictor.json" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:                    # two goals: argparse refuses
        main(["--checkpoint", best, "--folder", str(tmp_path), "--positive", "objects",
              "--out", str(tmp_path / "p.csv"), "--target-recall", "0.9", "--review-budget", "0.1"])
    assert exit_.value.code == 2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
def test_the_gpu_gives_the_cpus_decisions(best, folder_tree, tmp_path):
    for device in ("cpu", "cuda"):
        assert main(["--checkpoint", best, "--folder", str(folder_tree), "--positive", "objects",
                     "--out", str(tmp_path / f"{device}.csv"), "--device", device,
                     "--no-progress"]) == 0
    cpu, gpu = _read(tmp_path / "cpu.csv"), _read(tmp_path / "cuda.csv")
    assert [r["path"] for r in cpu] == [r["path"] for r in gpu]
    for a, b in zip(cpu, gpu):
        assert float(a["score"]) == pytest.approx(float(b["score"]), abs=1e-3)


def test_prior_corrects_the_scores_by_bayes_rule_and_keeps_the_decisions(best, folder_tree,
                                                                         tmp_path, capsys):
    """--prior 0.01: every score is Bayes' correction of the uncorrected one from the share of
    positives the model's labels had (balanced by sub-class: positive sub-classes / all); the
    correction is monotone and the thresholds follow it, so the decisions do not change."""
    import numpy as np

    from ssvae.metrics.prior_shift import correct_prior

    h = load_best(best).hierarchy
    trained = sum(s == h.superclass_names.index("objects") for s in h.sub_to_super) / h.n_sub
    plain, shifted = tmp_path / "plain.csv", tmp_path / "prior.csv"
    common = ["--checkpoint", best, "--folder", str(folder_tree), "--positive", "objects",
              "--no-progress"]
    assert main(common + ["--out", str(plain)]) == 0
    assert main(common + ["--out", str(shifted), "--prior", "0.01"]) == 0
    assert f"scores corrected to a share 0.01 of objects (the model's labels had {trained:g})" \
        in capsys.readouterr().out
    a, b = _read(plain), _read(shifted)
    score = np.array([float(r["score"]) for r in a])
    assert np.array([float(r["score"]) for r in b]) == pytest.approx(
        correct_prior(score, 0.01, trained), abs=2e-6)
    assert [r["decision"] for r in a] == [r["decision"] for r in b]


@pytest.mark.parametrize("prior", ["0", "1", "1.5"])
def test_a_bad_prior_is_named_before_the_model_loads(best, folder_tree, tmp_path, capsys, prior):
    assert main(["--checkpoint", best, "--folder", str(folder_tree), "--positive", "objects",
                 "--out", str(tmp_path / "p.csv"), "--prior", prior, "--no-progress"]) == 2
    assert f"--prior={float(prior)!r} must be a positive rate strictly between 0 and 1" \
        in capsys.readouterr().err
