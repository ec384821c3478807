"""DataLoader over in-memory tensors: the one-op batch gather (values, types, memory, thread use)."""

from __future__ import annotations

import pickle
from multiprocessing.reduction import ForkingPickler

import numpy as np
import pytest
import torch
import torch.multiprocessing  # noqa: F401  (registers torch's sharing reductions with ForkingPickler)
from plies.loaders import DataLoader
from plies.typecore import TensorBase
from torch.overrides import TorchFunctionMode


class TensorImage(TensorBase):
    pass


class RecordArgs(TorchFunctionMode):
    """Records, for each torch function called, whether `watched` was one of its arguments."""

    def __init__(self, watched: torch.Tensor) -> None:
        super().__init__()
        self.watched, self.calls = watched, []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if any(a is self.watched for a in (*args, *kwargs.values())):
            self.calls.append(getattr(func, "__name__", str(func)))
        return func(*args, **kwargs)


def images(n: int, size: int = 8) -> torch.Tensor:
    """`n` images 3 x size x size whose every value is the row number (so a batch shows its rows)."""
    return torch.arange(n, dtype=torch.float32)[:, None, None, None].expand(n, 3, size, size).contiguous()


def test_batches_hold_the_rows_of_the_shuffled_order_in_every_column():
    x, y = images(50), torch.arange(50) * 10
    dl = DataLoader((x, y), bs=16, shuffle=True, seed=3)
    seen = []
    for xb, yb in dl:
        rows = xb[:, 0, 0, 0].long()
        assert xb.shape[1:] == (3, 8, 8) and xb.dtype == torch.float32 and yb.dtype == torch.int64
        assert torch.equal(xb, x[rows]) and torch.equal(yb, rows * 10)
        seen += rows.tolist()
    assert sorted(seen) == list(range(50)) and seen != list(range(50))
    assert [len(b[1]) for b in dl] == [16, 16, 16, 2]


def test_small_batches_are_copied_without_a_torch_op_on_the_source():
    """A batch-sized copy must not go through torch's indexing, whose intra-op thread pool stalls on a
    busy machine (8 ms for 64 rows of 3x32x32): the rows are taken by numpy on the calling thread."""
    x, y = images(200, size=32), torch.arange(200)
    dl = DataLoader((x, y), bs=64, shuffle=True, seed=0)
    with RecordArgs(x) as rec:
        xb, yb = dl.one_batch()
    assert rec.calls == [] and torch.equal(xb[:, 0, 0, 0].long(), yb)


def test_large_batches_use_torch_indexing():
    """Past 8 MiB per batch the copy is long enough for torch's parallel copy to pay off."""
    x = images(80, size=128)  # 64 rows of 3x128x128 float32: 12.6 MB
    dl = DataLoader(x, bs=64)
    with RecordArgs(x) as rec:
        xb = dl.one_batch()
    assert rec.calls and torch.equal(xb[:, 0, 0, 0], torch.arange(64.0))


def test_batches_do_not_share_memory_with_the_source():
    x = images(20)
    xb = DataLoader(x, bs=4).one_batch()
    xb.add_(100)
    assert torch.equal(x, images(20))


def test_semantic_type_and_metadata_of_a_column_are_kept():
    x = TensorImage(images(20), img_size=(8, 8))
    xb = DataLoader(x, bs=4).one_batch()
    assert type(xb) is TensorImage and xb.img_size == (8, 8)
    assert torch.equal(xb.as_subclass(torch.Tensor), images(20)[:4])
    xb.img_size = (1, 1)
    assert x.img_size == (8, 8)


@pytest.mark.parametrize(
    "column",
    [
        torch.arange(20).to(torch.bfloat16),  # no numpy dtype
        torch.arange(20.0).requires_grad_(),  # the batch keeps its autograd history
        torch.arange(20.0).flip(0),
        torch.arange(40.0).view(20, 2)[:, 1],  # a strided view
        np.arange(20.0),
        torch.tensor([True, False] * 10),
    ],
    ids=["bfloat16", "requires_grad", "plain", "strided_view", "numpy", "bool"],
)
def test_every_kind_of_column_gives_the_rows_of_the_order(column):
    dl = DataLoader(column, bs=8, shuffle=True, seed=1)
    order = torch.randperm(20, generator=torch.Generator().manual_seed(0))  # any order: compare by rows
    dl.get_idxs = lambda: order.tolist()
    batches = list(dl)
    expected = torch.as_tensor(column)[order]
    got = torch.cat(batches)
    assert got.dtype == expected.dtype and torch.equal(got.detach(), expected.detach())
    if isinstance(column, torch.Tensor) and column.requires_grad:
        assert batches[0].grad_fn is not None


def test_negative_and_out_of_range_positions():
    x = torch.arange(10)
    dl = DataLoader(x, bs=3, get_idxs=lambda: [-1, -2, 0])
    assert dl.one_batch().tolist() == [9, 8, 0]
    with pytest.raises(IndexError, match="10"):
        DataLoader(x, bs=3, get_idxs=lambda: [0, 10, 1]).one_batch()


def test_pickled_loader_gives_the_same_batches_and_shares_tensor_memory_with_workers():
    x, y = images(300, size=16), torch.arange(300)
    dl = DataLoader((x, y), bs=32, shuffle=True, seed=5)
    copy = pickle.loads(pickle.dumps(dl))
    for (xa, ya), (xb, yb) in zip(dl, copy, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    # what a spawned worker receives: torch shares the tensors; the loader must not add a copy of them
    assert len(ForkingPickler.dumps(dl)) < x.numel() * x.element_size() / 20
