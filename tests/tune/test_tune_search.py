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


def test_local_ray_gets_token_auth_explicitly_a_cluster_keeps_its_mode():
    from tune.search import quiet_local_token_auth

    local: dict[str, str] = {}
    quiet_local_token_auth(local)
    assert local == {"RAY_AUTH_MODE": "token"}          # Ray's default, said out loud: no warning
    chosen = {"RAY_AUTH_MODE": "disabled"}
    quiet_local_token_auth(chosen)
    assert chosen == {"RAY_AUTH_MODE": "disabled"}      # the user's choice stands
    cluster = {"RAY_ADDRESS": "head:6379"}
    quiet_local_token_auth(cluster)
    assert cluster == {"RAY_ADDRESS": "head:6379"}      # must match the head's: not ours to set


def test_unwritable_results_dir_is_a_clear_error_before_ray_starts(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["quickstart", "--smoke", "--results-dir", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert f"cannot write the study folder {blocker / 'quickstart-smoke'}" in err
    assert "--results-dir" in err
