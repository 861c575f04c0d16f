"""Data-layer fixtures: data sets loaded once per test session."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from ssvae.data import DataWarning, ImageData, load_dataset


@pytest.fixture(scope="session")
def digits() -> ImageData:
    return load_dataset("digits")


@pytest.fixture(scope="session")
def mnist(shared_data_root: Path) -> ImageData:
    return load_dataset("mnist", root=shared_data_root)


@pytest.fixture(scope="session")
def folder_data(folder_tree: Path) -> ImageData:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return load_dataset("folder", root=folder_tree)
