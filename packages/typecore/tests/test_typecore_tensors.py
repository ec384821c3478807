"""Semantic tensors: construction, type and metadata kept through ops, the mixing rule, pickling."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from plies.typecore import (
    TensorBase,
    TensorCategory,
    TensorImage,
    TensorImageBW,
    TensorMask,
    TensorMultiCategory,
    tensor,
)


def test_construct_from_list_array_tensor_and_number() -> None:
    assert TensorBase([1, 2, 3]).tolist() == [1, 2, 3]
    assert TensorBase(np.array([1.0, 2.0])).dtype is torch.float32  # float64 -> float32
    t = torch.arange(4)
    b = TensorBase(t)
    assert type(b) is TensorBase and b.data_ptr() == t.data_ptr()  # no copy
    assert type(t) is torch.Tensor  # the input keeps its own type
    assert TensorBase(3).item() == 3


def test_metadata_from_constructor_and_inherited_from_input() -> None:
    img = TensorImage(torch.zeros(2, 3), img_size=(2, 3))
    assert img.img_size == (2, 3)
    bw = TensorImageBW(img, cmap="gray")
    assert (bw.img_size, bw.cmap) == ((2, 3), "gray")
    assert not hasattr(img, "cmap")


def test_type_and_metadata_survive_ops_indexing_and_moves() -> None:
    img = TensorImage(torch.arange(6.0).view(2, 3), img_size=(2, 3))
    results = [
        img + 1,
        img * img,
        img[0],
        img[:, 1:],
        img.sum(0),
        img.to("cpu"),
        img.cpu(),
        img.float(),
        img.clone(),
        img.view(3, 2),
        torch.relu(img),
        torch.nn.functional.softmax(img, dim=1),
        torch.cat([img, img]),
        torch.stack([img, img]),
        torch.where(img > 2, img, torch.zeros(2, 3)),
    ]
    for r in results:
        assert type(r) is TensorImage, r
        assert r.img_size == (2, 3)
    assert (img + 1).tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


def test_non_tensor_results_and_tuple_results() -> None:
    img = TensorImage([[1.0, 5.0], [3.0, 2.0]], img_size=(2, 2))
    assert img.shape == (2, 2) and isinstance(img.shape, torch.Size)
    assert img.tolist() == [[1.0, 5.0], [3.0, 2.0]]
    assert img.sum().item() == 11.0 and img.dim() == 2 and len(img) == 2
    values, indices = img.max(1)
    assert type(values) is TensorImage and type(indices) is TensorImage
    assert values.tolist() == [5.0, 3.0] and indices.tolist() == [1, 0]
    assert values.img_size == (2, 2)
    parts = torch.split(img, 1)
    assert isinstance(parts, tuple) and [type(p) for p in parts] == [TensorImage, TensorImage]
    assert parts[1].tolist() == [[3.0, 2.0]]


def test_mixing_rule_most_derived_then_first_argument() -> None:
    base, img, bw, mask = TensorBase([1.0]), TensorImage([1.0]), TensorImageBW([1.0]), TensorMask([1.0])
    assert type(base + img) is TensorImage and type(img + base) is TensorImage
    assert type(img + bw) is TensorImageBW and type(bw + img) is TensorImageBW
    assert type(img + mask) is TensorImage and type(mask + img) is TensorMask
    assert type(torch.cat([mask, img])) is TensorMask
    assert type(torch.ones(1) + img) is TensorImage and type(img + torch.ones(1)) is TensorImage


def test_metadata_comes_from_first_tensorbase_argument_that_has_some() -> None:
    a = TensorImage([1.0], img_size=(1, 1))
    b = TensorImage([2.0], img_size=(9, 9), extra=True)
    plain_first = TensorImage([0.0])
    assert (a + b).img_size == (1, 1) and not hasattr(a + b, "extra")
    assert (plain_first + b).img_size == (9, 9)
    assert torch.cat([plain_first, b]).extra is True


def test_metadata_is_found_on_every_kind_of_tensorbase_argument() -> None:
    """TensorBase itself, a subclass of a subclass, and a class made at run time all carry metadata."""
    made_later = type("TensorPoint", (TensorImageBW,), {})
    plain = torch.ones(1)
    for cls in (TensorBase, TensorImageBW, made_later):
        t = cls([2.0], img_size=(4, 4))
        for res in (t * 3, plain + t, torch.cat([plain, t]), torch.stack((TensorMask([1.0]), t))):
            assert type(res) in (cls, TensorMask) and res.img_size == (4, 4), (cls, res)
        assert (t * 3).tolist() == [6.0] and (plain + t).tolist() == [3.0]


def test_inputs_never_change_type() -> None:
    img = TensorImage([1.0, 2.0], img_size=(1, 2))
    plain = torch.zeros(2)
    res = plain.add_(img)
    assert res is plain and type(plain) is torch.Tensor
    out = torch.empty(2)
    torch.add(img, img, out=out)
    assert type(out) is torch.Tensor and out.tolist() == [2.0, 4.0]
    assert img.to("cpu") is img and type(img) is TensorImage


def test_grad_is_not_retyped_and_autograd_flows() -> None:
    img = TensorImage(torch.ones(3), img_size=(3,)).requires_grad_()
    (img * 2).sum().backward()
    assert img.grad is not None and type(img.grad) is torch.Tensor
    assert img.grad.tolist() == [2.0, 2.0, 2.0]


def test_pickle_keeps_type_metadata_and_requires_grad() -> None:
    img = TensorImage(torch.arange(4.0), img_size=(2, 2), label="x")
    img.requires_grad_()
    back = pickle.loads(pickle.dumps(img))
    assert type(back) is TensorImage and back.__dict__ == {"img_size": (2, 2), "label": "x"}
    assert back.requires_grad and back.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_torch_save_load_keeps_type(tmp_path) -> None:
    img = TensorImage(torch.arange(3.0), img_size=(1, 3))
    torch.save(img, tmp_path / "t.pt")
    back = torch.load(tmp_path / "t.pt", weights_only=False)
    assert type(back) is TensorImage and back.img_size == (1, 3)


def test_weights_only_load_with_allowlisted_class(tmp_path) -> None:
    cat = TensorCategory([1, 2], vocab=("a", "b", "c"))
    torch.save(cat, tmp_path / "c.pt")
    with torch.serialization.safe_globals([TensorCategory]):
        back = torch.load(tmp_path / "c.pt", weights_only=True)
    assert type(back) is TensorCategory and back.vocab == ("a", "b", "c") and back.tolist() == [1, 2]


def test_deepcopy_copies_data_and_metadata() -> None:
    img = TensorImage(torch.zeros(2), meta={"a": [1]})
    c = copy.deepcopy(img)
    assert type(c) is TensorImage and c.meta == {"a": [1]}
    c.meta["a"].append(2)
    c[0] = 5
    assert img.meta == {"a": [1]} and img.tolist() == [0.0, 0.0]


def test_categories_hierarchy() -> None:
    assert issubclass(TensorMultiCategory, TensorCategory) and issubclass(TensorCategory, TensorBase)
    c = TensorCategory([0, 2, 1])
    assert c.dtype is torch.int64 and type(c[1:]) is TensorCategory
    m = TensorMultiCategory([[0, 1], [1, 0]])
    assert type(m.float()) is TensorMultiCategory


def test_repr_and_format() -> None:
    assert repr(TensorImage([1, 2])) == "TensorImage([1, 2])"
    assert f"{TensorBase(0.123456).sum():.3f}" == "0.123" and f"{TensorCategory(3)}" == "3"
    assert f"{TensorImage([1, 2])}" == "TensorImage([1, 2])"


def test_metadata_name_clashing_with_tensor_attribute_is_refused() -> None:
    with pytest.raises(ValueError, match="metadata name 'shape' clashes"):
        TensorBase([1], shape=(1,))


def test_tensor_constructor() -> None:
    assert tensor(1, 2, 3).tolist() == [1, 2, 3]
    assert tensor([1.5, 2.5]).dtype is torch.float32
    assert tensor(np.arange(3, dtype=np.float64)).dtype is torch.float32
    assert tensor(np.arange(3, dtype=np.float64), dtype=torch.float64).dtype is torch.float64
    assert tensor(np.array([1, 2], dtype=np.uint16)).dtype is torch.float32
    stacked = tensor(torch.ones(2), torch.zeros(2))
    assert stacked.shape == (2, 2) and stacked.tolist() == [[1.0, 1.0], [0.0, 0.0]]
    assert tensor([np.ones(2), np.zeros(2)]).shape == (2, 2)
    t = torch.arange(3)
    assert tensor(t) is t
    assert tensor(np.int64(4)).item() == 4
    assert tensor(5, requires_grad=False).item() == 5
    assert tensor([1.0], requires_grad=True).requires_grad


def test_tensor_from_read_only_array_copies() -> None:
    a = np.arange(3)
    a.flags.writeable = False
    assert tensor(a).tolist() == [0, 1, 2]


def test_tensor_rejects_object_arrays() -> None:
    with pytest.raises(TypeError, match="dtype object"):
        tensor(np.array(["a", None], dtype=object))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-100, 100, allow_nan=False), min_size=1, max_size=8), st.integers(0, 3))
def test_ops_keep_type_and_match_plain_values(xs: list[float], k: int) -> None:
    plain = torch.tensor(xs)
    img = TensorImage(plain.clone(), tag=k)
    for f in (lambda t: t * 2 + k, lambda t: t.abs().sqrt(), lambda t: t[: k + 1], lambda t: t.flip(0)):
        got, want = f(img), f(plain)
        assert type(got) is TensorImage and got.tag == k
        assert torch.equal(got.as_subclass(torch.Tensor), want)
