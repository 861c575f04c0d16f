"""Safe checkpoint loading: a pickle that would run code is refused before it runs, old M1
checkpoints get a message saying how to convert them, and ``convert`` makes them safe."""
from __future__ import annotations

import pickle

import pytest
import torch

from ssvae.checkpoint import CheckpointError, load_state, safe_load, save_state
from ssvae.checkpoint.__main__ import convert, main
from ssvae.config import TrainConfig
from ssvae.models import build_model


class _RunsCode:
    """Unpickling this writes a file: the proof that a loader ran code from a checkpoint."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('ran')",))


def _malicious(path, marker):
    torch.save({"model": {"w": torch.zeros(2)}, "payload": _RunsCode(marker)}, path)
    return path


def test_a_malicious_pickle_is_refused_and_its_code_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = _malicious(tmp_path / "evil.pt", marker)
    with pytest.raises(CheckpointError, match="could run code.*python -m ssvae.checkpoint convert"):
        safe_load(path)
    (tmp_path / "last").mkdir()
    _malicious(tmp_path / "last" / "state.pt", marker)
    with pytest.raises(CheckpointError):
        load_state(tmp_path / "last")
    assert not marker.exists()
    # The same file through torch's unsafe load would have run it: the test can fail.
    torch.load(path, weights_only=False)
    assert marker.read_text() == "ran"


def test_m1m2_refuses_a_malicious_m1_checkpoint(tmp_path):
    marker = tmp_path / "pwned"
    path = _malicious(tmp_path / "m1.pt", marker)
    config = TrainConfig(dataset="digits", model="m1m2", hidden_dim=16, latent_dim=4,
                         model_options={"m1_checkpoint": str(path)})
    with pytest.raises(CheckpointError, match="could run code"):
        build_model(config, (1, 8, 8), 2)
    assert not marker.exists()


def test_save_state_writes_what_a_weights_only_load_reads(tmp_path):
    save_state(tmp_path / "last", model={"w": torch.ones(3)}, state={"inf": float("inf"),
                                                                     "history": [{"a": None}]})
    back = load_state(tmp_path / "last")
    assert torch.equal(back["model"]["w"], torch.ones(3)) and back["state"]["history"] == [{"a": None}]


def _old_m1_checkpoint(tmp_path, head_bytes: bytes):
    """An M1 state dict as ssvae wrote it before: the head pickled into a uint8 tensor."""
    config = TrainConfig(dataset="digits", model="m1", hidden_dim=16, latent_dim=4)
    net = build_model(config, (1, 8, 8), 2).eval()
    torch.manual_seed(0)
    x = torch.rand(12, 1, 8, 8)
    net.finish_stage(x, torch.arange(12) % 2)
    state = net.state_dict()
    state["_extra_state"] = torch.frombuffer(bytearray(head_bytes or pickle.dumps(net.head)),
                                             dtype=torch.uint8).clone()
    torch.save(state, tmp_path / "old.pt")
    return config, net, x


def test_an_old_m1_head_is_refused_with_how_to_convert_and_convert_makes_it_safe(tmp_path):
    config, net, x = _old_m1_checkpoint(tmp_path, b"")
    old = safe_load(tmp_path / "old.pt")          # a uint8 tensor passes weights_only ...
    fresh = build_model(config, (1, 8, 8), 2).eval()
    with pytest.raises(CheckpointError, match="ssvae.checkpoint convert OLD.pt NEW.pt"):
        fresh.load_state_dict(old)                # ... but is never unpickled
    assert main(["convert", str(tmp_path / "old.pt"), str(tmp_path / "new.pt")]) == 0
    fresh.load_state_dict(safe_load(tmp_path / "new.pt"))
    assert torch.equal(fresh.classify(x), net.classify(x))
    with pytest.raises(CheckpointError, match="exists"):
        convert(tmp_path / "old.pt", tmp_path / "new.pt")


def test_a_malicious_pickle_in_an_m1_head_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    config, _, _ = _old_m1_checkpoint(tmp_path, pickle.dumps(_RunsCode(marker)))
    fresh = build_model(config, (1, 8, 8), 2)
    with pytest.raises(CheckpointError):
        fresh.load_state_dict(safe_load(tmp_path / "old.pt"))
    assert not marker.exists()


def test_convert_errors_name_the_file(tmp_path, capsys):
    assert main(["convert", str(tmp_path / "missing.pt"), str(tmp_path / "new.pt")]) == 2
    assert "no checkpoint file at" in capsys.readouterr().err
