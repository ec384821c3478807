"""fastai's documented examples (data.load, data.core, data.transforms, data.block) run on plies.loaders.

Each test reproduces an example of fastai's documentation with the same inputs and checks the
values fastai shows, so users can migrate code written from those docs. Where plies deliberately
differs, the test checks plies' behaviour and the README's "Differences from fastai" says why.
"""

from __future__ import annotations

import pickle
import random
import string
from operator import attrgetter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from plies.loaders import (
    Categorize,
    CategoryBlock,
    CategoryMap,
    ColReader,
    ColSplitter,
    DataBlock,
    DataLoader,
    DataLoaders,
    Datasets,
    EncodedMultiCategorize,
    EndSplitter,
    FileGetter,
    FileSplitter,
    FuncSplitter,
    GrandparentSplitter,
    ImageGetter,
    IndexSplitter,
    IntToFloatTensor,
    MaskSplitter,
    MultiCategorize,
    MultiCategoryBlock,
    Normalize,
    OneHotEncode,
    RandomSplitter,
    RegexLabeller,
    RegressionBlock,
    RegressionSetup,
    TfmdDL,
    TfmdLists,
    ToTensor,
    TrainTestSplitter,
    TransformBlock,
    broadcast_vec,
    fa_collate,
    fa_convert,
    get_files,
    get_image_files,
    parent_label,
    show_at,
    show_title,
    test_set,
)
from plies.pipes import Pipeline, Transform
from plies.typecore import L, TensorBase, TensorCategory, TensorMultiCategory, first, noop, to_device
from torch.utils.data import IterableDataset
from torch.utils.data.dataloader import default_collate, default_convert

MNIST = Path(__file__).parent / "data" / "mnist_tiny"
letters = list(string.ascii_lowercase)


# ---- small stand-ins for fastcore/fastai types the docs use ------------------------------------
class TitledInt(int):
    """fastcore's TitledInt: an int that shows itself (printed without a ctx, as fastai does)."""

    def show(self, ctx=None, **kwargs):
        return show_title(str(self), ctx=ctx, **kwargs)


class TitledFloat(float):
    def show(self, ctx=None, **kwargs):
        return show_title(str(self), ctx=ctx, **kwargs)


class TitledStr(str):
    def show(self, ctx=None, **kwargs):
        return show_title(str(self), ctx=ctx, **kwargs)


class TensorImage(TensorBase):
    """Stand-in for fastai.vision's TensorImage (vision types are not in plies.loaders)."""


def stop():
    raise StopIteration()


# =================================================================================================
# data.load
# =================================================================================================
def test_fa_collate_and_fa_convert_match_torch_and_keep_tuples():
    t = [(1, (2, 3)), (1, (2, 3))]
    res = fa_collate(t)
    assert [type(o) for o in res] == [torch.Tensor, tuple]
    assert torch.equal(res[0], default_collate(t)[0]) and [o.tolist() for o in res[1]] == [[2, 2], [3, 3]]
    t = [(1, (2, (3, 4))), (1, (2, (3, 4)))]
    res = fa_collate(t)
    assert [type(o) for o in res] == [torch.Tensor, tuple] and [type(o) for o in res[1]] == [torch.Tensor, tuple]
    t0 = np.array([1, 2])
    t = [t0, (t0, t0)]
    conv = fa_convert(t)
    assert [type(o) for o in conv] == [torch.Tensor, tuple]
    assert torch.equal(conv[0], default_convert(t)[0])


class RandDL(DataLoader):
    """The docs' stream of random length: `create_item` ends it by raising StopIteration."""

    def create_item(self, s):
        r = random.random()
        return r if r < 0.95 else stop()


def test_randdl_stream_of_unknown_length():
    random.seed(0)
    items = L(RandDL())
    assert len(items) > 0 and all(isinstance(o, float) and o < 0.95 for o in items)  # bs=None: items
    lens = L(RandDL(bs=4, drop_last=True)).map(len)
    assert all(n == 4 for n in lens)
    batches = L(RandDL(bs=4))
    assert all(len(b) == 4 for b in batches[:-1]) and 1 <= len(batches[-1]) <= 4 if batches else True


@pytest.mark.slow
def test_randdl_with_workers():
    dl = RandDL(bs=4, num_workers=2, drop_last=True)
    assert all(n == 4 for n in L(dl).map(len))


def test_create_item_as_a_keyword():
    def _rand_item(s):
        r = random.random()
        return r if r < 0.95 else stop()

    random.seed(1)
    res = L(DataLoader(create_item=_rand_item))
    assert len(res) > 0 and all(o < 0.95 for o in res)


def test_without_bs_items_come_one_by_one():
    ds1 = DataLoader(letters)
    assert L(ds1) == letters and len(ds1) == 26
    shuffled = L(DataLoader(letters, shuffle=True, seed=0))
    assert shuffled != letters and sorted(shuffled) == letters
    ds1 = DataLoader(letters, indexed=False)
    assert L(ds1) == letters and len(ds1) == 26
    t2 = L(torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5]))
    ds2 = DataLoader(t2)
    assert [o.tolist() for o in L(ds2)] == [[0, 1, 2], [3, 4, 5]]
    t3 = L(np.array([0, 1, 2], dtype=np.int64), np.array([3, 4, 5], dtype=np.int64))
    res = L(DataLoader(t3))
    assert all(type(o) is torch.Tensor for o in res) and [o.tolist() for o in res] == [[0, 1, 2], [3, 4, 5]]


def test_create_batch_and_after_iter_as_keywords():
    t3 = L(np.array([0, 1, 2], dtype=np.int64), np.array([3, 4, 5], dtype=np.int64))
    ds4 = DataLoader(t3, create_batch=noop, after_iter=lambda: setattr(t3, "f", 1))
    res = L(ds4)
    assert all(type(o) is np.ndarray for o in res) and t3.f == 1


def twoepochs(d):
    return " ".join("".join(list(o)) for _ in range(2) for o in d)


def test_letters_in_batches_over_two_epochs():
    ds1 = DataLoader(letters, bs=4, drop_last=True, num_workers=0)
    assert twoepochs(ds1) == "abcd efgh ijkl mnop qrst uvwx abcd efgh ijkl mnop qrst uvwx"


@pytest.mark.slow
def test_letters_in_batches_with_workers():
    ds1 = DataLoader(letters, 4, num_workers=2)
    assert twoepochs(ds1) == "abcd efgh ijkl mnop qrst uvwx yz abcd efgh ijkl mnop qrst uvwx yz"
    ds1 = DataLoader(range(12), bs=4, num_workers=2)
    assert [b.tolist() for b in L(ds1)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    it = iter(DataLoader(map(noop, range(20)), bs=4, num_workers=1))
    assert [next(it).tolist() for _ in range(3)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]


def test_string_batches_stay_lists_and_after_iter_runs():
    t3 = L()
    ds1 = DataLoader([str(i) for i in range(11)], bs=4, after_iter=lambda: setattr(t3, "f", 2))
    assert L(ds1) == [["0", "1", "2", "3"], ["4", "5", "6", "7"], ["8", "9", "10"]]
    assert t3.f == 2
    it = iter(DataLoader(map(noop, range(20)), bs=4))
    assert [next(it).tolist() for _ in range(3)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]


class DummyIterableDataset(IterableDataset):
    def __iter__(self):
        yield from range(11)


def test_iterable_dataset_several_passes_and_drop_last():
    ds1 = DataLoader(DummyIterableDataset(), bs=4)
    for _ in range(3):
        assert [b.tolist() for b in L(ds1)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]
    ds1 = DataLoader(DummyIterableDataset(), bs=4, drop_last=True)
    for _ in range(3):
        assert [b.tolist() for b in L(ds1)] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_shuffle_reshuffles_each_epoch():
    dl = DataLoader(letters, shuffle=True, seed=3)
    a, b = L(dl), L(dl)
    assert sorted(a) == letters and sorted(b) == letters and a != letters and a != b
    res = list(DataLoader(list(range(50)), bs=32, shuffle=True, seed=0))
    assert [len(x) for x in res] == [32, 18] and sorted(torch.cat(res).tolist()) == list(range(50))


class A(TensorBase):
    pass


@pytest.mark.parametrize("nw", [0, pytest.param(2, marks=pytest.mark.slow)])
def test_batches_keep_the_items_tensor_subclass(nw):
    t = A(torch.tensor([1, 2]))
    b = first(DataLoader([t] * 8, bs=4, num_workers=nw))
    assert type(b) is A and b.shape == (4, 2)
    t2 = (A(torch.tensor([1, 2])),)
    b = first(DataLoader([t2] * 8, bs=4, num_workers=nw))
    assert type(b[0]) is A


def test_after_batch_function_keeps_the_type():
    t = A(torch.tensor([1, 2]))
    b = first(DataLoader([t] * 8, bs=4, after_batch=to_device))
    assert type(b) is A


def test_after_item_and_after_batch_functions_and_bs_none():
    dl = DataLoader(list(range(8)), bs=4, after_item=lambda o: o * 10, after_batch=lambda b: b + 1)
    assert [b.tolist() for b in dl] == [[1, 11, 21, 31], [41, 51, 61, 71]]
    pre = [torch.arange(3), torch.arange(3, 6)]  # a source of ready batches
    dl = DataLoader(pre, bs=None, after_batch=lambda b: b * 2)
    assert [b.tolist() for b in dl] == [[0, 2, 4], [6, 8, 10]] and len(dl) == 2
    assert dl.one_batch().tolist() == [0, 2, 4]


def test_do_item_create_batch_and_one_batch():
    dl = DataLoader(list(range(26)), bs=4)
    assert dl.do_item(3) == 3 and dl.create_item(5) == 5
    assert dl.create_batch([1, 2, 3]).tolist() == [1, 2, 3]
    assert dl.one_batch().tolist() == [0, 1, 2, 3] and len(dl) == 7 and dl.n == 26 and dl.bs == 4
    dl = DataLoader("abcdefghijklmnopqrstuvwxyz", bs=4)
    assert "".join(first(dl)) == "abcd" and L(dl).map(len) == [4] * 6 + [2]


def test_before_iter_after_iter_subclass_hooks():
    events = []

    class HookDL(DataLoader):
        def before_iter(self):
            events.append("before_iter")

        def after_iter(self):
            events.append("after_iter")

    list(HookDL(list(range(6)), bs=3))
    assert events == ["before_iter", "after_iter"]


def test_unknown_keyword_is_an_error():
    with pytest.raises(TypeError, match="shufle"):
        DataLoader(letters, shufle=True)
