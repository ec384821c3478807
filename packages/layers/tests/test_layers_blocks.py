"""Building blocks: Module, small layers, ConvLayer and norms, pooling, heads, activations, inits."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from plies.layers import (
    AdaptiveConcatPool1d,
    AdaptiveConcatPool2d,
    BatchNorm,
    BatchNorm1dFlat,
    ConvLayer,
    Embedding,
    Flatten,
    InstanceNorm,
    Lambda,
    LinBnDrop,
    Mish,
    MishJit,
    Module,
    NormType,
    PartialLambda,
    ResizeBatch,
    SigmoidRange,
    View,
    create_head,
    icnr_init,
    init_default,
    init_linear,
    mish,
    sigmoid_range,
    trunc_normal_,
)
from torch import nn


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def test_module_needs_no_super_init() -> None:
    class Net(Module):
        def __init__(self, n: int) -> None:
            self.lin = nn.Linear(n, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.lin(x)

    net = Net(3)
    assert net(torch.zeros(4, 3)).shape == (4, 2)
    assert [n for n, _ in net.named_parameters()] == ["lin.weight", "lin.bias"]

    class Polite(Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(1, 1)

    assert len(list(Polite().parameters())) == 2


def test_small_layers() -> None:
    x = torch.arange(24.0).view(2, 3, 4)
    assert torch.equal(Lambda(lambda t: t * 2)(x), x * 2)
    assert torch.equal(PartialLambda(torch.sum, dim=1)(x), x.sum(1))
    assert Flatten()(x).shape == (2, 12)
    assert Flatten(full=True)(x).shape == (24,)
    assert View(6, 4)(x).shape == (6, 4)
    assert ResizeBatch(12)(x).shape == (2, 12)


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_conv_layer_shapes_and_structure(ndim: int) -> None:
    layer = ConvLayer(3, 8, ndim=ndim)
    assert isinstance(layer[0], getattr(nn, f"Conv{ndim}d"))
    assert isinstance(layer[1], getattr(nn, f"BatchNorm{ndim}d")) and isinstance(layer[2], nn.ReLU)
    assert layer[0].bias is None and layer[0].padding == (1,) * ndim
    x = torch.randn(2, 3, *([6] * ndim))
    assert layer(x).shape == (2, 8, *([6] * ndim))
    assert ConvLayer(3, 8, stride=2, ndim=ndim)(x).shape == (2, 8, *([3] * ndim))


def test_conv_layer_options() -> None:
    x = torch.randn(2, 3, 8, 8)
    transposed = ConvLayer(3, 5, ks=2, stride=2, transpose=True)
    assert isinstance(transposed[0], nn.ConvTranspose2d)
    assert transposed(x).shape == (2, 5, 16, 16)
    no_norm = ConvLayer(3, 4, norm_type=None, act_cls=None)
    assert len(no_norm) == 1 and no_norm[0].bias is not None
    act_first = ConvLayer(3, 4, bn_1st=False)
    assert isinstance(act_first[1], nn.ReLU) and isinstance(act_first[2], nn.BatchNorm2d)
    inst = ConvLayer(3, 4, norm_type=NormType.Instance)
    assert isinstance(inst[1], nn.InstanceNorm2d) and inst[0].bias is None
    wn = ConvLayer(3, 4, norm_type=NormType.Weight)
    assert hasattr(wn[0], "parametrizations") and wn(x).shape == (2, 4, 8, 8)
    sn = ConvLayer(3, 4, norm_type=NormType.Spectral)
    assert hasattr(sn[0].parametrizations, "weight")
    zero = ConvLayer(3, 4, norm_type=NormType.BatchZero, act_cls=None)
    assert torch.equal(zero(x), torch.full_like(zero(x), 1e-3))  # zero-init norm: output is the bias
    assert isinstance(ConvLayer(3, 4, xtra=nn.Dropout())[-1], nn.Dropout)
    with pytest.raises(TypeError, match="dilaton"):
        ConvLayer(3, 4, dilaton=2)
    with pytest.raises(ValueError, match="ndim must be 1, 2 or 3"):
        ConvLayer(3, 4, ndim=4)


def test_conv_layer_kaiming_init_for_relu() -> None:
    conv = ConvLayer(64, 64, ks=3, norm_type=None, act_cls=nn.ReLU)[0]
    fan_in = 64 * 9
    bound = (6 / fan_in) ** 0.5  # kaiming_uniform_ with a=0
    assert conv.weight.abs().max() <= bound
    assert conv.weight.std().item() == pytest.approx(bound / 3**0.5, rel=0.05)
    assert conv.bias.std().item() == pytest.approx(0.01, rel=0.3)


def test_batchnorm_zero_and_instancenorm() -> None:
    bn = BatchNorm(5)
    assert torch.equal(bn.weight, torch.ones(5)) and torch.allclose(bn.bias, torch.full((5,), 1e-3))
    zero = BatchNorm(5, norm_type=NormType.BatchZero)
    assert torch.equal(zero.weight, torch.zeros(5))
    assert isinstance(BatchNorm(5, ndim=1), nn.BatchNorm1d) and isinstance(
        BatchNorm(5, ndim=3), nn.BatchNorm3d
    )
    inn = InstanceNorm(4, norm_type=NormType.InstanceZero)
    assert isinstance(inn, nn.InstanceNorm2d) and torch.equal(inn.weight, torch.zeros(4))
    flat = BatchNorm1dFlat(3)
    assert flat(torch.randn(2, 5, 3)).shape == (2, 5, 3)


def test_lin_bn_drop_order() -> None:
    layers = LinBnDrop(10, 4, p=0.2, act=nn.ReLU())
    assert [type(m) for m in layers] == [nn.BatchNorm1d, nn.Dropout, nn.Linear, nn.ReLU]
    assert layers[2].bias is None
    first = LinBnDrop(10, 4, p=0.2, lin_first=True)
    assert [type(m) for m in first] == [nn.Linear, nn.BatchNorm1d, nn.Dropout]
    assert first[1].num_features == 4
    plain = LinBnDrop(10, 4, bn=False)
    assert [type(m) for m in plain] == [nn.Linear] and plain[0].bias is not None


def test_adaptive_concat_pool() -> None:
    x = torch.randn(2, 3, 5, 7)
    out = AdaptiveConcatPool2d()(x)
    assert out.shape == (2, 6, 1, 1)
    assert torch.allclose(out[:, :3, 0, 0], x.amax((2, 3))) and torch.allclose(
        out[:, 3:, 0, 0], x.mean((2, 3))
    )
    assert AdaptiveConcatPool2d(2)(x).shape == (2, 6, 2, 2)
    x1 = torch.randn(2, 3, 9)
    out1 = AdaptiveConcatPool1d()(x1)
    assert out1.shape == (2, 6, 1) and torch.allclose(out1[:, :3, 0], x1.amax(2))


def test_create_head_default() -> None:
    head = create_head(16, 5)
    types = [type(m) for m in head]
    assert types == [
        AdaptiveConcatPool2d,
        Flatten,
        nn.BatchNorm1d,
        nn.Dropout,
        nn.Linear,
        nn.ReLU,
        nn.BatchNorm1d,
        nn.Dropout,
        nn.Linear,
    ]
    assert head[2].num_features == 32 and head[4].in_features == 32 and head[4].out_features == 512
    assert head[3].p == 0.25 and head[7].p == 0.5
    assert head(torch.randn(2, 16, 3, 3)).shape == (2, 5)


def test_create_head_options() -> None:
    head = create_head(
        8,
        3,
        lin_ftrs=[20, 10],
        ps=[0.1, 0.2, 0.3],
        concat_pool=False,
        first_bn=False,
        bn_final=True,
        y_range=(0, 4),
    )
    assert isinstance(head[0], nn.AdaptiveAvgPool2d)
    linears = [m for m in head if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(8, 20), (20, 10), (10, 3)]
    assert [m.p for m in head if isinstance(m, nn.Dropout)] == [0.1, 0.2, 0.3]
    assert isinstance(head[-2], nn.BatchNorm1d) and isinstance(head[-1], SigmoidRange)
    assert not isinstance(head[2], nn.BatchNorm1d)
    head.eval()
    out = head(torch.randn(4, 8, 2, 2))
    assert out.shape == (4, 3) and bool(((out > 0) & (out < 4)).all())
    lin_first = create_head(8, 3, lin_first=True)
    assert lin_first(torch.randn(2, 8, 2, 2)).shape == (2, 3)
    assert isinstance(lin_first[-1], nn.Linear)
    with pytest.raises(ValueError, match="expected 2 dropout values"):
        create_head(8, 3, ps=[0.1, 0.2, 0.3])


def test_mish_value_and_gradient() -> None:
    x = torch.linspace(-6, 6, 101, dtype=torch.float64)
    reference_x = x.clone().requires_grad_()
    reference = reference_x * torch.tanh(F.softplus(reference_x))
    reference.sum().backward()
    for act in (Mish(), MishJit(), mish):
        xi = x.clone().requires_grad_()
        out = act(xi)
        assert torch.allclose(out, reference.detach(), atol=1e-12)
        out.sum().backward()
        assert torch.allclose(xi.grad, reference_x.grad, atol=1e-10)


def test_mish_jit_gradcheck() -> None:
    x = torch.randn(6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(MishJit(), (x,))


def test_sigmoid_range() -> None:
    x = torch.tensor([-100.0, 0.0, 100.0])
    assert torch.allclose(sigmoid_range(x, -1, 5), torch.tensor([-1.0, 2.0, 5.0]))
    assert torch.allclose(SigmoidRange(1, 3)(torch.zeros(2)), torch.tensor([2.0, 2.0]))


def test_init_helpers() -> None:
    lin = nn.Linear(100, 50)
    init_default(lin, nn.init.ones_)
    assert torch.equal(lin.weight, torch.ones(50, 100)) and torch.equal(lin.bias, torch.zeros(50))
    init_linear(lin, nn.ReLU(), bias_std=0)
    assert torch.equal(lin.bias, torch.zeros(50)) and lin.weight.abs().max() <= (6 / 100) ** 0.5
    init_linear(lin, None, init=nn.init.zeros_)
    assert torch.equal(lin.weight, torch.zeros(50, 100))
    with pytest.raises(ValueError, match="init must be 'auto'"):
        init_linear(lin, None, init="kaiming")
    t = trunc_normal_(torch.empty(10000), mean=1.0, std=0.5)
    assert t.min() >= 0.0 and t.max() <= 2.0 and t.mean().item() == pytest.approx(1.0, abs=0.02)


def test_icnr_init_groups_equal_kernels() -> None:
    w = icnr_init(torch.empty(12, 5, 3, 3), scale=2)
    assert w.shape == (12, 5, 3, 3)
    for c in range(3):
        for k in range(4):
            assert torch.equal(w[4 * c + k], w[4 * c])
    assert not torch.equal(w[0], w[4])
    with pytest.raises(ValueError, match="multiple of scale"):
        icnr_init(torch.empty(6, 5, 1, 1), scale=2)


def test_embedding_truncated_normal() -> None:
    emb = Embedding(1000, 20, std=0.01)
    assert emb.weight.shape == (1000, 20)
    assert emb.weight.abs().max() <= 0.02
    assert emb.weight.std().item() == pytest.approx(0.0088, rel=0.1)  # std of N(0,1) truncated at ±2 ≈ 0.88
