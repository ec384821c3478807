"""Transforms: categories, one-hot, normalisation, int→float, regression; round trips, plain state."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from plies.loaders import (
    Categorize,
    Category,
    CategoryMap,
    DataLoader,
    EncodedMultiCategorize,
    IntToFloatTensor,
    MultiCategorize,
    MultiCategory,
    Normalize,
    OneHotEncode,
    RegressionSetup,
    TfmdDL,
    TfmdLists,
    ToTensor,
)
from plies.pipes import Pipeline
from plies.typecore import (
    TensorBase,
    TensorBBox,
    TensorCategory,
    TensorImage,
    TensorImageBW,
    TensorMask,
    TensorMultiCategory,
    TensorPoint,
)


def test_category_map_sorted_unique_and_na():
    vocab = CategoryMap(["dog", "cat", "dog", "ant"])
    assert list(vocab) == ["ant", "cat", "dog"] and vocab.o2i == {"ant": 0, "cat": 1, "dog": 2}
    assert list(CategoryMap([3, 1, 2], add_na=True)) == ["#na#", 1, 2, 3]
    assert list(CategoryMap(np.array([2, 1]))) == [1, 2] and type(CategoryMap(np.array([2, 1]))[0]) is int
    with pytest.raises(TypeError, match="mixed types"):
        CategoryMap(["a", 1])


def test_categorize_vocab_from_training_subset_and_round_trip():
    labels = ["cat", "dog", "cat", "bird", "fish"]
    tl = TfmdLists(labels, [Categorize()], splits=[[0, 1, 2, 3], [4]])
    assert list(tl.vocab) == ["bird", "cat", "dog"]
    enc = tl.train[1]
    assert type(enc) is TensorCategory and enc.item() == 2
    assert tl.decode(enc) == "dog" and type(tl.decode(enc)) is Category


def test_unseen_label_error_names_label_item_and_vocab():
    labels = ["cat", "dog"] * 5 + ["zebra"]
    tl = TfmdLists(labels, [Categorize()], splits=[list(range(10)), [10]])
    msg = (
        r"Categorize: label 'zebra' \(item 10\) not in the vocab learned from the training set "
        r"\(2 labels: 'cat', 'dog'\)"
    )
    with pytest.raises(KeyError, match=msg):
        tl[10]
    with pytest.raises(KeyError, match=r"label 'zebra' \(item 0\)"):
        tl.valid[0]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=30))
def test_categorize_round_trip_property(labels):
    tfm = Categorize()
    tfm.setup(labels)
    assert [tfm.decode(tfm(o)) for o in labels] == labels
    assert len(tfm.vocab) == len(set(labels))


def test_multicategorize_onehot_round_trip():
    labels = [["a", "b"], ["c"], ["b", "c"], []]
    tl = TfmdLists(labels, [MultiCategorize(), OneHotEncode()])
    x = tl[0]
    assert type(x) is TensorMultiCategory and x.tolist() == [1.0, 1.0, 0.0]
    assert tl[3].tolist() == [0.0, 0.0, 0.0]
    dec = tl.decode(tl[2])
    assert type(dec) is MultiCategory and list(dec) == ["b", "c"]
    with pytest.raises(TypeError, match="expected a list of labels"):
        MultiCategorize(vocab=["a"])("a")


def test_encoded_multicategorize_decodes_to_labels():
    tfm = EncodedMultiCategorize(vocab=["x", "y", "z"])
    enc = tfm([0, 1, 1])
    assert type(enc) is TensorMultiCategory and enc.dtype == torch.float32
    assert list(tfm.decode(enc)) == ["y", "z"]


def test_int_to_float_round_trip_and_labels_untouched():
    tfm = IntToFloatTensor()
    x = TensorImage(torch.tensor([0, 51, 255], dtype=torch.uint8))
    y = TensorCategory(torch.tensor(3))
    fx, fy = tfm((x, y))
    assert type(fx) is TensorImage and torch.allclose(fx, torch.tensor([0.0, 0.2, 1.0]))
    assert fy is y
    assert tfm.decode(fx).tolist() == [0, 51, 255]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 255), min_size=1, max_size=64), st.booleans())
def test_int_to_float_image_round_trip_property(values, bw):
    cls = TensorImageBW if bw else TensorImage
    x = cls(torch.tensor(values, dtype=torch.uint8))
    tfm = IntToFloatTensor()
    fx = tfm(x)
    assert type(fx) is cls and fx.dtype == torch.float32
    assert torch.equal(fx, torch.tensor(values, dtype=torch.float32) / 255)
    assert tfm.decode(fx).tolist() == values


def _image_mask_points_batch():
    g = torch.Generator().manual_seed(0)
    img = TensorImage(torch.randint(0, 256, (2, 3, 4, 4), generator=g, dtype=torch.uint8))
    mask = TensorMask(torch.randint(0, 3, (2, 4, 4), generator=g, dtype=torch.uint8), codes=["a", "b", "c"])
    pts = TensorPoint(torch.rand(2, 5, 2, generator=g) * 4, img_size=(4, 4))
    boxes = TensorBBox(torch.tensor([[[0.0, 0.0, 2.0, 3.0]]] * 2))
    label = TensorCategory(torch.tensor([0, 1]))
    return img, mask, pts, boxes, label


def test_image_mask_points_batch_through_int_to_float_and_normalize():
    img, mask, pts, boxes, label = _image_mask_points_batch()
    mean, std = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]
    pipe = Pipeline([IntToFloatTensor(), Normalize.from_stats(mean, std)])
    out = pipe((img, mask, pts, boxes, label))
    want = (img.as_subclass(torch.Tensor).float() / 255 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(
        std
    ).view(1, 3, 1, 1)
    assert type(out[0]) is TensorImage and torch.allclose(out[0], want, atol=1e-6)
    # the mask stays integer class codes (int64 for the loss), with its metadata
    assert type(out[1]) is TensorMask and out[1].dtype == torch.int64 and out[1].codes == ["a", "b", "c"]
    assert torch.equal(out[1], mask.long())
    # points, boxes and categories are untouched (Normalize's (1, 3, 1, 1) stats would not even broadcast)
    assert out[2] is pts and out[3] is boxes and out[4] is label
    dec = pipe.decode(out)
    assert type(dec[0]) is TensorImage and torch.equal(dec[0], img.long())
    assert type(dec[1]) is TensorMask and torch.equal(dec[1], mask.long())
    assert dec[2] is pts and dec[3] is boxes and dec[4] is label


def test_int_to_float_div_mask_keeps_masks_integer():
    mask = TensorMask(torch.tensor([[0, 255], [255, 0]], dtype=torch.uint8))
    tfm = IntToFloatTensor(div_mask=255)
    enc = tfm(mask)
    assert type(enc) is TensorMask and enc.dtype == torch.int64 and enc.tolist() == [[0, 1], [1, 0]]
    assert tfm.decode(enc).tolist() == [[0, 255], [255, 0]]
    assert IntToFloatTensor(div_mask=255.0).div_mask == 255  # fastai passes floats; a whole one is fine
    loaded = IntToFloatTensor()
    loaded.load_state_dict({**loaded.state_dict(), "div_mask": 255.0})  # e.g. a state written by hand
    assert type(loaded.div_mask) is int and loaded(mask).dtype == torch.int64
    with pytest.raises(ValueError, match="div_mask must be a positive whole number"):
        loaded.load_state_dict({**loaded.state_dict(), "div_mask": 0.5})
    with pytest.raises(ValueError, match=r"div_mask must be a positive whole number .* got 2.5"):
        IntToFloatTensor(div_mask=2.5)
    with pytest.raises(ValueError, match=r"div_mask must be a positive whole number, got 0"):
        IntToFloatTensor(div_mask=0)
    with pytest.raises(TypeError, match=r"a TensorMask holds integer class codes, got dtype torch.float32"):
        tfm(TensorMask(torch.tensor([0.0, 0.5])))
    plain = TensorBase(torch.tensor([3, 200], dtype=torch.uint8))
    assert IntToFloatTensor()(plain) is plain  # only images are scaled: not "any TensorBase"


def test_normalize_stats_from_a_batch_and_decode():
    torch.manual_seed(0)
    x = TensorImage(torch.rand(32, 3, 4, 4) * 5 + 2)
    dl = TfmdDL(list(zip(x, torch.arange(32), strict=False)), bs=32, after_batch=[Normalize()])
    norm = dl.after_batch.fs[0]
    assert norm.mean.shape == (1, 3, 1, 1)
    xb, yb = dl.one_batch()
    assert abs(xb.mean().item()) < 1e-5 and abs(xb.std(dim=(0, 2, 3)) - 1).max().item() < 1e-3
    assert type(yb) is not TensorImage and yb.tolist() == list(range(32))
    assert torch.allclose(dl.decode((xb, yb))[0], x, atol=1e-5)


def test_normalize_stats_from_the_image_and_a_warning_without_one():
    torch.manual_seed(0)
    pts = TensorPoint(torch.rand(16, 5, 2) * 100)
    imgs = TensorImage(torch.rand(16, 2, 3, 3) * 4 + 1)
    dl = TfmdDL(list(zip(pts, imgs, strict=True)), bs=16, after_batch=[Normalize()])
    norm = dl.after_batch.fs[0]
    want_mean = imgs.as_subclass(torch.Tensor).mean((0, 2, 3), keepdim=True)
    assert torch.allclose(norm.mean, want_mean)  # from the image, though the points come first
    pb, xb = dl.one_batch()
    assert torch.equal(pb, pts) and abs(xb.mean().item()) < 1e-5
    with pytest.warns(
        UserWarning, match=r"Normalize: the batch holds no TensorImage \(found TensorPoint, Tensor\)"
    ):
        dl = TfmdDL(list(zip(pts, torch.arange(16), strict=True)), bs=16, after_batch=[Normalize()])
    assert dl.after_batch.fs[0].mean is None and torch.equal(dl.one_batch()[0], pts)


def test_normalize_from_stats_and_no_stats_error():
    norm = Normalize.from_stats([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])
    assert norm.mean.shape == (1, 3, 1, 1)
    x = TensorImage(torch.full((2, 3, 2, 2), 0.75))
    assert torch.allclose(norm(x), torch.ones(2, 3, 2, 2))
    with pytest.raises(ValueError, match="no mean/std given"):
        Normalize().setup(None)


def test_regression_setup_and_to_tensor():
    tfm = RegressionSetup()
    tfm.setup([[1.0, 2.0], [3.0, 4.0]])
    assert tfm.c == 2
    out = tfm([1, 2])
    assert out.dtype == torch.float32 and out.tolist() == [1.0, 2.0]
    t = ToTensor()(np.zeros((2, 2), dtype=np.uint8))
    assert isinstance(t, TensorBase) and t.shape == (2, 2)


def test_transform_states_round_trip_through_pipeline_state():
    cat = Categorize()
    cat.setup(["b", "a", "c"])
    norm = Normalize.from_stats([1.0, 2.0], [3.0, 4.0])
    pipe = Pipeline(
        [
            cat,
            MultiCategorize(vocab=["p", "q"]),
            OneHotEncode(c=2),
            IntToFloatTensor(div=100.0),
            norm,
            RegressionSetup(c=3),
            EncodedMultiCategorize(vocab=["u", "v"]),
        ]
    )
    state = pipe.state_dict()
    again = Pipeline.from_state_dict(state)
    by_type = {type(f): f for f in again.fs}
    assert list(by_type[Categorize].vocab) == ["a", "b", "c"] and by_type[Categorize]("c").item() == 2
    assert list(by_type[MultiCategorize].vocab) == ["p", "q"] and by_type[OneHotEncode].c == 2
    assert by_type[IntToFloatTensor].div == 100.0 and by_type[RegressionSetup].c == 3
    assert torch.equal(by_type[Normalize].mean, norm.mean) and torch.equal(by_type[Normalize].std, norm.std)
    assert list(by_type[EncodedMultiCategorize].vocab) == ["u", "v"]


def test_dataloader_over_categorized_items_is_tensor_category():
    tl = TfmdLists(["a", "b", "a"], [Categorize()])
    b = DataLoader(tl, bs=3).one_batch()
    assert type(b) is TensorCategory and b.tolist() == [0, 1, 0]


def test_category_and_multicategory_show_on_a_ctx(capsys):
    class Axes:
        title = None

        def set_title(self, t):
            self.title = t

    ax = Axes()
    assert Category("cat").show(ctx=ax) is ax and ax.title == "cat"
    assert MultiCategory(["a", "b"]).show(ctx=[]) == ["a;b"]
    assert Category("dog").show() == ["dog"]
    with pytest.raises(TypeError, match="cannot draw on a ctx of type int"):
        Category("x").show(ctx=3)


def test_regression_targets_given_as_text_are_refused_even_after_numbers():
    from plies.loaders import RegressionSetup

    t = RegressionSetup()
    assert t(2) == torch.tensor(2.0) and t([1, 2]).tolist() == [1.0, 2.0]
    for bad in ("3.5", ["1", "2"], np.array(["x"])):
        with pytest.raises(TypeError, match=r"RegressionSetup: the target .* is text, not a number"):
            t(bad)


def test_a_vocab_slices_and_selects_as_a_list_of_labels():
    from plies.loaders import CategoryMap
    from plies.typecore import L

    vocab = CategoryMap(["dog", "cat", "bird"])
    assert vocab[:2] == ["bird", "cat"] and type(vocab[:2]) is L
    assert vocab[[2, 0]] == ["dog", "bird"] and vocab[1] == "cat"
