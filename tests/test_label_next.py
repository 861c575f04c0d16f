"""``python -m ssvae.label_next``: the ranking, the folder layout, and reading the labels back
with the folder data set (the round trip a user makes)."""
from __future__ import annotations

import csv
import shutil
import warnings

import numpy as np
import pytest

from ssvae.active import acquisition_scores
from ssvae.deploy.bundle import load_best
from ssvae.config import TrainConfig
from ssvae.data.folder import load_folder
from ssvae.data.images import decode_image
from ssvae.label_next import main
from ssvae.training.loop import fit


@pytest.fixture(scope="module")
def checkpoints(folder_tree, tmp_path_factory) -> list[str]:
    """Two tiny supervised models (training seeds 0 and 1) on the generated tree's sub-classes."""
    out = tmp_path_factory.mktemp("label_next_runs")
    mp = pytest.MonkeyPatch()
    mp.setenv("SSVAE_SPLIT_DIR", str(out / "splits"))
    paths = []
    for seed in (0, 1):
        config = TrainConfig(dataset="folder", data_root=str(folder_tree), image_size=16,
                             channels=3, model="supervised", label_mode="subclass", n_labels=5,
                             hidden_dim=16, epochs=1, progress=False, threads=1, seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")              # the tree's unreadable files
            fit(config, out_dir=str(out / f"run{seed}"))
        paths.append(str(out / f"run{seed}" / "best"))
    mp.undo()
    return paths


def _ranking(out):
    with open(out / "ranking.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_one_checkpoint_ranks_by_entropy_and_writes_the_layout(checkpoints, folder_tree,
                                                                tmp_path, capsys):
    out = tmp_path / "next"
    pool = folder_tree / "unlabelled"
    assert main(["--checkpoint", checkpoints[0], "--folder", str(pool), "--n", "3",
                 "--out", str(out), "--device", "cpu"]) == 0
    console = capsys.readouterr().out
    assert "ranked 7 image(s) by entropy over 1 model(s)" in console
    assert "1 unreadable file(s)" in console                          # unlabelled/bad.png
    rows = _ranking(out)
    assert [int(r["rank"]) for r in rows] == list(range(1, 8))
    assert "disagreement" not in rows[0]                              # always 0 for one model
    # the entropy column is q(y|x)'s entropy, recomputed here from the model itself
    predictor = load_best(checkpoints[0])
    import torch

    for r in rows:
        x = torch.from_numpy(decode_image(pool / r["path"], 16, 3))[None].float() / 255
        p = predictor.model.classify(x).detach().numpy()
        assert float(r["entropy"]) == pytest.approx(acquisition_scores([p])["entropy"][0],
                                                    rel=1e-4)
    entropy = [float(r["entropy"]) for r in rows]
    assert entropy == sorted(entropy, reverse=True)
    copies = sorted(p.name for p in (out / "unlabelled").iterdir())
    assert [r["to_label"] for r in rows[:3]] == [f"unlabelled/{c}" for c in copies]
    assert all(r["to_label"] == "" for r in rows[3:])
    assert copies[0].startswith("00001__") and (out / "HOW_TO_LABEL.txt").is_file()
    for sup, sub in (("animals", "cats"), ("animals", "dogs"), ("objects", "cats"),
                     ("objects", "flags"), ("objects", "tiny")):
        assert (out / sup / sub).is_dir() and not any((out / sup / sub).iterdir())
    assert rows[0]["guess_subclass"] in predictor.hierarchy.subclass_names


def test_the_filled_layout_reads_back_as_folder_data(checkpoints, folder_tree, tmp_path):
    """The user moves images into class folders and removes the empty ones: the folder data set
    reads the moved images as labelled, the rest as unlabelled."""
    out = tmp_path / "next"
    assert main(["--checkpoint", checkpoints[0], "--checkpoint", checkpoints[1], "--folder",
                 str(folder_tree / "unlabelled"), "--n", "4", "--out", str(out)]) == 0
    rows = _ranking(out)
    assert "disagreement" in rows[0]
    score = [float(r["disagreement"]) for r in rows]
    assert score == sorted(score, reverse=True)
    to_label = [out / r["to_label"] for r in rows[:4]]
    shutil.move(to_label[0], out / "animals" / "dogs" / to_label[0].name)
    shutil.move(to_label[1], out / "objects" / "flags" / to_label[1].name)
    shutil.move(to_label[2], out / "objects" / "flags" / to_label[2].name)
    for sup, sub in (("animals", "cats"), ("objects", "cats"), ("objects", "tiny")):
        (out / sup / sub).rmdir()
    data = load_folder(out, image_size=16, channels=3, test_fraction=0.0, val_fraction=0.0)
    labels = dict(zip(data.train_files, data.train_y.tolist()))
    names = data.subclass_names
    assert {f: names[y] for f, y in labels.items()} == {
        f"animals/dogs/{to_label[0].name}": "dogs",
        f"objects/flags/{to_label[1].name}": "flags",
        f"objects/flags/{to_label[2].name}": "flags"}
    assert data.unlabelled_files == (f"unlabelled/{to_label[3].name}",)
    assert data.hierarchy().superclass_names == ("animals", "objects")


def test_errors_are_named_before_any_model_loads(checkpoints, folder_tree, tmp_path, capsys):
    pool = str(folder_tree / "unlabelled")
    cases = [({"--n": "0"}, "--n=0 must be >= 1"),
             ({"--rank-by": "disagreement"}, "--rank-by disagreement needs two --checkpoint"),
             ({"--folder": str(tmp_path / "nope")}, "does not exist or is not a folder")]
    for change, message in cases:
        args = {"--checkpoint": checkpoints[0], "--folder": pool, "--n": "2",
                "--out": str(tmp_path / "o"), **change}
        assert main([a for pair in args.items() for a in pair]) == 2
        assert message in capsys.readouterr().err
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x.txt").write_text("mine")
    assert main(["--checkpoint", checkpoints[0], "--folder", pool, "--n", "2",
                 "--out", str(busy)]) == 2
    assert "is not an empty folder" in capsys.readouterr().err
    assert main(["--checkpoint", str(tmp_path), "--folder", pool, "--n", "2",
                 "--out", str(tmp_path / "o2")]) == 2
    assert "has no predictor.json" in capsys.readouterr().err


def test_on_superclasses_scores_the_super_class_decision(checkpoints, folder_tree, tmp_path):
    out = tmp_path / "next"
    assert main(["--checkpoint", checkpoints[0], "--folder", str(folder_tree / "unlabelled"),
                 "--n", "2", "--out", str(out), "--on", "superclasses"]) == 0
    rows = _ranking(out)
    assert "guess_subclass" not in rows[0]
    assert all(float(r["entropy"]) <= np.log(2) + 1e-6 for r in rows)     # two super-classes
