"""BatchSource: shapes, [0, 1] floats, seeded determinism, exact resume, labelled cycling."""
from __future__ import annotations

import pytest
import torch

from ssvae.data import BatchSource
from ssvae.models.base import Batch


def _images(n: int, start: int = 0) -> torch.Tensor:
    """uint8 [n, 1, 2, 2] whose first pixel is the image's id (mod 256)."""
    x = torch.zeros(n, 1, 2, 2, dtype=torch.uint8)
    x[:, 0, 0, 0] = (torch.arange(n) + start).to(torch.uint8)
    x[:, 0, 1, 1] = 255
    return x


def _ids(x: torch.Tensor) -> list[int]:
    return (x[:, 0, 0, 0] * 255).round().long().tolist()


def _source(n_lab: int = 10, n_unl: int | None = 95, batch: int = 20, lab_batch: int = 4,
            seed: int = 0) -> BatchSource:
    x_u = None if n_unl is None else _images(n_unl, start=100)
    return BatchSource(_images(n_lab), torch.arange(n_lab) % 3, x_u, batch, lab_batch, seed)


def test_shapes_and_values() -> None:
    src = _source()
    assert len(src) == 5                                          # ceil(95 / 20)
    batches = list(src.epoch(0))
    assert len(batches) == 5 and all(isinstance(b, Batch) for b in batches)
    b = batches[0]
    assert b.x_labelled.shape == (4, 1, 2, 2) and b.x_unlabelled.shape == (20, 1, 2, 2)
    assert b.x_labelled.dtype == torch.float32 and b.y_labelled.dtype == torch.int64
    assert float(b.x_unlabelled.max()) == 1.0 and float(b.x_unlabelled.min()) == 0.0
    assert batches[-1].x_unlabelled.shape[0] == 15                # the short last batch
    assert all(bt.x_labelled.shape[0] == 4 for bt in batches)     # labelled: always full


def test_each_unlabelled_once_labelled_cycled() -> None:
    batches = list(_source().epoch(3))
    unl = sum((_ids(b.x_unlabelled) for b in batches), [])
    assert sorted(unl) == list(range(100, 195))                   # one pass over unlabelled
    lab = sum((_ids(b.x_labelled) for b in batches), [])          # 5 steps x 4 = 2 passes
    assert sorted(lab[:10]) == list(range(10)) and sorted(lab[10:]) == list(range(10))
    assert lab[:10] != lab[10:]                                   # reshuffled each pass
    for b in batches:                                             # labels travel with images
        assert b.y_labelled.tolist() == [i % 3 for i in _ids(b.x_labelled)]


def test_deterministic_and_exact_resume() -> None:
    def run(src: BatchSource, e: int) -> list[list[int]]:
        return [_ids(b.x_labelled) + _ids(b.x_unlabelled) for b in src.epoch(e)]

    a = _source(seed=4)
    first = [run(a, e) for e in range(3)]
    b = _source(seed=4)
    assert run(b, 2) == first[2]                                  # resume at epoch 2
    assert first[0] != first[1]                                   # epochs differ
    assert run(_source(seed=5), 0) != first[0]                    # seeds differ
    torch.manual_seed(0)
    x = run(a, 1)
    torch.manual_seed(1)
    assert run(a, 1) == x                                         # global RNG does not matter


def test_fewer_labelled_than_batch() -> None:
    src = _source(n_lab=3, lab_batch=8)
    for b in src.epoch(0):
        assert sorted(_ids(b.x_labelled)) == [0, 1, 2]            # all of them, every step


def test_no_unlabelled_images() -> None:
    src = _source(n_lab=10, n_unl=None, lab_batch=4)
    assert len(src) == 3
    batches = list(src.epoch(0))
    assert [b.x_labelled.shape[0] for b in batches] == [4, 4, 2]
    assert all(b.x_unlabelled is None for b in batches)
    assert sorted(sum((_ids(b.x_labelled) for b in batches), [])) == list(range(10))
    empty = BatchSource(_images(5), torch.zeros(5, dtype=torch.int64),
                        torch.zeros(0, 1, 2, 2, dtype=torch.uint8), 8, 2, 0)
    assert len(empty) == 3 and next(iter(empty.epoch(0))).x_unlabelled is None


def test_no_labelled_images() -> None:
    src = BatchSource(_images(0), torch.zeros(0, dtype=torch.int64), _images(7), 4, 2, 0)
    batches = list(src.epoch(0))
    assert len(batches) == 2 and batches[0].x_labelled.shape == (0, 1, 2, 2)


@pytest.mark.parametrize("kwargs, match", [
    ({"batch_size": 0}, "batch_size=0 must be a positive integer"),
    ({"labelled_batch_size": -1}, "labelled_batch_size=-1"),
    ({"seed": -2}, "seed=-2"),
    ({"x_labelled": torch.zeros(10, 1, 2, 2)}, "x_labelled must be uint8"),
    ({"y_labelled": torch.zeros(9, dtype=torch.int64)}, r"y_labelled \(9,\) must be \[10\]"),
    ({"x_unlabelled": torch.zeros(5, 3, 2, 2, dtype=torch.uint8)}, "image shapes differ"),
])
def test_batch_source_errors(kwargs, match) -> None:
    args = dict(x_labelled=_images(10), y_labelled=torch.zeros(10, dtype=torch.int64),
                x_unlabelled=_images(5), batch_size=4, labelled_batch_size=2, seed=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        BatchSource(**args)


def test_on_real_split(digits, tmp_path) -> None:
    from ssvae.data import make_split

    s = make_split(digits, n_labels=50, cache_dir=tmp_path)
    src = BatchSource(digits.train_x[s.labelled_idx], digits.train_y[s.labelled_idx],
                      digits.train_x[s.unlabelled_idx], 128, 32, seed=0)
    assert len(src) == -(-len(s.unlabelled_idx) // 128)
    b = next(iter(src.epoch(0)))
    assert b.x_labelled.shape == (32, 1, 8, 8) and b.x_unlabelled.shape == (128, 1, 8, 8)


def test_labelled_only_epoch_has_at_least_min_steps_and_cycles_every_image():
    x = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 1, 2, 2).contiguous()
    y = torch.arange(10)
    source = BatchSource(x, y, None, batch_size=8, labelled_batch_size=4, seed=0, min_steps=7)
    batches = list(source.epoch(0))
    assert len(source) == len(batches) == 7
    assert all(b.x_unlabelled is None and b.x_labelled.shape[0] == 4 for b in batches)
    seen = torch.cat([b.y_labelled for b in batches])
    assert set(seen[:10].tolist()) == set(range(10))      # a full pass before any repeat
    short = BatchSource(x, y, None, batch_size=8, labelled_batch_size=4, seed=0, min_steps=1)
    assert len(short) == 3                                # one pass: ceil(10 / 4)
