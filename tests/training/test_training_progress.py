"""fit()'s progress bars (ssvae/training/progress.py) on digits: steps within the epoch, images/s and
named metrics; and which metric selects the model."""
import re

import pytest

from ssvae.config import TrainConfig
from ssvae.models.base import Stage
from ssvae.training.progress import selection_name
from ssvae.training.loop import fit


@pytest.fixture(autouse=True)
def _splits(tmp_path, monkeypatch):
    monkeypatch.setenv("SSVAE_SPLIT_DIR", str(tmp_path / "splits"))


def _fit(capsys, **changes) -> str:
    config = TrainConfig(**{**dict(dataset="digits", n_labels=50, hidden_dim=32, latent_dim=8,
                                   epochs=2, batch_size=64, labelled_batch_size=16, threads=1),
                            **changes})
    fit(config)
    return capsys.readouterr().err.replace("\r", "\n")


def test_bar_shows_steps_images_per_second_and_named_metrics(capsys, monkeypatch):
    monkeypatch.setattr("ssvae.training.progress.REFRESH_S", 0.0)     # digits' epochs last under 1 s
    err = _fit(capsys, model="m2", label_mode="binary")
    assert "  epoch 1 steps:" in err and "  epoch 2 steps:" in err
    done = re.findall(r"epoch 2 steps: 100%\|[^|]*\| (\d+)/(\d+) \[.*step/s, ([\d,]+) images/s", err)
    assert done and done[-1][0] == done[-1][1] and int(done[-1][0]) > 1, err
    assert int(done[-1][2].replace(",", "")) > 0
    final = [line for line in err.splitlines() if line.startswith("m2/main epochs: 100%")][-1]
    for name in ("train_loss=", "val_loss=", "val_binary_acc=", "best val_binary_acc="):
        assert name in final, final
    assert "sel=" not in err and "val_subclass_acc=" not in final


def test_no_progress_prints_nothing(capsys):
    assert _fit(capsys, model="supervised", progress=False) == ""


def test_a_loss_stage_names_its_loss_as_the_selection_metric(capsys):
    err = _fit(capsys, model="m1", epochs=1)
    vae = [line for line in err.splitlines() if line.startswith("m1/vae epochs: 100%")]
    assert vae and "best val_loss=" in vae[-1]


@pytest.mark.parametrize("stage, binary, select_on, expected", [
    (Stage("main"), True, "trained", "val_binary_acc"),
    (Stage("main"), False, "trained", "val_subclass_acc"),
    (Stage("main"), False, "binary", "val_binary_acc"),
    (Stage("vae", select_on="val_loss"), False, "trained", "val_loss"),
])
def test_selection_name(stage, binary, select_on, expected):
    assert selection_name(stage, binary, select_on) == expected
