"""TfmdLists, Datasets, TfmdDL, DataLoaders: subsets, split_idx, setup, decode, show, test_dl, export."""

from __future__ import annotations

import pytest
import torch
from plies.loaders import (
    Categorize,
    DataLoader,
    DataLoaders,
    Datasets,
    Normalize,
    TfmdDL,
    TfmdLists,
    show_batch,
    show_results,
    test_set,
)
from plies.pipes import Transform
from plies.typecore import TensorBase, TensorCategory, TensorImage
from torch.utils.data import DataLoader as TorchDataLoader
from torch.utils.data import TensorDataset


class TensorXY(TensorBase):
    """A test input type that registers its own display."""


def to_image(o):
    """A 1x1x2 greyscale image holding (i, 2i): what Normalize acts on."""
    return TensorImage(torch.tensor([[[float(o[0]), float(o[0]) * 2]]]))


class SplitMarker(Transform):
    """Adds 100 on the validation subset only (split_idx=1)."""

    split_idx = 1

    def encodes(self, o: int):
        return o + 100


def to_point(o):
    return TensorXY(torch.tensor([float(o[0]), float(o[0]) * 2]))


def label_of(o):
    return o[1]


def make_dsets(n=12, get_x=to_point):
    items = [[i, "odd" if i % 2 else "even"] for i in range(n)]
    splits = [list(range(0, n - 4)), list(range(n - 4, n))]
    return Datasets(items, [[get_x], [label_of, Categorize()]], splits=splits)


def test_tfmdlists_is_lazy_and_passes_split_idx():
    calls = []

    def double(o):
        calls.append(o)
        return o * 2

    tl = TfmdLists([1, 2, 3, 4], [double, SplitMarker()], splits=[[0, 1], [2, 3]])
    calls.clear()
    assert tl.train[1] == 4 and calls == [2]
    assert tl.valid[0] == 106 and list(tl.valid) == [106, 108]
    assert list(tl) == [2, 4, 6, 8] and tl[1:3] == [4, 6]
    assert (tl.n_subsets, len(tl.train), len(tl.valid)) == (2, 2, 2)


def test_setup_sees_training_items_only_after_previous_transforms():
    seen = []

    class Recorder(Transform):
        def setups(self, items):
            seen.extend(items)

    TfmdLists([1, 2, 3], [lambda o: o * 10, Recorder()], splits=[[0, 2], [1]])
    assert seen == [10, 30]


def test_datasets_tuples_n_inp_decode_and_lengths():
    ds = make_dsets()
    x, y = ds[3]
    assert type(x) is TensorXY and x.tolist() == [3.0, 6.0] and type(y) is TensorCategory
    assert ds.n_inp == 1 and len(ds) == 12 and len(ds.train) == 8 and len(ds.valid) == 4
    assert list(ds.vocab) == ["even", "odd"]
    assert ds.decode((x, y))[1] == "odd"
    assert len(ds[0:3]) == 3
    with pytest.raises(ValueError, match="different lengths"):
        Datasets(tls=[TfmdLists([1, 2], None), TfmdLists([1, 2, 3], None)])
    with pytest.raises(IndexError, match="out of range for 3 items"):
        TfmdLists([1, 2, 3], None, splits=[[0, 5], [1]])


def test_labeller_error_names_step_and_item():
    def bad_label(o):
        if o[0] == 5:
            raise ValueError("no label for five")
        return "x"

    with pytest.warns(
        UserWarning, match=r"Datasets: 4 of 8 items are in no split \(items 3, 4, 6, 7; item 3: \[3\]\)"
    ):
        ds = Datasets(
            [[i] for i in range(8)], [[to_point], [bad_label, Categorize()]], splits=[[0, 1, 2], [5]]
        )
    with pytest.raises(
        ValueError, match=r"step 0 \(bad_label\) failed on item 0 \(\[5\]\): ValueError: no label for five"
    ):
        ds.valid[0]


def test_tfmddl_batches_decode_and_types():
    dls = make_dsets().dataloaders(bs=4, shuffle=False, device="cpu")
    xb, yb = dls.one_batch()
    assert type(xb) is TensorXY and xb.shape == (4, 2) and yb.tolist() == [0, 1, 0, 1]
    samples = dls.train.decode_batch((xb, yb), max_n=3)
    assert len(samples) == 3 and samples[1][1] == "odd" and samples[1][0].tolist() == [1.0, 2.0]
    plain = (xb.as_subclass(torch.Tensor), yb.as_subclass(torch.Tensor))
    assert type(dls.train.decode(plain)[0]) is TensorXY
    assert dls.n_inp == 1 and dls.c == 2 and list(dls.vocab) == ["even", "odd"]
    assert len(dls.train) == 2 and len(dls.valid) == 1 and dls.valid.shuffle is False


def test_dataloaders_train_shuffled_with_drop_last_and_val_kwargs():
    dls = make_dsets(20).dataloaders(bs=5, val_bs=2)
    assert dls.train.shuffle and dls.train.drop_last and not dls.valid.shuffle
    assert dls.valid.bs == 2 and len(dls.train) == 3 and len(dls.valid) == 2


def test_show_batch_dispatches_on_registered_type(capsys):
    shown = []

    @show_batch.register
    def _show_points(x: TensorXY, y, samples, ctxs=None, max_n=9, **kwargs):
        shown.append((x.shape, [s[1] for s in samples[:max_n]]))
        return "points"

    dls = make_dsets().dataloaders(bs=4, shuffle=False)
    assert dls.show_batch(max_n=2) == "points"
    assert shown == [((4, 2), ["even", "odd"])]
    x, y, its = dls.train.show_batch(show=False, max_n=2)
    assert type(x) is TensorXY and len(its) == 2


class TensorTally(TensorBase):
    """A test input type with its own show_results (module level: the annotation must resolve)."""


def test_show_results_dispatches_on_registered_type():
    shown = []

    @show_results.register
    def _show_tallies(x: TensorTally, y, samples, outs, ctxs=None, max_n=9, **kwargs):
        shown.append(([s[1] for s in samples[:max_n]], [o[0] for o in outs[:max_n]]))
        return "tallies"

    ds = Datasets(
        [[i, "odd" if i % 2 else "even"] for i in range(6)],
        [[lambda o: TensorTally(torch.tensor([float(o[0])]))], [label_of, Categorize()]],
    )
    dl = TfmdDL(ds, bs=3)
    b = dl.one_batch()
    assert dl.show_results(b, TensorCategory(torch.tensor([1, 0, 1])), max_n=2) == "tallies"
    assert shown == [(["even", "odd"], ["odd", "even"])]  # decoded targets and decoded predictions


def test_default_show_batch_and_show_results_print_text(capsys):
    ds = Datasets(
        [[i, "odd" if i % 2 else "even"] for i in range(6)],
        [[lambda o: torch.tensor(float(o[0]))], [label_of, Categorize()]],
    )
    dl = TfmdDL(ds, bs=3)
    dl.show_batch(max_n=2)
    assert capsys.readouterr().out.splitlines() == ["0.0 | even", "1.0 | odd"]
    b = dl.one_batch()
    dl.show_results(b, TensorCategory(torch.tensor([1, 1, 1])), max_n=2)
    assert capsys.readouterr().out.splitlines() == ["0.0 | even | pred: odd", "1.0 | odd | pred: odd"]


def test_test_dl_infers_type_tfms_and_with_labels():
    dls = make_dsets(get_x=to_image).dataloaders(bs=4, after_batch=[Normalize()])
    tdl = dls.test_dl([[100, "odd"], [101, "even"]])
    (xb,) = tdl.one_batch()
    assert xb.shape == (2, 1, 1, 2) and xb.max() > 10  # normalised by the training set's stats
    assert torch.allclose(
        dls.valid.decode((xb,))[0], torch.tensor([[[[100.0, 200.0]]], [[[101.0, 202.0]]]]), atol=1e-3
    )
    xb, yb = dls.test_dl([[7, "odd"]], with_labels=True).one_batch()
    assert yb.tolist() == [1]
    ready = dls.test_dl([TensorImage(torch.tensor([[[1.0, 2.0]]]))])
    assert ready.one_batch()[0].shape == (1, 1, 1, 2)
    with pytest.raises(TypeError, match="expected Datasets or TfmdLists, got list"):
        test_set([1], [2])


def test_inference_state_round_trip_without_pickle():
    items = [[i, "odd" if i % 2 else "even"] for i in range(12)]
    getters = [[lambda o: to_image(o)], [lambda o: label_of(o), Categorize()]]  # cannot be saved: dropped
    dsets = Datasets(items, getters, splits=[list(range(8)), list(range(8, 12))])
    dls = dsets.dataloaders(bs=4, after_batch=[Normalize()])
    state = dls.inference_state()
    assert state["tls"][0]["dropped"] == ["<lambda>"] and state["tls"][1]["dropped"] == ["<lambda>"]
    rebuilt = DataLoaders.from_inference_state(state)
    assert list(rebuilt.vocab) == ["even", "odd"] and rebuilt.n_inp == 1
    items = [TensorImage(torch.tensor([[[3.0, 6.0]]]))]
    (want,) = dls.test_dl(items).one_batch()
    (got,) = rebuilt.test_dl(items).one_batch()
    assert torch.allclose(want, got) and not torch.allclose(want, items[0][None])  # normalised
    assert rebuilt.valid.decode_batch((got, TensorCategory(torch.tensor([1]))))[0][1] == "odd"
    # a model output typed like the input is re-typed as the target was (so Normalize leaves it alone)
    pred = TensorImage(torch.tensor([1]))
    assert rebuilt.valid.decode_batch((got, pred))[0][1] == "odd"
    assert state["batch_types"][0].endswith("TensorImage") and state["batch_types"][1].endswith(
        "TensorCategory"
    )
    with pytest.raises(ValueError, match="expected a state of version"):
        DataLoaders.from_inference_state({"version": 99})


def test_dataloaders_device_to_and_torch_loaders():
    dls = DataLoaders.from_dsets([1, 2, 3, 4], [5, 6], bs=2)
    assert dls.train.shuffle and not dls.valid.shuffle and len(dls) == 2
    assert dls.to("cpu") is dls and dls.device == "cpu" and dls.valid.device == "cpu"
    assert dls.cpu().train.device == torch.device("cpu")
    tds = TensorDataset(torch.arange(6.0), torch.arange(6))
    wrapped = DataLoaders(
        TorchDataLoader(tds, batch_size=4), TorchDataLoader(tds, batch_size=3), device="cpu"
    )
    xb, yb = wrapped.one_batch()
    assert xb.tolist() == [0.0, 1.0, 2.0, 3.0] and len(wrapped.valid) == 2
    with pytest.raises(IndexError, match="only 1 loaders"):
        _ = DataLoaders(DataLoader([1])).valid


def test_add_tfms_and_from_dblock():
    dls = make_dsets().dataloaders(bs=4, shuffle=False)
    dls.add_tfms([lambda b: b * 2], "after_batch", loaders=[0])
    assert dls.one_batch()[0][1].tolist() == [2.0, 4.0] and dls.valid.one_batch()[0][0].tolist() == [
        8.0,
        16.0,
    ]
    with pytest.raises(ValueError, match="event_name must be one of"):
        dls.add_tfms([], "after_everything")


def test_new_empty_keeps_pipelines():
    dls = make_dsets().dataloaders(bs=4)
    empty = dls.new_empty()
    assert len(empty.train_ds) == 0 and list(empty.vocab) == ["even", "odd"]
    assert empty.test_dl([[3, "odd"]]).one_batch()[0].tolist() == [[3.0, 6.0]]


def test_tfmddl_over_a_stream_decodes_and_makes_new_loaders():
    class Stream:
        def __iter__(self):
            return iter([(TensorXY(torch.tensor([float(i), 0.0])), i % 2) for i in range(5)])

    dl = TfmdDL(Stream(), bs=2, after_batch=[lambda b: b])
    assert dl.n_inp == 1 and [len(b[1]) for b in dl] == [2, 2, 1]
    xb, yb = dl.decode(dl.one_batch())
    assert type(xb) is TensorXY and yb.tolist() == [0, 1]
    assert len(list(dl.new(bs=5))) == 1
