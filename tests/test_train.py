"""python -m ssvae.train: end to end on digits, and its bad-input errors."""
import json
import os
import subprocess
import sys

import pytest

from ssvae.train import main

ARGS = ["--dataset", "digits", "--n-labels", "50", "--hidden-dim", "32", "--latent-dim", "8",
        "--batch-size", "64", "--epochs", "1", "--no-progress", "--threads", "1"]


@pytest.fixture(autouse=True)
def _splits(tmp_path, monkeypatch):
    monkeypatch.setenv("SSVAE_SPLIT_DIR", str(tmp_path / "splits"))


def test_command_runs_one_epoch_end_to_end(tmp_path):
    out = tmp_path / "m2"
    env = {**os.environ, "SSVAE_SPLIT_DIR": str(tmp_path / "splits")}
    done = subprocess.run([sys.executable, "-m", "ssvae.train", *ARGS, "--model", "m2",
                           "--label-mode", "subclass", "-O", "alpha=0.2", "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 <= metrics["test_binary_acc"] <= 1 and 0 <= metrics["test_subclass_acc"] <= 1
    assert json.loads(metrics["config_json"])["model_options"] == {"alpha": 0.2}
    assert (out / "samples.png").exists() and (out / "best" / "model.pt").exists()


def test_existing_out_needs_resume_or_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "something").write_text("x")
    assert main([*ARGS, "--model", "supervised", "--out", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main([*ARGS, "--model", "supervised", "--out", str(out), "--overwrite"]) == 0
    assert main([*ARGS, "--model", "supervised", "--out", str(out), "--resume"]) == 0


@pytest.mark.parametrize("extra, message", [
    (["--model", "m3"], "unknown model 'm3'"),
    (["--model", "m2", "--dataset", "mnistt"], "unknown data set 'mnistt'"),
    (["--model", "m2", "--label-mode", "both"], "label_mode='both'"),
    (["--model", "m2", "--n-labels", "55"], "55"),
    (["--model", "m2", "-O", "alpha"], "KEY=VALUE"),
    (["--model", "m2", "-O", "alhpa=0.1"], "alhpa"),
])
def test_bad_input_is_a_clear_error(tmp_path, capsys, extra, message):
    assert main([*ARGS, *extra, "--out", str(tmp_path / "x")]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere; permission test needs a user")
def test_unwritable_out_is_reported(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert main([*ARGS, "--model", "m2", "--out", str(locked / "run")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_out_that_is_a_file_is_reported(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main([*ARGS, "--model", "m2", "--out", str(blocker / "run")]) == 2
    assert "cannot write to output folder" in capsys.readouterr().err


def test_log_epochs_prints_one_line_per_epoch(tmp_path, capsys):
    out = tmp_path / "m1"
    assert main([*ARGS, "--epochs", "2", "--model", "m1", "--out", str(out), "--log-epochs"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("epoch")]
    assert len(lines) == 2                                   # two epochs of M1's VAE stage
    assert "[vae]" in lines[0] and "val_loss" in lines[0] and "val_subclass_acc" not in lines[0]
    assert "lr 0.001 " in lines[0]
    assert lines[1].startswith("epoch    2")


def test_flush_denormal_is_a_switch():
    from ssvae.train import build_parser
    parser = build_parser()
    assert parser.parse_args(["--out", "x"]).flush_denormal is True
    assert parser.parse_args(["--out", "x", "--no-flush-denormal"]).flush_denormal is False


def test_goal_flags_set_the_thresholds_metrics_json_records(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*ARGS, "--model", "supervised", "--out", str(out),
                 "--target-precision", "0.6"]) == 0
    recorded = json.loads((out / "metrics.json").read_text())["thresholds"]
    assert recorded["goal"] == {"target_precision": 0.6, "reject_fraction": 0.01}
    assert recorded["rejection"] == "entropy"
    for name in ("low", "high"):
        t = recorded["by_positive"][name]
        assert "error" in t or t["validation"]["precision"] >= 0.6
    assert main([*ARGS, "--model", "supervised", "--out", str(tmp_path / "bad"),
                 "--review-budget", "1.5"]) == 2
    assert "review_budget=1.5 must be a number in [0, 1)" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()                     # refused before any work


def test_help_names_every_flag_default_or_choices():
    """--help is generated from TrainConfig's field comments: every field has one, every help
    text names its default or choices, and a required flag shows no default."""
    from ssvae.config import TrainConfig, field_docs
    from ssvae.train import build_parser

    docs = field_docs(TrainConfig)
    assert not [name for name, doc in docs.items() if not doc], "fields without a comment"
    actions = {a.dest: a for a in build_parser()._actions if a.dest != "help"}
    for dest, action in actions.items():
        assert action.help and ("default:" in action.help or "required" in action.help), dest
    assert "required" in actions["out"].help and "default" not in actions["out"].help
    assert actions["model"].metavar == "{gmvae,m1,m1m2,m2,supervised,vgg16}"
    assert "(default: m2)" in actions["model"].help
    assert actions["label_mode"].help.startswith(docs["label_mode"])
    assert "(default: subclass)" in actions["label_mode"].help
    assert "one of error, scratch" not in actions["vgg16_missing"].help   # its comment says so
    assert "(default: on)" in actions["flush_denormal"].help


def test_help_prints(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "--label-mode {binary,subclass}" in text and "(default: None)" not in text


@pytest.mark.parametrize("model", ["m1", "m2", "m1m2", "gmvae", "supervised", "vgg16"])
def test_list_options_lists_every_option_with_its_comment(model, capsys):
    import dataclasses

    from ssvae.models import MODELS

    assert main(["--model", model, "--list-options"]) == 0        # no --out needed
    lines = capsys.readouterr().out.splitlines()
    names = [f.name for f in dataclasses.fields(MODELS.get(model).options_cls)]
    assert lines[0].startswith(f"model options of {model!r} (-O KEY=VALUE;")
    assert [line.split("=")[0].strip() for line in lines[1:]] == names
    assert not [line for line in lines if "(no comment)" in line]
    if model == "m2":
        assert "  alpha=0.1 (float): the paper's α / N (α = 0.1·N)" in lines


def test_list_options_of_an_unknown_model_and_missing_out_are_errors(capsys):
    assert main(["--model", "m3", "--list-options"]) == 2
    assert "unknown model 'm3'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["--model", "m2"])
    assert exit_.value.code == 2
    assert "required: --out" in capsys.readouterr().err
