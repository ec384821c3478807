"""SequentialEx/MergeLayer skip connections, residual and attention blocks, upsampling, small helpers."""

from __future__ import annotations

import pickle

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from plies.layers import (
    Cat,
    ConvLayer,
    CrossEntropyLossFlat,
    Lambda,
    MergeLayer,
    NoneReduce,
    NormType,
    PixelShuffle_ICNR,
    ProdLayer,
    ResBlock,
    SelfAttention,
    SEModule,
    SequentialEx,
    SimpleSelfAttention,
    sigmoid_range,
)
from torch import nn


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def test_sequential_ex_every_layer_sees_the_block_input() -> None:
    seen = []

    def record(t: torch.Tensor) -> torch.Tensor:
        seen.append(t.orig)
        return t * 2

    x = torch.ones(2, 3)
    block = SequentialEx(Lambda(record), Lambda(record), MergeLayer())
    out = block(x)
    assert all(o is x for o in seen)
    assert torch.equal(out, x * 4 + x)
    assert getattr(x, "orig", None) is None  # the reference is dropped after use
    assert len(block) == 3 and isinstance(block[2], MergeLayer)


def test_merge_layer_add_dense_and_func() -> None:
    x = torch.randn(2, 4, 5, 5)
    conv = nn.Conv2d(4, 4, 1)
    assert torch.allclose(SequentialEx(conv, MergeLayer())(x), conv(x) + x)
    dense = SequentialEx(conv, MergeLayer(dense=True))(x)
    assert dense.shape == (2, 8, 5, 5) and torch.equal(dense[:, 4:], x)
    assert torch.allclose(SequentialEx(conv, MergeLayer(func=torch.maximum))(x), torch.maximum(conv(x), x))
    assert torch.allclose(SequentialEx(conv, ProdLayer())(x), conv(x) * x)
    with pytest.raises(ValueError, match="inside a SequentialEx"):
        MergeLayer()(x)


def test_se_module_gates_channels() -> None:
    se = SEModule(32, reduction=4)
    x = torch.randn(2, 32, 6, 6)
    out = se(x)
    gate = out / x
    assert out.shape == x.shape
    assert torch.allclose(gate, gate[:, :, :1, :1].expand_as(gate), atol=1e-5)  # one gate per channel
    assert bool(((gate > 0) & (gate < 1)).all())
    assert se[1][0].out_channels == 8


@pytest.mark.parametrize(
    ("kwargs", "ni", "out_c"),
    [
        ({"expansion": 1, "nf": 16, "stride": 2}, 8, 16),
        ({"expansion": 4, "nf": 8, "stride": 2}, 4, 32),
        ({"expansion": 1, "nf": 16, "groups": 4, "reduction": 4}, 16, 16),
        ({"expansion": 1, "nf": 16, "dw": True, "sa": True, "sym": True}, 16, 16),
        ({"expansion": 1, "nf": 16, "stride": 2, "pool_first": False}, 8, 16),
        ({"expansion": 1, "nf": 16, "norm_type": NormType.Instance}, 8, 16),
    ],
)
def test_res_block_shapes(kwargs: dict, ni: int, out_c: int) -> None:
    expansion = kwargs.pop("expansion")
    nf = kwargs.pop("nf")
    block = ResBlock(expansion, ni, nf, **kwargs)
    x = torch.randn(2, ni * expansion, 8, 8)
    stride = kwargs.get("stride", 1)
    assert block(x).shape == (2, out_c, 8 // stride, 8 // stride)


def test_res_block_shortcut_and_zero_init() -> None:
    block = ResBlock(1, 8, 16, stride=2)
    assert isinstance(block.idpath[0], nn.AvgPool2d) and isinstance(block.idpath[1], ConvLayer)
    assert torch.equal(block.convpath[-1][1].weight, torch.zeros(16))
    pool_last = ResBlock(1, 8, 16, stride=2, pool_first=False)
    assert isinstance(pool_last.idpath[0], ConvLayer) and isinstance(pool_last.idpath[1], nn.AvgPool2d)
    inst = ResBlock(1, 8, 8, norm_type=NormType.Instance)
    assert torch.equal(inst.convpath[-1][1].weight, torch.zeros(8))  # InstanceZero on the last norm
    same = ResBlock(1, 8, 8)
    assert len(same.idpath) == 0


def test_self_attention_starts_as_identity() -> None:
    x = torch.randn(2, 16, 5, 7)
    for layer in (SimpleSelfAttention(16), SimpleSelfAttention(16, sym=True), SelfAttention(16)):
        assert torch.allclose(layer(x), x)  # gamma starts at 0
        with torch.no_grad():
            layer.gamma.fill_(1.0)
        assert not torch.allclose(layer(x), x)
    with pytest.raises(ValueError, match="sym=True needs ks=1"):
        SimpleSelfAttention(16, ks=3, sym=True)


def test_pixel_shuffle_icnr_starts_as_nearest_neighbour() -> None:
    x = torch.randn(2, 6, 5, 7)
    up = PixelShuffle_ICNR(6, 4, norm_type=None, act_cls=None)
    out = up(x)
    assert out.shape == (2, 4, 10, 14)
    # every 2x2 block of the output is constant: an upsampling with no checkerboard at init
    assert torch.allclose(out, F.interpolate(out[:, :, ::2, ::2], scale_factor=2, mode="nearest"), atol=1e-6)
    weighted = PixelShuffle_ICNR(6, 4, act_cls=None)  # default weight norm
    assert hasattr(weighted[0][0], "parametrizations")
    w = weighted[0][0].weight
    assert all(torch.allclose(w[4 * c + k], w[4 * c]) for c in range(4) for k in range(4))
    blurred = PixelShuffle_ICNR(6, blur=True, scale=3)
    assert blurred(x).shape == (2, 6, 15, 21)
    assert isinstance(blurred[-1], nn.AvgPool2d)


def test_cat_and_none_reduce() -> None:
    x = torch.randn(2, 3, 4, 4)
    cat = Cat([nn.Conv2d(3, 2, 1), nn.Conv2d(3, 5, 1)])
    assert cat(x).shape == (2, 7, 4, 4)
    out, targ = torch.randn(6, 3), torch.randint(0, 3, (6,))
    loss = CrossEntropyLossFlat()
    with NoneReduce(loss) as per_item:
        assert per_item(out, targ).shape == (6,)
    assert loss.reduction == "mean" and loss(out, targ).shape == ()
    with NoneReduce(F.cross_entropy) as per_item_fn:
        assert torch.allclose(per_item_fn(out, targ), F.cross_entropy(out, targ, reduction="none"))


def test_layers_pickle() -> None:
    block = SequentialEx(ConvLayer(3, 3), MergeLayer())
    clone = pickle.loads(pickle.dumps(block))
    x = torch.randn(2, 3, 4, 4)
    block.eval(), clone.eval()
    assert torch.equal(block(x), clone(x))


@settings(max_examples=25, deadline=None)
@given(
    bs=st.integers(1, 3),
    n_classes=st.integers(2, 5),
    spatial=st.lists(st.integers(1, 4), min_size=0, max_size=2),
)
def test_cross_entropy_flat_equals_functional_for_any_shape(
    bs: int, n_classes: int, spatial: list[int]
) -> None:
    out = torch.randn(bs, n_classes, *spatial)
    targ = torch.randint(0, n_classes, (bs, *spatial))
    assert torch.allclose(CrossEntropyLossFlat(axis=1)(out, targ), F.cross_entropy(out, targ), atol=1e-6)


@settings(max_examples=50, deadline=None)
@given(low=st.floats(-100, 100), width=st.floats(0.01, 100), value=st.floats(-1e6, 1e6))
def test_sigmoid_range_stays_in_range(low: float, width: float, value: float) -> None:
    y = sigmoid_range(torch.tensor([value], dtype=torch.float64), low, low + width).item()
    assert low <= y <= low + width
