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
    AttrGetter,
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
    ItemGetter,
    MaskSplitter,
    MultiCategorize,
    MultiCategoryBlock,
    Normalize,
    OneHotEncode,
    RandomSplitter,
    RandomSubsetSplitter,
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
from plies.typecore import (
    L,
    TensorBase,
    TensorCategory,
    TensorImage,
    TensorMask,
    TensorMultiCategory,
    first,
    noop,
    to_device,
)
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
    assert [type(o) for o in res] == [torch.Tensor, tuple] and [type(o) for o in res[1]] == [
        torch.Tensor,
        tuple,
    ]
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


def test_get_idxs_and_shuffle_fn_replaced_and_prebatched():
    dl = DataLoader(list(range(10)), bs=3, get_idxs=lambda: [9, 8, 7, 6])
    assert [b.tolist() for b in dl] == [[9, 8, 7], [6]]
    dl = DataLoader(list(range(6)), bs=2, shuffle=True, shuffle_fn=lambda idxs: list(reversed(idxs)))
    assert [b.tolist() for b in dl] == [[5, 4], [3, 2], [1, 0]]
    assert DataLoader(letters).prebatched and not DataLoader(letters, bs=4).prebatched


def test_no_dataset_n_and_create_item_and_new():
    assert L(DataLoader(n=5, create_item=lambda s: s * 2)) == [0, 2, 4, 6, 8]
    assert [b.tolist() for b in DataLoader(n=5, create_item=lambda s: s * 2, bs=2)] == [[0, 2], [4, 6], [8]]
    dl = DataLoader(list(range(10)), bs=4)
    dl8 = dl.new(bs=8)
    assert len(dl8) == 2 and dl8.one_batch().tolist() == list(range(8)) and dl.bs == 4


def test_unknown_keyword_is_an_error():
    with pytest.raises(TypeError, match="shufle"):
        DataLoader(letters, shufle=True)


# =================================================================================================
# data.core: TfmdDL, DataLoaders
# =================================================================================================
class NegTfm(Transform):
    def encodes(self, x):
        return torch.neg(x)

    def decodes(self, x):
        return torch.neg(x)


class ShowIntTfm(Transform):
    """The docs' `A`: identity, decoding to a TitledInt (which can show itself)."""

    def encodes(self, x):
        return x

    def decodes(self, x):
        return TitledInt(x)


def test_tfmddl_retains_types_and_decodes():
    tdl = TfmdDL([(TensorImage([1]),)] * 4, after_batch=NegTfm(), bs=4)
    b = tdl.one_batch()
    assert type(b[0]) is TensorImage and b[0].tolist() == [[-1]] * 4
    b = (torch.tensor([1.0, 1.0, 1.0, 1.0]),)
    assert type(tdl.decode_batch(b)[0][0]) is TensorImage


def test_tfmddl_with_function_after_item_and_show_batch(capsys):
    start = torch.arange(50)
    tdl = TfmdDL(start, after_item=ShowIntTfm(), after_batch=NegTfm(), bs=4)
    assert tdl.dataset[0] == start[0] and len(tdl) == (50 - 1) // 4 + 1 and tdl.bs == 4
    x = tdl.one_batch()
    assert x.tolist() == [0, -1, -2, -3]
    tdl.show_batch()
    assert capsys.readouterr().out == "0\n1\n2\n3\n"
    tdl.show_batch(unique=True)
    assert capsys.readouterr().out == "0\n0\n0\n0\n"
    assert tdl.one_batch().tolist() == [0, -1, -2, -3]  # get_idxs is back
    tdl = TfmdDL(start, after_item=lambda x: (x, x * 2), bs=4)
    x, y = tdl.one_batch()
    assert x.tolist() == [0, 1, 2, 3] and y.tolist() == [0, 2, 4, 6]


def test_dataloaders_train_valid_one_batch():
    tdl = TfmdDL(torch.arange(50), after_item=ShowIntTfm(), after_batch=NegTfm(), bs=4)
    dls = DataLoaders(tdl, tdl)
    x = dls.train.one_batch()
    assert torch.equal(x, first(tdl)) and torch.equal(x, dls.one_batch())
    assert dls.valid is tdl and dls[0] is tdl


def test_dataloaders_add_tfms_by_name_or_index():
    class OnesTfm(Transform):
        def encodes(self, o):
            return torch.ones_like(o)

    start = torch.arange(50)
    dls2 = DataLoaders(TfmdDL(start, bs=4), TfmdDL(start, bs=4))
    dls2.add_tfms([OnesTfm()], "after_batch", ["valid"])
    dls2.add_tfms([OnesTfm()], "after_batch", [1])
    assert len(dls2.train.after_batch) == 0 and len(dls2.valid.after_batch) == 2
    assert dls2.valid.one_batch().tolist() == [1, 1, 1, 1] and dls2.train.one_batch().tolist() == [0, 1, 2, 3]


# =================================================================================================
# data.core: TfmdLists
# =================================================================================================
class IntFloatTfm(Transform):
    def encodes(self, o):
        return TitledInt(o)

    def decodes(self, o):
        return TitledFloat(o)


def _neg(o):
    return -o


int2f_tfm = IntFloatTfm()
neg_tfm = Transform(_neg, _neg)


def test_tfmdlists_basics(capsys):
    items = L([1.0, 2.0, 3.0])
    tfms = [neg_tfm, int2f_tfm]
    tl = TfmdLists(items, tfms=tfms)
    assert tl[0] == -1 and type(tl[0]) is TitledInt and tl[1] == -2
    dec = tl.decode(tl[2])
    assert dec == 3.0 and type(dec) is TitledFloat
    show_at(tl, 2)
    assert capsys.readouterr().out == "-3\n"
    assert tl.types == [float, float, TitledInt]


def test_tfmdlists_splits():
    items = L([1.0, 2.0, 3.0])
    splits = [[0, 2], [1]]
    tl = TfmdLists(items, tfms=[neg_tfm, int2f_tfm], splits=splits)
    assert tl.n_subsets == 2
    assert list(tl.train) == list(tl.subset(0)) == [-1, -3] and list(tl.valid) == list(tl.subset(1)) == [-2]
    assert list(tl.train.items) == [1.0, 3.0] and list(tl.valid.items) == [2.0]
    assert tl.train.tfms.split_idx == 0 and tl.valid.tfms.split_idx == 1
    assert tl.train.new_empty().split_idx == 0 and tl.valid.new_empty().split_idx == 1
    assert len(tl.train.new_empty()) == 0
    assert tl.splits == L(L(0, 2), L(1)) and not tl.overlapping_splits()
    assert TfmdLists(items, None, splits=[[0, 1], [1, 2]]).overlapping_splits() == [1]
    new = tl.new([5.0, 6.0], split_idx=1)
    assert list(new) == [-5, -6] and new.split_idx == 1


def test_tfmdlists_over_a_dataframe():
    df = pd.DataFrame(dict(a=[1, 2, 3], b=[2, 3, 4]))
    tl = TfmdLists(df, lambda o: o.a + 1, splits=[[0], [1, 2]])
    assert list(tl[1, 2]) == [3, 4]
    assert list(tl.subset(0)[:]) == [2] and list(tl.subset(1)[:]) == [3, 4]


class MeanTfm(Transform):
    """The docs' `_B`: setups learns the mean of the (training) items."""

    def __init__(self):
        super().__init__()
        self.m = 0

    def encodes(self, o):
        return o + self.m

    def decodes(self, o):
        return o - self.m

    def setups(self, items):
        self.m = torch.tensor(list(items)).float().mean().item()


def test_tfmdlists_setup_and_attribute_access():
    tl = TfmdLists(L([1.0, 2.0, 3.0]), MeanTfm())
    assert tl.m == 2 and tl.mean_tfm.m == 2 and tl[0] == 3.0
    tl = TfmdLists(L([1.0, 2.0, 3.0, 10.0]), MeanTfm(), splits=[[0, 1, 2], [3]])
    assert tl.m == 2  # set up on the training subset only
    with pytest.raises(AttributeError, match="nothing"):
        _ = tl.nothing


def _lbl(o):
    return o.split("_")[0]


def mult(x):
    return x * 2


mult.order = 2


def test_tfmdlists_infer():
    fns = ["dog_0.jpg", "cat_0.jpg", "cat_2.jpg", "cat_1.jpg", "dog_1.jpg"]
    tl = TfmdLists(fns, [_lbl, Categorize(), mult])
    assert list(tl.vocab) == ["cat", "dog"] and tl[0] == 2
    assert tl.infer_idx("dog_45.jpg") == 0 and tl.infer("dog_45.jpg") == 2
    with pytest.raises(TypeError, match="float"):
        tl.infer_idx(2.0)


# =================================================================================================
# data.core: Datasets
# =================================================================================================
def test_datasets_basics():
    items = [1, 2, 3, 4]
    dsets = Datasets(items, [[neg_tfm, int2f_tfm], [lambda o: o + 1]])
    t = dsets[0]
    assert t == (-1, 2) and type(t) is tuple
    assert dsets[0, 1, 2] == [(-1, 2), (-2, 3), (-3, 4)]
    assert dsets.n_inp == 1
    dec = dsets.decode(t)
    assert dec == (1.0, 2) and type(dec[0]) is TitledFloat


class Norm(Transform):
    def encodes(self, o):
        return (o - self.m) / self.s

    def decodes(self, o):
        return (o * self.s) + self.m

    def setups(self, items):
        its = torch.tensor(list(items)).float()
        self.m, self.s = its.mean(), its.std()


def test_datasets_setup_sees_previous_transforms(capsys):
    items = [1, 2, 3, 4]
    nrm = Norm()
    dsets = Datasets(items, [[neg_tfm, int2f_tfm], [neg_tfm, nrm]])
    x, y = zip(*dsets, strict=True)
    assert torch.tensor(y).mean().abs() < 1e-6 and torch.tensor(y).std().sub(1).abs() < 1e-6
    assert x == (-1, -2, -3, -4) and nrm.m == -2.5
    show_at(dsets, 1)
    assert capsys.readouterr().out == "-2\n"
    assert dsets.m == nrm.m and dsets.norm.m == nrm.m and dsets.train.norm.m == nrm.m


class AddOne(Transform):
    def encodes(self, x) -> None:
        return int(x + 1)

    def decodes(self, x):
        return TitledInt(x - 1)


def test_datasets_split_idx_filters_transforms():
    add1 = AddOne(split_idx=1)
    dsets = Datasets([1, 2, 3, 4], [neg_tfm, [neg_tfm, int2f_tfm, add1]], splits=[[3], [0, 1, 2]])
    assert dsets[1] == (-2, -2)
    assert dsets.valid[1] == (-2, -1)
    assert dsets.valid[[1, 1]] == [(-2, -1), (-2, -1)]
    assert dsets.train[0] == (-4, -4)


class Cat(Transform):
    """The docs' `_Cat`: a vocab learned in setups (on the training subset)."""

    order = 1

    def encodes(self, o):
        return int(self.o2i[o])

    def decodes(self, o):
        return TitledStr(self.vocab[o])

    def setups(self, items):
        self.vocab = sorted(set(items))
        self.o2i = {v: i for i, v in enumerate(self.vocab)}


def _lbl_titled(o):
    return TitledStr(o.split("_")[0])


def test_datasets_setup_on_training_subset_only(capsys):
    test_fns = ["dog_0.jpg", "cat_0.jpg", "cat_2.jpg", "cat_1.jpg", "kid_1.jpg"]
    tcat = Cat()
    dsets = Datasets(test_fns, [[tcat, _lbl_titled]], splits=[[0, 1, 2], [3, 4]])
    assert tcat.vocab == ["cat", "dog"]
    assert list(dsets.train) == [(1,), (0,), (0,)] and dsets.valid[0] == (0,)
    show_at(dsets.train, 0)
    assert capsys.readouterr().out == "dog\n"


def test_tfmdlists_infer_skips_the_steps_an_input_has_passed():
    fns = ["dog_0.jpg", "cat_0.jpg", "cat_2.jpg", "cat_1.jpg", "dog_1.jpg"]
    tl = TfmdLists(fns, [_lbl_titled, Cat(), mult])
    assert tl.types == [str, TitledStr, int, int]
    assert tl.infer_idx("dog_45.jpg") == 0 and tl.infer("dog_45.jpg") == 2
    assert tl.infer_idx(4) == 2 and tl.infer(4) == 8
    with pytest.raises(TypeError):
        tl.infer_idx(2.0)
    with pytest.raises(TypeError):
        tl.infer(2.0)


def test_datasets_indexing_by_list_and_mask():
    inp = [0, 1, 2, 3, 4]
    dsets = Datasets(inp, tfms=[None])
    assert dsets[2] == (2,) and dsets[1, 2] == [(1,), (2,)]
    mask = [True, False, False, True, False]
    assert dsets[mask] == [(0,), (3,)]
    df = pd.DataFrame(dict(a=[5, 1, 2, 3, 4]))
    dsets = Datasets(df, tfms=attrgetter("a")).subset(0)
    assert dsets[2] == (2,) and dsets[1, 2] == [(1,), (2,)] and dsets[mask] == [(5,), (3,)]


def test_datasets_n_inp():
    inp = [0, 1, 2, 3, 4]
    assert Datasets(inp, tfms=[None]).n_inp == 1
    assert Datasets(inp, tfms=[[None], [None], [None]]).n_inp == 2
    assert Datasets(inp, tfms=[[None], [None], [None]], n_inp=1).n_inp == 1


def test_datasets_splits_as_indices_or_masks():
    dsets = Datasets(range(5), tfms=[None], splits=[torch.tensor([0, 2]), [1, 3, 4]])
    assert list(dsets.subset(0)) == list(dsets.train) == [(0,), (2,)]
    assert list(dsets.subset(1)) == list(dsets.valid) == [(1,), (3,), (4,)]
    assert dsets.valid[2] == (4,)
    splits = [[False, True, True, False, True], [True, False, False, False, False]]
    with pytest.warns(UserWarning, match=r"Datasets: 1 of 5 items are in no split \(items 3; item 3: 3\)"):
        dsets = Datasets(range(5), tfms=[None], splits=splits)
    assert list(dsets.train) == [(1,), (2,), (4,)] and list(dsets.valid) == [(0,)]


class ValidTimes2(Transform):
    split_idx = 1

    def encodes(self, x):
        return x * 2

    def decodes(self, x):
        return TitledStr(x // 2)


class TrainTimes3(Transform):
    split_idx = 0

    def encodes(self, x):
        return x * 3


def test_datasets_transforms_on_all_or_one_subset():
    dsets = Datasets(range(5), [[lambda x: x * 2, lambda x: x + 1]], splits=[[1, 2], [0, 3, 4]])
    assert list(dsets.train) == [(3,), (5,)] and list(dsets.valid) == [(1,), (7,), (9,)]
    assert dsets.train[False, True] == [(5,)]
    dsets = Datasets(range(5), [ValidTimes2()], splits=[[1, 2], [0, 3, 4]])
    assert list(dsets.train) == [(1,), (2,)] and list(dsets.valid) == [(0,), (6,), (8,)]
    assert dsets.train[False, True] == [(2,)]
    ds = dsets.train
    with ds.set_split_idx(1):
        assert list(ds) == [(2,), (4,)]
    assert list(dsets.train) == [(1,), (2,)]
    dsrc1 = pickle.loads(pickle.dumps(dsets))
    assert list(dsrc1.train) == list(dsets.train) and list(dsrc1.valid) == list(dsets.valid)
    dsets = Datasets(range(5), [ValidTimes2(), noop], splits=[[1, 2], [0, 3, 4]])
    assert list(dsets.train) == [(1, 1), (2, 2)] and list(dsets.valid) == [(0, 0), (6, 3), (8, 4)]


def test_tfmddl_over_datasets_decode_batch_and_show(capsys):
    tds = Datasets(torch.arange(0, 50), [ShowIntTfm()])
    tdl = TfmdDL(tds, after_item=NegTfm(), bs=4)
    b = tdl.one_batch()
    assert b[0].tolist() == [0, -1, -2, -3]
    assert tdl.decode_batch(b) == [(0,), (1,), (2,), (3,)]
    tdl.show_batch()
    assert capsys.readouterr().out == "0\n1\n2\n3\n"


def test_datasets_dataloaders_apply_split_transforms():
    dsets = Datasets(range(8), [None], splits=[[1, 2, 5, 7], [0, 3, 4, 6]])
    dls = dsets.dataloaders(bs=4, after_batch=ValidTimes2(), shuffle=False, device=torch.device("cpu"))
    assert [[t.tolist() for t in b] for b in dls.train] == [[[1, 2, 5, 7]]]
    assert [[t.tolist() for t in b] for b in dls.valid] == [[[0, 6, 8, 12]]]
    assert dls.n_inp == 1


def test_datasets_new_empty():
    dsets = Datasets([1, 2, 3, 4], [[neg_tfm, int2f_tfm], [neg_tfm]])
    empty = dsets.new_empty()
    assert len(empty) == 0 and list(empty.items) == [] and empty.n_inp == 1


def test_test_set_uses_validation_transforms():
    dsets = Datasets(range(8), [[ValidTimes2(), TrainTimes3()]], splits=[[1, 2, 5, 7], [0, 3, 4, 6]])
    assert list(dsets.train) == [(3,), (6,), (15,), (21,)]
    assert list(dsets.valid) == [(0,), (6,), (8,), (12,)]
    assert list(test_set(dsets, [1, 2, 3])) == [(2,), (4,), (6,)]
    tfm = TrainTimes3()
    tfm.split_idx, tfm.order = None, 2
    dsets = Datasets(["dog", "cat", "cat", "dog"], [[Cat(), tfm]])
    assert list(test_set(dsets, ["dog", "cat", "cat"])) == [(3,), (0,), (0,)]
    assert list(test_set(dsets, [1, 2])) == [(3,), (6,)]


def test_dataloaders_test_dl():
    dsets = Datasets(range(8), [[ValidTimes2(), TrainTimes3()]], splits=[[1, 2, 5, 7], [0, 3, 4, 6]])
    dls = dsets.dataloaders(bs=4, device=torch.device("cpu"))
    tst_dl = dls.test_dl([2, 3, 4, 5])
    assert tst_dl.n_inp == 1
    assert [[t.tolist() for t in b] for b in tst_dl] == [[[4, 6, 8, 10]]]
    tst_dl = dls.test_dl([2, 3, 4, 5], after_item=AddOne(split_idx=1))
    assert [[t.tolist() for t in b] for b in tst_dl] == [[[5, 7, 9, 11]]]


def test_dataloaders_from_dsets():
    dsets = Datasets(range(8), [[lambda o: o * 10]], splits=[[1, 2, 5, 7], [0, 3, 4, 6]])
    dls = DataLoaders.from_dsets(dsets.train, dsets.valid, bs=2, device=torch.device("cpu"))
    assert len(dls.train) == 2 and len(dls.valid) == 2
    assert [b[0].tolist() for b in dls.valid] == [[0, 30], [40, 60]]
    assert sorted(v for b in dls.train for v in b[0].tolist()) == [10, 20, 50, 70]


# =================================================================================================
# data.transforms: getting files, splitters, labellers
# =================================================================================================
def test_get_files_and_image_files():
    t3 = get_files(MNIST / "train" / "3", extensions=".png", recurse=False)
    t7 = get_files(MNIST / "train" / "7", extensions=".png", recurse=False)
    t = get_files(MNIST / "train", extensions=".png", recurse=True)
    assert len(t) == len(t3) + len(t7) == 40
    assert len(get_files(MNIST / "train" / "3", extensions=".jpg", recurse=False)) == 0
    assert len(t) == len(get_files(MNIST, extensions=".png", recurse=True, folders="train"))
    assert t[0] == MNIST / "train" / "3" / "7.png" and isinstance(t, L)
    assert len(get_image_files(MNIST)) == 80 and len(get_image_files(MNIST, folders=["valid"])) == 40
    assert len(get_image_files(MNIST / "train", recurse=False)) == 0
    assert list(FileGetter(extensions=".png", recurse=False)(MNIST / "train" / "7")) == list(t7)
    assert list(FileGetter("train", extensions=".png")(MNIST)) == list(t)
    assert list(ImageGetter("train")(MNIST)) == list(t)
    assert len(ImageGetter()(MNIST)) == 80


def _check_splitter(f, items=None):
    """fastai's `_test_splitter`: a basic set of conditions every splitter must pass."""
    items = list(range(30)) if items is None else items
    trn, val = f(items)
    assert 0 < len(trn) < len(items)
    assert all(o not in val for o in trn)
    assert len(trn) == len(items) - len(val)
    assert f(items)[0] == trn  # seed consistency
    return trn, val


def test_random_splitter():
    trn, val = _check_splitter(RandomSplitter(seed=42))
    assert len(val) == 6 and isinstance(trn, L) and isinstance(val, L)
    assert sorted(trn + val) == list(range(30))
    trn, val = RandomSplitter(valid_pct=0.5, seed=0)(list(range(10)))
    assert len(trn) == len(val) == 5


@pytest.mark.slow  # imports scikit-learn
def test_train_test_splitter_stratified():
    src = list(range(30))
    labels = [0] * 20 + [1] * 10
    test_size = 0.2
    f = TrainTestSplitter(test_size=test_size, random_state=42, stratify=labels)
    trn, val = _check_splitter(f, src)
    assert len([t for t in val if t < 20]) / 20 == test_size
    assert len([t for t in val if t >= 20]) / 10 == test_size


def test_index_end_mask_splitters():
    items = list(range(10))
    assert IndexSplitter([3, 7, 9])(items) == ([0, 1, 2, 4, 5, 6, 8], [3, 7, 9])
    assert EndSplitter(valid_last=True)(items) == ([0, 1, 2, 3, 4, 5, 6, 7], [8, 9])
    assert EndSplitter(valid_last=False)(items) == ([2, 3, 4, 5, 6, 7, 8, 9], [0, 1])
    assert MaskSplitter([True, False, False, True, False, True])(list(range(6))) == ([1, 2, 4], [0, 3, 5])


fnames = [
    Path("mnist_tiny/train/3/9932.png"),
    Path("mnist_tiny/valid/7/7189.png"),
    Path("mnist_tiny/valid/7/7320.png"),
    Path("mnist_tiny/train/7/9833.png"),
    Path("mnist_tiny/train/3/7666.png"),
    Path("mnist_tiny/valid/3/925.png"),
    Path("mnist_tiny/train/7/724.png"),
    Path("mnist_tiny/valid/3/93055.png"),
]


def test_grandparent_and_func_splitters():
    assert GrandparentSplitter()(fnames) == ([0, 3, 4, 6], [1, 2, 5, 7])
    fnames2 = fnames + [
        Path("mnist_tiny/test/3/4256.png"),
        Path("mnist_tiny/test/7/2345.png"),
        Path("mnist_tiny/valid/7/6467.png"),
    ]
    splitter = GrandparentSplitter(train_name=("train", "valid"), valid_name="test")
    assert splitter(fnames2) == ([0, 3, 4, 6, 1, 2, 5, 7, 10], [8, 9])
    splitter = FuncSplitter(lambda o: Path(o).parent.parent.name == "valid")
    assert splitter(fnames) == ([0, 3, 4, 6], [1, 2, 5, 7])


def test_file_splitter(tmp_path):
    fname = tmp_path / "valid.txt"
    fname.write_text("\n".join(fnames[i].name for i in [1, 3, 4]))
    assert FileSplitter(fname)(fnames) == ([0, 2, 5, 6, 7], [1, 3, 4])
    fname.write_text("my file 1.png\n")  # one name a line (names may hold spaces)
    assert FileSplitter(fname)(["a/my file 1.png", "a/file.png"]) == ([1], [0])


def test_random_splitter_matches_fastais_global_seed_permutation():
    torch.manual_seed(42)  # fastai's RandomSplitter seeds torch's global RNG, then calls randperm
    perm = torch.randperm(30).tolist()
    trn, val = RandomSplitter(seed=42)(list(range(30)))
    assert list(val) == perm[:6] and list(trn) == perm[6:]


def test_col_splitter():
    df = pd.DataFrame({"a": [0, 1, 2, 3, 4], "b": [True, False, True, True, False]})
    assert ColSplitter("b")(df) == ([1, 4], [0, 2, 3])
    assert ColSplitter(1)(df) == ([1, 4], [0, 2, 3])  # a column name or position
    df = pd.DataFrame({"a": [0, 1, 2, 3, 4], "b": ["x", "y", "x", "x", "y"]})
    assert ColSplitter("b", on="x")(df) == ([1, 4], [0, 2, 3])
    df = pd.DataFrame({"a": [0, 1, 2, 3, 4], "is_valid": [0, 1, 0, 0, 1]})
    assert ColSplitter()(df) == ([0, 2, 3], [1, 4])
    assert ColSplitter("a", on=[0, 4])(df) == ([1, 2, 3], [0, 4])


def test_random_subset_splitter():
    trn, val = RandomSubsetSplitter(0.3, 0.1, seed=0)(list(range(30)))
    assert len(trn) == 9 and len(val) == 3 and not set(trn) & set(val)
    assert RandomSubsetSplitter(0.3, 0.1, seed=0)(list(range(30))) == (trn, val)


def test_item_getter_and_attr_getter():
    assert ItemGetter(1)((1, 2, 3)) == 2 and ItemGetter(1)(L(1, 2, 3)) == 2
    assert ItemGetter("b")({"a": 1, "b": 2}) == 2
    assert AttrGetter("shape")(torch.randn([4, 5])) == (4, 5)
    assert AttrGetter("shape", [0])([4, 5]) == [0]
    dblock = DataBlock(getters=[ItemGetter(0), ItemGetter(1)], splitter=IndexSplitter([2]))
    dsets = dblock.datasets([(1, "a"), (2, "b"), (3, "c")])
    assert list(dsets.train) == [(1, "a"), (2, "b")] and list(dsets.valid) == [(3, "c")]


def test_parent_label_and_regex_labeller():
    assert parent_label(fnames[0]) == "3"
    assert parent_label("fastai_dev/dev/data/mnist_tiny/train/3/9932.png") == "3"
    assert [parent_label(o) for o in fnames] == ["3", "7", "7", "7", "3", "3", "7", "3"]
    f = RegexLabeller(r"(\d+).png")
    assert f(fnames[0]) == "9932" and f(str(fnames[0])) == "9932"
    assert RegexLabeller(r"/(\d)/")(fnames[0]) == "3"  # as in fastai, the whole path is searched
    f = RegexLabeller(pat=r"^(.*)_\d+.jpg$")
    assert f("great_pyrenees_173.jpg") == "great_pyrenees"
    get_y = Pipeline([attrgetter("name"), RegexLabeller(pat=r"^(.*)_\d+.jpg$")])
    assert get_y(Path("images/great_pyrenees_173.jpg")) == "great_pyrenees"
    with pytest.raises(ValueError, match="does not match"):
        RegexLabeller(r"^(\d+).png", match=True)(str(fnames[0]))


def test_col_reader():
    df = pd.DataFrame({"a": "a b c d".split(), "b": ["1 2", "0", "", "1 2 3"]})
    f = ColReader("a", pref="0", suff="1")
    assert [f(o) for _, o in df.iterrows()] == "0a1 0b1 0c1 0d1".split()
    f = ColReader("b", label_delim=" ")
    assert [f(o) for _, o in df.iterrows()] == [["1", "2"], ["0"], [], ["1", "2", "3"]]
    df["a1"] = df["a"]
    f = ColReader(["a", "a1"], pref="0", suff="1")
    assert [f(o) for _, o in df.iterrows()] == [
        L("0a1", "0a1"),
        L("0b1", "0b1"),
        L("0c1", "0c1"),
        L("0d1", "0d1"),
    ]
    df = pd.DataFrame({"name": "a b c d".split(), "c": [1, 2, 3, 4]})
    f = ColReader("name", pref=Path("some/path"))
    assert f(df.iloc[0]) == str(Path("some/path") / "a")
    assert ColReader("c")(df.iloc[2]) == 3


# =================================================================================================
# data.transforms: categories, one-hot, regression, tensors, normalisation
# =================================================================================================
def test_category_map():
    t = CategoryMap([4, 2, 3, 4])
    assert t == [2, 3, 4] and t.o2i == {2: 0, 3: 1, 4: 2}
    assert t.map_objs([2, 3]) == [0, 1] and t.map_ids([0, 1]) == [2, 3]
    with pytest.raises(KeyError):
        t.o2i["unseen label"]
    t = CategoryMap([4, 2, 3, 4], add_na=True)
    assert t == ["#na#", 2, 3, 4] and t.o2i == {"#na#": 0, 2: 1, 3: 2, 4: 3}
    t = CategoryMap(pd.Series([4, 2, 3, 4]), sort=False)
    assert t == [4, 2, 3] and t.o2i == {4: 0, 2: 1, 3: 2}
    col = pd.Series(pd.Categorical(["M", "H", "L", "M"], categories=["H", "M", "L"], ordered=True))
    t = CategoryMap(col)
    assert t == ["H", "M", "L"] and t.o2i == {"H": 0, "M": 1, "L": 2}
    col = pd.Series(pd.Categorical(["M", "H", "M"], categories=["H", "M", "L"], ordered=True))
    t = CategoryMap(col, strict=True)
    assert t == ["H", "M"] and t.o2i == {"H": 0, "M": 1}


def test_categorize(capsys):
    cat = Categorize()
    tds = Datasets(["cat", "dog", "cat"], tfms=[cat])
    assert cat.vocab == ["cat", "dog"] and isinstance(cat.vocab, CategoryMap)
    assert cat("cat") == 0 and type(cat("cat")) is TensorCategory and cat.decode(1) == "dog"
    assert tds.vocab == ["cat", "dog"] and tds.c == 2
    show_at(tds, 2)
    assert capsys.readouterr().out == "cat\n"
    with pytest.raises(KeyError, match="bird"):
        cat("bird")
    cat = Categorize(add_na=True)
    tds = Datasets(["cat", "dog", "cat"], tfms=[cat])
    assert cat.vocab == ["#na#", "cat", "dog"] and cat("cat") == 1 and cat.decode(2) == "dog"
    show_at(tds, 2)
    assert capsys.readouterr().out == "cat\n"
    cat = Categorize(vocab=["dog", "cat"], sort=False, add_na=True)
    tds = Datasets(["cat", "dog", "cat"], tfms=[cat])
    assert cat.vocab == ["#na#", "dog", "cat"] and cat("dog") == 1 and cat.decode(2) == "cat"
    show_at(tds, 2)
    assert capsys.readouterr().out == "cat\n"


def test_multi_categorize(capsys):
    cat = MultiCategorize()
    tds = Datasets([["b", "c"], ["a"], ["a", "c"], []], tfms=[cat])
    assert tds[3][0].tolist() == [] and type(tds[3][0]) is TensorMultiCategory
    assert cat.vocab == ["a", "b", "c"]
    assert cat(["a", "c"]).tolist() == [0, 2] and cat([]).tolist() == []
    assert cat.decode([1]) == ["b"] and cat.decode([0, 2]) == ["a", "c"]
    show_at(tds, 2)
    assert capsys.readouterr().out == "a;c\n"
    cat = MultiCategorize(vocab=["z", "y", "x"])  # a given vocab keeps its order
    assert cat.vocab == ["z", "y", "x"]
    with pytest.raises(KeyError, match="bird"):
        cat(["bird"])


def test_one_hot_encode(capsys):
    _tfm = OneHotEncode(c=3)
    assert _tfm([0, 2]).tolist() == [1.0, 0.0, 1.0]
    assert _tfm.decode(torch.tensor([0, 1, 1])).tolist() == [1, 2]
    tds = Datasets([["b", "c"], ["a"], ["a", "c"], []], [[MultiCategorize(), OneHotEncode()]])
    assert tds[1][0].tolist() == [1.0, 0.0, 0.0] and tds[3][0].tolist() == [0.0, 0.0, 0.0]
    assert tds.decode([torch.tensor([False, True, True])]) == (["b", "c"],)
    assert type(tds[1][0]) is TensorMultiCategory
    show_at(tds, 2)
    assert capsys.readouterr().out == "a;c\n"


def test_encoded_multi_categorize():
    _tfm = EncodedMultiCategorize(vocab=["a", "b", "c"])
    assert _tfm([1, 0, 1]).tolist() == [1.0, 0.0, 1.0] and type(_tfm([1, 0, 1])) is TensorMultiCategory
    assert _tfm.decode(torch.tensor([False, True, True])) == ["b", "c"]
    assert EncodedMultiCategorize(vocab=["c", "b", "a"]).vocab == ["c", "b", "a"]


def test_regression_setup():
    dsets = Datasets([0, 1, 2], RegressionSetup)
    assert dsets.c == 1 and dsets[0][0].dtype == torch.float32 and dsets[0][0].tolist() == 0.0
    dsets = Datasets([[0, 1, 2], [3, 4, 5]], RegressionSetup)
    assert dsets.c == 3 and dsets[0][0].tolist() == [0.0, 1.0, 2.0]


def test_to_tensor_and_int_to_float_tensor():
    x = ToTensor()(np.array([[1, 2], [3, 4]], dtype=np.uint8))
    assert isinstance(x, TensorBase) and x.tolist() == [[1, 2], [3, 4]]
    t = (TensorImage(torch.tensor(1)), torch.tensor(2).long(), TensorMask(torch.tensor(3)))
    tfm = IntToFloatTensor()
    ft = tfm(t)
    assert [float(o) for o in ft] == pytest.approx([1.0 / 255, 2.0, 3.0])
    assert type(ft[0]) is TensorImage and type(ft[2]) is TensorMask
    assert ft[0].dtype == torch.float32 and ft[1].dtype == torch.int64 and ft[2].dtype == torch.int64
    assert tfm.decode(ft)[0].tolist() == 1


def _open_image(o):
    """The tests' image reader (vision's readers are not in loaders): a uint8 TensorImage (1, 28, 28)."""
    from PIL import Image

    return TensorImage(torch.from_numpy(np.array(Image.open(o), dtype=np.uint8))[None])


def _mnist_dsets():
    items = get_image_files(MNIST)
    return Datasets(
        items,
        tfms=[[_open_image], [parent_label, Categorize()]],
        splits=GrandparentSplitter()(items),
    )


def test_normalize_from_stats_and_decode():
    dsets = _mnist_dsets()
    mean, std = broadcast_vec(1, 4, [0.5], [0.5])
    assert mean.shape == (1, 1, 1, 1)
    batch_tfms = [IntToFloatTensor(), Normalize.from_stats(mean, std)]
    tdl = TfmdDL(dsets.train, after_batch=batch_tfms, bs=4, device=torch.device("cpu"))
    x, y = tdl.one_batch()
    xd, yd = tdl.decode((x, y))
    assert x.dtype == torch.float32 and xd.dtype == torch.int64
    assert type(x) is TensorImage and type(y) is TensorCategory
    assert x.mean() < 0.0 and x.std() > 0.5
    assert 0 < xd.float().mean() / 255.0 < 1 and 0 < xd.float().std() / 255.0 < 0.5
    nrm = Normalize()  # statistics from one batch
    tdl = TfmdDL(dsets.train, after_batch=[IntToFloatTensor(), nrm], bs=4)
    x, y = tdl.one_batch()
    assert abs(float(x.mean())) < 1e-4 and x.std() > 0.9


# =================================================================================================
# data.block
# =================================================================================================
def label_func(fname):
    return "three" if fname.parent.name == "3" else "seven"


def test_datablock_step_by_step_tutorial():
    fns = get_image_files(MNIST)
    dblock = DataBlock()
    dsets = dblock.datasets(fns)
    x, y = dsets.train[0]
    assert x == y and isinstance(x, Path)  # default: two TransformBlocks, the item twice
    assert len(dsets.train) == 64 and len(dsets.valid) == 16  # RandomSplitter(0.2)
    dblock = DataBlock(get_items=get_image_files)
    dsets = dblock.datasets(MNIST)
    assert len(dsets) == 80 and isinstance(dsets.train[0][0], Path)
    dblock = DataBlock(get_items=get_image_files, get_y=label_func)
    dsets = dblock.datasets(MNIST)
    x, y = dsets.train[0]
    assert y == label_func(x)
    dblock = DataBlock(
        blocks=(TransformBlock(type_tfms=_open_image), CategoryBlock),
        get_items=get_image_files,
        get_y=label_func,
        splitter=RandomSplitter(seed=42),
    )
    dsets = dblock.datasets(MNIST)
    x, y = dsets.train[0]
    assert type(x) is TensorImage and x.shape == (1, 28, 28) and type(y) is TensorCategory
    assert dsets.vocab == ["seven", "three"]
    dls = dblock.dataloaders(MNIST, bs=8)
    xb, yb = dls.one_batch()
    assert xb.shape == (8, 1, 28, 28) and yb.shape == (8,) and dls.c == 2 and dls.vocab == ["seven", "three"]


def test_datablock_mnist_tiny():
    mnist = DataBlock(
        blocks=(TransformBlock(type_tfms=_open_image, batch_tfms=IntToFloatTensor), CategoryBlock),
        get_items=get_image_files,
        splitter=GrandparentSplitter(),
        get_y=parent_label,
    )
    assert mnist.type_tfms[1].map(type) == [Categorize]
    assert mnist.default_item_tfms.map(type) == [ToTensor]
    assert mnist.default_batch_tfms.map(type) == [IntToFloatTensor]
    dsets = mnist.datasets(MNIST)
    assert dsets.vocab == ["3", "7"] and len(dsets.train) == 40 and len(dsets.valid) == 40
    x, y = dsets.train[0]
    assert x.shape == (1, 28, 28) and y == 0
    assert dsets.decode(dsets.train[0])[1] == "3"
    dls = mnist.dataloaders(MNIST, bs=16)
    xb, yb = dls.train.one_batch()
    assert xb.shape == (16, 1, 28, 28) and xb.dtype == torch.float32 and float(xb.max()) <= 1.0
    assert len(dls.train) == 2 and len(dls.valid) == 3  # 40 items: the training loader drops the last
    dec = dls.valid.decode_batch(dls.valid.one_batch(), max_n=3)
    assert [s[1] for s in dec] == ["3", "3", "3"] and len(dec) == 3
    with pytest.raises(TypeError):
        DataBlock(wrong_kwarg=42, wrong_kwarg2="foo")


def test_datablock_pipeline_getter_with_regex_labeller(tmp_path):
    for name in ["great_pyrenees_1.jpg", "great_pyrenees_2.jpg", "Abyssinian_1.jpg", "Abyssinian_12.jpg"]:
        (tmp_path / name).write_bytes(b"")
    pets = DataBlock(
        blocks=(TransformBlock, CategoryBlock),
        get_items=get_files,
        splitter=IndexSplitter([3]),
        get_y=Pipeline([attrgetter("name"), RegexLabeller(pat=r"^(.*)_\d+.jpg$")]),
    )
    dsets = pets.datasets(tmp_path)
    assert dsets.vocab == ["Abyssinian", "great_pyrenees"]
    assert [dsets.decode(o)[1] for o in dsets.train] == ["Abyssinian", "Abyssinian", "great_pyrenees"]


def test_datablock_getters_and_n_inp_over_a_dataframe():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [5.0, 6.0, 7.0, 8.0], "y": ["x", "y", "x", "y"]})
    dblock = DataBlock(
        blocks=(TransformBlock, TransformBlock, CategoryBlock),
        getters=[ColReader("a"), ColReader("b"), ColReader("y")],
        n_inp=2,
        splitter=IndexSplitter([3]),
    )
    dsets = dblock.datasets(df)
    assert dsets.n_inp == 2 and dsets.train[0] == (1.0, 5.0, 0) and dsets.vocab == ["x", "y"]
    dls = dblock.dataloaders(df, bs=3, shuffle=False)
    a, b, y = dls.one_batch()
    assert a.tolist() == [1.0, 2.0, 3.0] and b.tolist() == [5.0, 6.0, 7.0] and y.tolist() == [0, 1, 0]
    assert dls.n_inp == 2


def test_multicategory_and_regression_blocks():
    df = pd.DataFrame(
        {"x": [0.0, 1.0, 2.0, 3.0], "labels": ["a b", "b", "c a", ""], "t": [0.5, 1.5, 2.5, 3.5]}
    )
    dblock = DataBlock(
        blocks=(TransformBlock, MultiCategoryBlock),
        get_x=ColReader("x"),
        get_y=ColReader("labels", label_delim=" "),
        splitter=IndexSplitter([3]),
    )
    dsets = dblock.datasets(df)
    assert dsets.vocab == ["a", "b", "c"] and dsets.train[0][1].tolist() == [1.0, 1.0, 0.0]
    assert dsets.decode(dsets.train[2])[1] == ["a", "c"]
    dblock = DataBlock(
        blocks=(TransformBlock, MultiCategoryBlock(encoded=True, vocab=["a", "b"])),
        get_x=ColReader("x"),
        get_y=lambda r: [float(r["x"] > 1), float(r["x"] > 2)],
        splitter=IndexSplitter([3]),
    )
    dsets = dblock.datasets(df)
    assert dsets.train[2][1].tolist() == [1.0, 0.0] and dsets.decode(dsets.train[2])[1] == ["a"]
    dblock = DataBlock(
        blocks=(TransformBlock, RegressionBlock(n_out=1)),
        get_x=ColReader("x"),
        get_y=ColReader("t"),
        splitter=IndexSplitter([3]),
    )
    dls = dblock.dataloaders(df, bs=3, shuffle=False)
    x, y = dls.one_batch()
    assert y.dtype == torch.float32 and y.tolist() == [0.5, 1.5, 2.5] and dls.c == 1
    assert CategoryBlock(vocab=["b", "a"]).type_tfms[0].vocab == ["a", "b"]


def test_datablock_summary_prints_each_step(capsys):
    mnist = DataBlock(
        blocks=(TransformBlock(type_tfms=_open_image), CategoryBlock),
        get_items=get_image_files,
        splitter=GrandparentSplitter(),
        get_y=parent_label,
    )
    mnist.summary(MNIST)
    out = capsys.readouterr().out
    assert "Found 80 items" in out and "2 datasets of sizes 40,40" in out
    assert "parent_label" in out and "Categorize" in out and "TensorCategory" in out


def test_dataloaders_test_dl_from_a_datablock():
    mnist = DataBlock(
        blocks=(TransformBlock(type_tfms=_open_image, batch_tfms=IntToFloatTensor), CategoryBlock),
        get_items=get_image_files,
        splitter=GrandparentSplitter(),
        get_y=parent_label,
    )
    dls = mnist.dataloaders(MNIST, bs=8)
    files = get_image_files(MNIST / "valid")[:5]
    tdl = dls.test_dl(files)
    (xb,) = tdl.one_batch()
    assert xb.shape == (5, 1, 28, 28) and xb.dtype == torch.float32
    tdl = dls.test_dl(files, with_labels=True)
    xb, yb = tdl.one_batch()
    assert yb.tolist() == [0] * 5
