"""``tune/search.py``'s defaults: a study writes into the git-ignored ``runs/`` unless told."""
from __future__ import annotations

from pathlib import Path

from tune.search import build_parser, main


def test_default_results_dir_is_runs_and_results_dir_still_works(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert build_parser().parse_args([]).results_dir == "runs"
    assert main(["quickstart", "--dry-run"]) == 0
    assert f"results: {tmp_path / 'runs' / 'quickstart'}\n" in capsys.readouterr().out
    assert main(["quickstart", "--dry-run", "--results-dir", "elsewhere"]) == 0
    assert f"results: {tmp_path / 'elsewhere' / 'quickstart'}\n" in capsys.readouterr().out
    assert not (tmp_path / "runs").exists()          # a dry run writes nothing


def test_runs_folder_is_git_ignored():
    ignore = (Path(__file__).resolve().parents[2] / ".gitignore").read_text().splitlines()
    assert "/runs/" in ignore
