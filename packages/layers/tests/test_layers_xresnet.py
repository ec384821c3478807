"""XResNet: every registered constructor runs, parameter counts match the architecture, specs round-trip."""

from __future__ import annotations

import pytest
import torch
from plies.layers import (
    XRESNETS,
    ConvLayer,
    Mish,
    NormType,
    ResBlock,
    SeparableBlock,
    XResNet,
    xresnet18,
    xresnet34,
    xresnet50,
    xse_resnext18,
)
from plies.typecore import build_from_spec
from torch import nn

FAST = {
    "xresnet18",
    "xresnet18_deep",
    "xresnet18_deeper",
    "xresnext18",
    "xse_resnext18",
    "xse_resnext18_deeper",
}
ALL_NAMES = [
    "xresnet18", "xresnet34", "xresnet50", "xresnet101", "xresnet152",
    "xresnet18_deep", "xresnet34_deep", "xresnet50_deep",
    "xresnet18_deeper", "xresnet34_deeper", "xresnet50_deeper",
    "xresnext18", "xresnext34", "xresnext50", "xresnext101",
    "xse_resnet18", "xse_resnet34", "xse_resnet50", "xse_resnet101", "xse_resnet152",
    "xse_resnext18", "xse_resnext34", "xse_resnext50", "xse_resnext101",
    "xse_resnext18_deep", "xse_resnext34_deep", "xse_resnext50_deep",
    "xse_resnext18_deeper", "xse_resnext34_deeper", "xse_resnext50_deeper", "xsenet154",
]  # fmt: skip


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_registry_lists_every_constructor() -> None:
    assert sorted(XRESNETS) == sorted(ALL_NAMES)
    assert all(callable(f) and f.__name__ == name for name, f in XRESNETS.items())


@pytest.mark.parametrize("name", ALL_NAMES)
def test_every_constructor_output_shape(name: str) -> None:
    torch.manual_seed(0)
    sizes, bs = [(32, 32), (40, 56), (64, 64)], 2
    if name in FAST:
        model = XRESNETS[name](n_out=5).eval()
        with torch.no_grad():
            for size in sizes:
                out = model(torch.randn(bs, 3, *size))
                assert out.shape == (bs, 5) and bool(torch.isfinite(out).all()), size
        return
    # The big variants (up to 324M parameters) are built and run on the meta device: every layer is
    # constructed and checks its input shapes, without the seconds and gigabytes of a real init. They
    # share their blocks with the FAST variants above, which run on real numbers.
    with torch.device("meta"):
        model = XRESNETS[name](n_out=5).eval()
        for size in sizes:
            assert model(torch.randn(bs, 3, *size)).shape == (bs, 5), size


def _conv_bn(ni: int, nf: int, ks: int, groups: int = 1) -> int:
    """Parameters of a bias-free conv followed by BatchNorm (weight + bias)."""
    return ni // groups * nf * ks * ks + 2 * nf


def _expected_xresnet_params(expansion: int, layers: list[int], n_out: int = 1000, c_in: int = 3) -> int:
    """Parameter count of an XResNet written out from the architecture, not from plies' code."""
    total = _conv_bn(c_in, 32, 3) + _conv_bn(32, 32, 3) + _conv_bn(32, 64, 3)  # three-conv stem
    widths = [64 // expansion, 64, 128, 256, 512]
    for stage, n_blocks in enumerate(layers):
        for b in range(n_blocks):
            ni = (widths[stage] if b == 0 else widths[stage + 1]) * expansion
            nf, nh = widths[stage + 1] * expansion, widths[stage + 1]
            if expansion == 1:  # two 3x3 convs
                total += _conv_bn(ni, nf, 3) + _conv_bn(nf, nf, 3)
            else:  # 1x1 reduce, 3x3, 1x1 expand
                total += _conv_bn(ni, nh, 1) + _conv_bn(nh, nh, 3) + _conv_bn(nh, nf, 1)
            if ni != nf:  # 1x1 conv on the shortcut (the avg-pool has no parameters)
                total += _conv_bn(ni, nf, 1)
    return total + widths[-1] * expansion * n_out + n_out  # final linear layer


def test_xresnet18_parameter_count() -> None:
    expected = _expected_xresnet_params(1, [2, 2, 2, 2])
    assert expected == 11_708_744
    assert n_params(xresnet18()) == expected


def test_xresnet50_parameter_count() -> None:
    expected = _expected_xresnet_params(4, [3, 4, 6, 3])
    assert expected == 25_576_264
    assert n_params(xresnet50()) == expected


def test_xresnet34_and_options_parameter_count() -> None:
    assert n_params(xresnet34(n_out=10, c_in=1)) == _expected_xresnet_params(1, [3, 4, 6, 3], 10, c_in=1)


def test_bag_of_tricks_structure() -> None:
    model = xresnet18(n_out=4)
    assert [type(m) for m in model[:4]] == [ConvLayer] * 3 + [nn.MaxPool2d]
    assert type(model[:4]) is nn.Sequential
    assert [m[0].stride for m in model[:3]] == [(2, 2), (1, 1), (1, 1)]
    blocks = [m for m in model.modules() if isinstance(m, ResBlock)]
    assert len(blocks) == 8
    for block in blocks:
        last_bn = block.convpath[-1][1]
        assert isinstance(last_bn, nn.BatchNorm2d) and torch.equal(
            last_bn.weight, torch.zeros_like(last_bn.weight)
        )
        assert torch.equal(block.convpath[0][1].weight, torch.ones_like(block.convpath[0][1].weight))
    downsampling = blocks[2]  # first block of stage 2
    assert isinstance(downsampling.idpath[0], nn.AvgPool2d) and downsampling.idpath[0].ceil_mode
    assert downsampling.idpath[1][0].kernel_size == (1, 1) and downsampling.idpath[1][0].stride == (1, 1)
    assert isinstance(model[-1], nn.Linear) and model[-1].out_features == 4
    # zero-initialised residual branches: at init each block is identity + ReLU on its shortcut
    block = blocks[1].eval()
    x = torch.randn(2, 64, 8, 8)
    assert torch.allclose(block(x), torch.relu(x))


def test_xresnet_parameters() -> None:
    x = torch.randn(2, 1, 32, 32)
    model = xresnet18(c_in=1, n_out=3, p=0.3, act_cls=Mish, stem_szs=(16, 64), widen=0.5, sa=True)
    assert model(x).shape == (2, 3)
    assert sum(isinstance(m, nn.Mish) for m in model.modules()) > 0
    assert isinstance(model[-2], nn.Dropout) and model[-2].p == 0.3
    assert model[-1].in_features == 256  # 512 * widen
    assert len([m for m in model[:2]]) == 2 and model[0][0].in_channels == 1
    sa = [m for m in model.modules() if type(m).__name__ == "SimpleSelfAttention"]
    assert len(sa) == 1
    dw = XResNet(SeparableBlock, 1, [1, 1, 1, 1], n_out=2)
    assert dw(torch.randn(2, 3, 32, 32)).shape == (2, 2)
    assert any(isinstance(m, nn.Conv2d) and m.groups == m.in_channels > 1 for m in dw.modules())
    inst = xresnet18(n_out=2, norm_type=NormType.Instance)
    assert any(isinstance(m, nn.InstanceNorm2d) for m in inst.modules())


@pytest.mark.parametrize(("ndim", "ks", "size"), [(1, 15, (128,)), (3, 3, (24, 24, 24)), (3, 3, (8, 32, 32))])
def test_xresnet_1d_3d(ndim: int, ks: int, size: tuple[int, ...]) -> None:
    model = xresnet18(ndim=ndim, ks=ks, n_out=3, c_in=2).eval()
    with torch.no_grad():  # a depth of 8 reaches size 1 three stages before the end: the shortcut pool copes
        assert model(torch.randn(2, 2, *size)).shape == (2, 3)
    assert any(isinstance(m, getattr(nn, f"Conv{ndim}d")) for m in model.modules())
    assert model[0][0].kernel_size == (ks,) * ndim


def test_resnext_groups_and_se() -> None:
    model = xse_resnext18(n_out=2)
    assert any(isinstance(m, nn.Conv2d) and m.groups == 32 for m in model.modules())
    assert any(isinstance(m, nn.Sigmoid) for m in model.modules())


def test_xresnet_errors() -> None:
    with pytest.raises(ValueError, match="ks must be odd"):
        xresnet18(ks=4)
    with pytest.raises(ValueError, match="no pretrained weights"):
        xresnet18(pretrained=True)
    with pytest.raises(TypeError, match="bogus"):
        xresnet18(bogus=1)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"n_out": 7, "c_in": 1}, {"act_cls": Mish, "sa": True, "widen": 0.5, "stem_szs": [16, 32, 64]}],
)
def test_build_spec_round_trip_xresnet18(kwargs: dict) -> None:
    torch.manual_seed(0)
    model = xresnet18(**kwargs)
    assert model.build_spec["builder"].endswith("xresnet18")
    rebuilt = build_from_spec(model.build_spec)
    assert type(rebuilt) is XResNet and str(rebuilt) == str(model)
    rebuilt.load_state_dict(model.state_dict())
    x = torch.randn(2, kwargs.get("c_in", 3), 32, 32)
    model.eval(), rebuilt.eval()
    assert torch.equal(model(x), rebuilt(x))


@pytest.mark.parametrize("name", ["xresnet50", "xse_resnext18", "xresnext18", "xresnet18_deep"])
def test_build_spec_round_trip_structure(name: str) -> None:
    model = XRESNETS[name](n_out=3)
    rebuilt = build_from_spec(model.build_spec)
    assert str(rebuilt) == str(model)
    assert [p.shape for p in rebuilt.parameters()] == [p.shape for p in model.parameters()]


def test_no_build_spec_for_non_plain_arguments() -> None:
    class MyAct(nn.ReLU):
        pass

    assert not hasattr(xresnet18(act_cls=MyAct), "build_spec")
