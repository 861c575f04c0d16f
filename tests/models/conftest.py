"""Fixtures for the model tests: a hermetic torch hub folder, one CPU thread."""
from __future__ import annotations

import warnings

import pytest
import torch


@pytest.fixture(autouse=True)
def hermetic_torch_hub(tmp_path_factory, monkeypatch):
    """No test sees the user's torchvision cache: VGG16 weights are only what a test puts there."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch_home")))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)                  # tiny nets: one thread is fastest on a shared box
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No ImageNet VGG16 weights")
        yield
    torch.set_num_threads(threads)
