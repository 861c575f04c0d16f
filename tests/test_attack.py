"""``python -m ssvae.attack`` on a digits run in a smoke setting: the rows, the noise and
other-data-set rows, the grid, and clear errors before any work."""
from __future__ import annotations

import csv
import re

import pytest

from ssvae.attack import COLUMNS, main


def _read(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_one_row_per_eps_with_the_asked_columns(digits_run, tmp_path, capsys):
    out, grid = tmp_path / "pgd.csv", tmp_path / "grid.png"
    code = main([str(digits_run("gmvae")), "--attack", "pgd", "--eps", "0.1", "0.3", "--steps",
                 "5", "--aware", "--n-images", "100", "--out", str(out), "--grid", str(grid)])
    assert code == 0, capsys.readouterr().err
    rows = _read(out)
    assert [r["eps"] for r in rows] == ["0.1", "0.3"] and tuple(rows[0]) == COLUMNS
    for row in rows:
        assert row["attack"] == "pgd" and row["aware"] == "True" and row["steps"] == "5"
        assert float(row["step_size"]) == pytest.approx(2.5 * float(row["eps"]) / 5)
        assert row["n_images"] == "100" and float(row["threshold"]) > 0
        for key in ("clean_acc", "adv_acc", "clean_subclass_acc", "adv_subclass_acc",
                    "clean_reject_rate", "adv_reject_rate", "fooled_accepted"):
            assert 0 <= float(row[key]) <= 1
        assert float(row["max_linf"]) <= float(row["eps"]) + 1e-6
    assert grid.stat().st_size > 0 and not (tmp_path / "pgd.csv.partial").exists()


def test_fgsm_on_the_supervised_baseline_with_a_named_target(digits_run, tmp_path):
    out = tmp_path / "fgsm.csv"
    assert main([str(digits_run("supervised") / "best"), "--attack", "fgsm", "--eps", "0.2",
                 "--target", "7", "--n-images", "0", "--out", str(out)]) == 0
    (row,) = _read(out)
    assert row["target"] == "7" and row["steps"] == "" and row["target_rate"] != ""
    assert int(row["n_images"]) < 359                   # all digits test images but the 7s


def test_uniform_noise_is_a_row_of_its_rejection_rate(digits_run, tmp_path):
    assert main([str(digits_run("gmvae")), "--attack", "noise", "--n-images", "200", "--out",
                 str(tmp_path / "noise.csv")]) == 0
    (row,) = _read(tmp_path / "noise.csv")
    assert row["attack"] == "noise" and row["n_images"] == "200"
    # more than the 5 % of clean images the threshold rejects (on 8x8 digits, far from all of it)
    assert float(row["adv_reject_rate"]) > 0.1


def test_another_data_sets_images_are_a_row_of_their_rejection_rate(digits_run, shared_data_root,
                                                                    tmp_path):
    assert main([str(digits_run("gmvae")), "--attack", "dataset", "--other-dataset", "fashion_mnist", "--data-root",
                 str(shared_data_root), "--n-images", "200",
                 "--out", str(tmp_path / "fashion.csv")]) == 0
    (row,) = _read(tmp_path / "fashion.csv")
    assert row["attack"] == "dataset:fashion_mnist" and 0 <= float(row["adv_reject_rate"]) <= 1


@pytest.mark.parametrize("argv, message", [
    (["--attack", "pgd"], "needs --eps"),
    (["--attack", "pgd", "--eps", "0"], r"eps=0.0 must be in \(0, 1\]"),
    (["--attack", "pgd", "--eps", "0.1", "--target", "cat"], "--target 'cat' is not one of"),
    (["--attack", "pgd", "--eps", "0.1", "--aware", "--clean-reject", "0"], "--clean-reject above 0"),
    (["--attack", "fgsm", "--eps", "0.1", "--clean-reject", "1"], "--clean-reject=1.0 must be in"),
    (["--attack", "fgsm", "--eps", "0.1", "--n-images", "-1"], "--n-images=-1 must be >= 0"),
    (["--attack", "dataset"], "needs --other-dataset"),
    (["--attack", "fgsm", "--eps", "0.1", "--grid", "/nonexistent/g.png"],
     "--grid /nonexistent/g.png: folder /nonexistent does not exist")])
def test_bad_input_exits_non_zero_with_a_clear_message(digits_run, tmp_path, capsys, argv, message):
    assert main([str(digits_run("m2"))] + argv + ["--out", str(tmp_path / "x.csv")]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "x.csv").exists()


def test_an_existing_out_needs_overwrite_and_a_missing_run_is_named(digits_run, tmp_path, capsys):
    out = tmp_path / "x.csv"
    out.write_text("keep")
    assert main([str(digits_run("m2")), "--attack", "fgsm", "--eps", "0.1", "--out", str(out)]) == 2
    assert "pass --overwrite" in capsys.readouterr().err and out.read_text() == "keep"
    assert main([str(tmp_path / "nope"), "--attack", "fgsm", "--eps", "0.1",
                 "--out", str(tmp_path / "y.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
