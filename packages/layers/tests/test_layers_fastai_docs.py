"""fastai's layers, losses, xresnet, unet and hook documentation examples, against plies.layers.

Inputs are smaller than in the docs (the CPU suite must stay fast); the checks are the documented ones.
"""

from __future__ import annotations

from functools import partial

import pytest
import torch
import torch.nn.functional as F
import torchvision
from plies.layers import (
    AdaptiveAvgPool,
    AdaptiveConcatPool2d,
    AvgPool,
    BaseLoss,
    BatchNorm,
    BatchNorm1dFlat,
    BCELossFlat,
    BCEWithLogitsLossFlat,
    Cat,
    ConvLayer,
    CrossEntropyLossFlat,
    DiceLoss,
    DynamicUnet,
    Embedding,
    Flatten,
    FocalLossFlat,
    Hook,
    InstanceNorm,
    L1LossFlat,
    LabelSmoothingCrossEntropy,
    LabelSmoothingCrossEntropyFlat,
    Lambda,
    LinBnDrop,
    MaxPool,
    MergeLayer,
    Module,
    MSELossFlat,
    NoneReduce,
    NormType,
    ParameterModule,
    PartialLambda,
    PixelShuffle_ICNR,
    PooledSelfAttention2d,
    PoolFlatten,
    PoolType,
    ResBlock,
    ResizeBatch,
    SelfAttention,
    SequentialEx,
    SigmoidRange,
    SimpleCNN,
    SimpleSelfAttention,
    TimeDistributed,
    ToTensorBase,
    View,
    XResNet,
    adaptive_pool,
    children_and_parameters,
    create_body,
    create_head,
    default_init_for,
    dummy_eval,
    flatten_model,
    has_children,
    hook_output,
    hook_outputs,
    icnr_init,
    in_channels,
    init_linear,
    model_sizes,
    module,
    num_features_model,
    sequential,
    sigmoid,
    sigmoid_,
    sigmoid_range,
    trunc_normal_,
    vleaky_relu,
    xresnet18,
    xresnet50,
    xresnext50,
)
from plies.layers import mish as mish_fn
from plies.typecore import TensorBase, TensorImage
from torch import nn, tensor

# --- basic layers -----------------------------------------------------------------------------------


def test_module_decorator_lambda_partial_lambda() -> None:
    @module()
    def Identity(self: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return x

    @module("low", high=1.0)
    def Clamp(self: nn.Module, x: torch.Tensor) -> torch.Tensor:
        "Clamp to (low, high)."
        return x.clamp(self.low, self.high)

    x = torch.randn(10, 20)
    assert torch.equal(Identity()(x), x) and isinstance(Identity(), nn.Module)
    clamp = Clamp(-0.5)
    assert (clamp.low, clamp.high) == (-0.5, 1.0) and Clamp.__doc__ == "Clamp to (low, high)."
    assert torch.equal(clamp(x), x.clamp(-0.5, 1.0)) and repr(clamp) == "Clamp(low=-0.5, high=1.0)"
    with pytest.raises(TypeError, match="Clamp: .*unexpected keyword argument 'hihg'"):
        Clamp(0.0, hihg=2.0)

    tst = Lambda(lambda o: o + 1)
    assert torch.equal(tst(x), x + 1)

    def test_func(a: torch.Tensor, b: float = 2) -> torch.Tensor:
        return a + b

    tst = PartialLambda(test_func, b=5)
    assert torch.equal(tst(x), x + 5)


def test_flatten_view_resize_batch_to_tensor_base() -> None:
    x = torch.randn(10, 5, 4)
    assert Flatten()(x).shape == (10, 20)
    assert Flatten(full=True)(x).shape == (200,)
    assert View(10, 5, 4)(torch.randn(10, 20)).shape == (10, 5, 4)
    assert ResizeBatch(5, 4)(torch.randn(10, 20)).shape == (10, 5, 4)
    out = ToTensorBase()(TensorImage(torch.rand(1, 3, 4, 4)))
    assert type(out) is TensorBase


def test_sigmoid_range_and_clamped_sigmoids() -> None:
    test = tensor([-10.0, 0.0, 10.0])
    assert torch.allclose(sigmoid_range(test, -1, 2), tensor([-1.0, 0.5, 2.0]), atol=1e-4, rtol=1e-4)
    assert torch.allclose(sigmoid_range(test, -5, -1), tensor([-5.0, -3.0, -1.0]), atol=1e-4, rtol=1e-4)
    assert torch.allclose(sigmoid_range(test, 2, 4), tensor([2.0, 3.0, 4.0]), atol=1e-4, rtol=1e-4)
    assert torch.allclose(SigmoidRange(-1, 2)(test), tensor([-1.0, 0.5, 2.0]), atol=1e-4, rtol=1e-4)
    big = tensor([-100.0, 0.0, 100.0])
    assert sigmoid(big).tolist() == pytest.approx([1e-7, 0.5, 1 - 1e-7])
    y = big.clone()
    assert sigmoid_(y) is y and y.tolist() == pytest.approx([1e-7, 0.5, 1 - 1e-7])
    assert torch.equal(vleaky_relu(tensor([-1.0, 2.0]), inplace=False), tensor([-0.3, 2.0]))


def test_adaptive_concat_pool_and_pool_flatten() -> None:
    x = torch.randn(10, 5, 4, 4)
    tst = AdaptiveConcatPool2d()
    assert tst(x).shape == (10, 10, 1, 1)
    assert torch.equal(tst(x)[:, :5], x.amax(dim=(2, 3), keepdim=True))
    assert torch.allclose(tst(x)[:, 5:], x.mean(dim=(2, 3), keepdim=True))
    assert AdaptiveConcatPool2d(2)(x).shape == (10, 10, 2, 2)
    tst = PoolFlatten()
    assert tst(x).shape == (10, 5) and torch.allclose(tst(x), x.mean(dim=(2, 3)))
    assert torch.equal(PoolFlatten(PoolType.Max)(x), x.amax(dim=(2, 3)))
    assert PoolFlatten(PoolType.Cat)(x).shape == (10, 10)
    assert adaptive_pool(PoolType.Avg) is nn.AdaptiveAvgPool2d
    assert adaptive_pool("Max") is nn.AdaptiveMaxPool2d and adaptive_pool("Cat") is AdaptiveConcatPool2d
    with pytest.raises(ValueError, match="'Avg', 'Max' or 'Cat', got 'Mean'"):
        adaptive_pool("Mean")


# --- normalisation, LinBnDrop, ConvLayer ------------------------------------------------------------


def test_batchnorm_and_instancenorm() -> None:
    tst = BatchNorm(15)
    assert isinstance(tst, nn.BatchNorm2d) and torch.equal(tst.weight, torch.ones(15))
    assert torch.allclose(tst.bias, torch.full((15,), 1e-3))
    assert torch.equal(BatchNorm(15, norm_type=NormType.BatchZero).weight, torch.zeros(15))
    assert isinstance(BatchNorm(15, ndim=1), nn.BatchNorm1d)
    assert isinstance(BatchNorm(15, ndim=3), nn.BatchNorm3d)
    tst = InstanceNorm(15)
    assert isinstance(tst, nn.InstanceNorm2d) and torch.equal(tst.weight, torch.ones(15))
    assert torch.equal(InstanceNorm(15, norm_type=NormType.InstanceZero).weight, torch.zeros(15))
    assert isinstance(InstanceNorm(15, ndim=1), nn.InstanceNorm1d)
    assert isinstance(InstanceNorm(15, ndim=3), nn.InstanceNorm3d)
    assert BatchNorm(15, affine=False).weight is None
    assert InstanceNorm(15, affine=False).weight is None


def test_batchnorm1d_flat() -> None:
    tst = BatchNorm1dFlat(15)
    x = torch.randn(32, 64, 15)
    y = tst(x)
    mean = x.mean(dim=[0, 1])
    assert torch.allclose(tst.running_mean, 0 * 0.9 + mean * 0.1, atol=1e-5)
    var = (x - mean).pow(2).mean(dim=[0, 1])
    assert torch.allclose(tst.running_var, 1 * 0.9 + var * 0.1, atol=1e-3)
    assert torch.allclose(y, (x - mean) / torch.sqrt(var + 1e-5) * tst.weight + tst.bias, atol=1e-4)


def test_lin_bn_drop_structure() -> None:
    mods = list(LinBnDrop(10, 20).children())
    assert [type(m) for m in mods] == [nn.BatchNorm1d, nn.Linear] and mods[1].bias is None
    mods = list(LinBnDrop(10, 20, p=0.1).children())
    assert [type(m) for m in mods] == [nn.BatchNorm1d, nn.Dropout, nn.Linear] and mods[1].p == 0.1
    mods = list(LinBnDrop(10, 20, act=nn.ReLU(), lin_first=True).children())
    assert [type(m) for m in mods] == [nn.Linear, nn.ReLU, nn.BatchNorm1d]
    assert mods[2].num_features == 20
    mods = list(LinBnDrop(10, 20, bn=False).children())
    assert [type(m) for m in mods] == [nn.Linear] and mods[0].bias is not None


def test_conv_layer_structure_padding_and_bias() -> None:
    tst = ConvLayer(16, 32)
    mods = list(tst.children())
    assert len(mods) == 3 and isinstance(mods[0], nn.Conv2d) and isinstance(mods[2], nn.ReLU)
    assert torch.equal(mods[1].weight, torch.ones(32)) and mods[0].padding == (1, 1)
    x = torch.randn(4, 16, 8, 8)
    assert tst(x).shape == (4, 32, 8, 8)
    assert ConvLayer(16, 32, stride=2)(x).shape == (4, 32, 4, 4)
    assert ConvLayer(16, 32, padding=0)(x).shape == (4, 32, 6, 6)
    assert mods[0].bias is None
    assert next(ConvLayer(16, 32, bias=True).children()).bias is not None
    for norm in [None, NormType.Spectral, NormType.Weight]:
        assert next(ConvLayer(16, 32, norm_type=norm).children()).bias is not None
    assert isinstance(ConvLayer(16, 32, ndim=3)[0], nn.Conv3d)
    assert isinstance(ConvLayer(16, 32, ndim=1, transpose=True)[0], nn.ConvTranspose1d)
    assert len(list(ConvLayer(16, 32, ndim=3, act_cls=None).children())) == 2
    mods = list(ConvLayer(16, 32, ndim=3, act_cls=partial(nn.LeakyReLU, negative_slope=0.1)).children())
    assert len(mods) == 3 and isinstance(mods[2], nn.LeakyReLU) and mods[2].negative_slope == 0.1
    mods = list(ConvLayer(16, 32, bn_1st=False).children())
    assert isinstance(mods[1], nn.ReLU) and isinstance(mods[2], nn.BatchNorm2d)


def test_default_init_follows_the_activation() -> None:
    kaiming, xavier = nn.init.kaiming_uniform_, nn.init.xavier_uniform_
    for act in (nn.ReLU, nn.ReLU(), F.relu, F.leaky_relu, nn.LeakyReLU, nn.SiLU, mish_fn, vleaky_relu):
        assert default_init_for(act) is kaiming, act
    for act in (nn.Sigmoid, nn.Tanh(), torch.sigmoid, F.tanh, sigmoid, sigmoid_):
        assert default_init_for(act) is xavier, act
    assert default_init_for(nn.GELU) is None  # nothing registered: PyTorch's default init stays
    torch.manual_seed(0)
    conv = nn.Conv2d(64, 64, 3)
    init_linear(conv, nn.Sigmoid(), bias_std=0)
    bound = (6 / (64 * 9 + 64 * 9)) ** 0.5  # xavier-uniform bound: sqrt(6 / (fan_in + fan_out))
    top = float(conv.weight.detach().abs().max())
    assert 0.9 * bound < top <= bound
    assert torch.equal(conv.bias, torch.zeros(64))


def test_pooling_constructors() -> None:
    assert isinstance(AdaptiveAvgPool(ndim=1), nn.AdaptiveAvgPool1d)
    assert isinstance(MaxPool(ndim=3), nn.MaxPool3d) and MaxPool().kernel_size == 2
    pool = AvgPool(ks=3, stride=1, padding=1, ceil_mode=True)
    assert (
        isinstance(pool, nn.AvgPool2d)
        and pool.ceil_mode
        and pool(torch.randn(1, 2, 5, 5)).shape == (1, 2, 5, 5)
    )


def test_trunc_normal_and_embedding() -> None:
    torch.manual_seed(0)
    x = trunc_normal_(torch.empty(10_000), mean=1.0, std=0.5)
    assert x.min() >= 0.0 and x.max() <= 2.0 and abs(float(x.mean()) - 1.0) < 0.02
    std = 0.02
    tst = Embedding(10, 30, std)
    assert tst.weight.min() > -2 * std and tst.weight.max() < 2 * std
    weight = tst.weight.detach()
    assert abs(float(weight.mean())) < 1e-2
    assert float(weight.std()) == pytest.approx(std, rel=0.25)
    assert float(Embedding(100, 30).weight.detach().std()) == pytest.approx(0.01, rel=0.25)


# --- attention, upsampling, skip blocks -------------------------------------------------------------


def test_self_attention_matches_the_formula() -> None:
    tst = SelfAttention(16)
    x = torch.randn(4, 16, 8, 8)
    assert torch.equal(tst(x), x)  # gamma starts at 0
    tst.gamma.data.fill_(1.0)
    y = tst(x)
    assert y.shape == (4, 16, 8, 8)
    q, k, v = tst.query[0].weight.data, tst.key[0].weight.data, tst.value[0].weight.data
    assert [q.shape, k.shape, v.shape] == [(2, 16, 1), (2, 16, 1), (16, 16, 1)]
    f, g, h = (x.view(4, 16, 64).transpose(1, 2) @ m.squeeze().t() for m in (q, k, v))
    beta = F.softmax(torch.bmm(f, g.transpose(1, 2)), dim=1)
    assert beta.shape == (4, 64, 64)
    out = torch.bmm(h.transpose(1, 2), beta)
    assert torch.allclose(y, x + out.view(4, 16, 8, 8), atol=1e-4)


def test_pooled_and_simple_self_attention() -> None:
    x = torch.randn(2, 16, 8, 8)
    tst = PooledSelfAttention2d(16)
    assert torch.equal(tst(x), x)
    tst.gamma.data.fill_(1.0)
    assert tst(x).shape == x.shape and not torch.equal(tst(x), x)
    with pytest.raises(ValueError, match="must be even"):
        tst(torch.randn(1, 16, 7, 8))
    tst = SimpleSelfAttention(16)
    assert torch.equal(tst(x), x)
    tst.gamma.data.fill_(1.0)
    tst.eval()  # in training mode every call takes a spectral-norm power-iteration step (new weights)
    flat = x.view(2, 16, -1)
    expected = torch.bmm(torch.bmm(flat, flat.transpose(1, 2)), tst.conv(flat)) + flat
    assert torch.allclose(tst(x), expected.view_as(x), atol=1e-3)


def test_icnr_init_repeats_each_kernel_scale_squared_times() -> None:
    tst = icnr_init(torch.randn(16 * 4, 32, 1, 1))
    for i in range(0, 16 * 4, 4):
        assert torch.equal(tst[i], tst[i + 1]) and torch.equal(tst[i], tst[i + 2])
        assert torch.equal(tst[i], tst[i + 3])
    assert not torch.equal(tst[0], tst[4])


@pytest.mark.parametrize("norm_type", [NormType.Weight, None, NormType.Spectral])
def test_pixel_shuffle_icnr_starts_as_nearest_upsampling(norm_type: NormType | None) -> None:
    psfl = PixelShuffle_ICNR(16, norm_type=norm_type)
    x = torch.randn(4, 16, 8, 8)
    y = psfl(x)
    assert y.shape == (4, 16, 16, 16)
    # every 2x2 window (stride 2) holds one value
    assert torch.equal(y[:, :, 0::2, 0::2], y[:, :, 1::2, 0::2])
    assert torch.equal(y[:, :, 0::2, 0::2], y[:, :, 0::2, 1::2])
    assert torch.equal(y[:, :, 0::2, 0::2], y[:, :, 1::2, 1::2])
    assert PixelShuffle_ICNR(16, 8, blur=True)(x).shape == (4, 8, 16, 16)


def test_sequential_wraps_functions() -> None:
    seq = sequential(nn.Linear(3, 4), torch.relu, lambda o: o * 2)
    assert isinstance(seq, nn.Sequential) and isinstance(seq[1], Lambda) and len(seq) == 3
    x = torch.randn(2, 3)
    assert torch.allclose(seq(x), torch.relu(seq[0](x)) * 2)
    with pytest.raises(TypeError, match="item 0 must be an nn.Module or a function"):
        sequential(3)


def test_sequential_ex_merge_layer_and_orig_released() -> None:
    res_block = SequentialEx(ConvLayer(16, 16), ConvLayer(16, 16))
    res_block.append(MergeLayer())
    x = torch.randn(4, 16, 8, 8)
    y = res_block(x)
    assert y.shape == (4, 16, 8, 8)
    assert torch.allclose(y, x + res_block[1](res_block[0](x)))
    y = res_block(TensorBase(torch.randn(4, 16, 8, 8)))
    assert y.orig is None  # no reference to the input is kept
    dense = SequentialEx(ConvLayer(16, 8), MergeLayer(dense=True))
    assert dense(x).shape == (4, 24, 8, 8)


def test_cat_concatenates_layer_outputs() -> None:
    layers = [ConvLayer(2, 4), ConvLayer(2, 4), ConvLayer(2, 4)]
    x = torch.rand(1, 2, 8, 8)
    cat = Cat(layers)
    assert cat(x).shape == (1, 12, 8, 8)
    assert torch.equal(cat(x), torch.cat([layer(x) for layer in layers], dim=1))


def test_simple_cnn() -> None:
    tst = SimpleCNN([8, 16, 32])
    mods = list(tst.children())
    assert len(mods) == 3
    assert [[m[0].in_channels, m[0].out_channels] for m in mods[:2]] == [[8, 16], [16, 32]]
    assert isinstance(mods[0][1], nn.BatchNorm2d) and len(mods[1]) == 2  # no BatchNorm in the last conv
    assert tst(torch.randn(2, 8, 16, 16)).shape == (2, 32)
    assert [m[0].kernel_size for m in list(SimpleCNN([8, 16, 32], kernel_szs=[1, 3]))[:2]] == [(1, 1), (3, 3)]
    assert [m[0].stride for m in list(SimpleCNN([8, 16, 32], strides=[1, 2]))[:2]] == [(1, 1), (2, 2)]
    with pytest.raises(ValueError, match="expected 2 strides"):
        SimpleCNN([8, 16, 32], strides=[1])


def test_res_block_shapes_and_shortcut() -> None:
    x = torch.randn(2, 16, 8, 8)
    block = ResBlock(1, 16, 32, stride=2)
    assert block(x).shape == (2, 32, 4, 4)
    assert isinstance(block.idpath[0], nn.AvgPool2d) and isinstance(block.idpath[1][0], nn.Conv2d)
    # the last BatchNorm of the conv path starts at zero: the block starts as act(shortcut)
    assert torch.equal(block.convpath[-1][1].weight, torch.zeros(32))
    block = ResBlock(4, 4, 8, stride=1)
    assert block(torch.randn(2, 16, 8, 8)).shape == (2, 32, 8, 8)
    assert len(block.convpath) == 3


def test_time_distributed() -> None:
    bs, seq_len = 2, 5
    x, y = torch.rand(bs, seq_len, 3, 2, 2), torch.rand(bs, seq_len, 3, 2, 2)
    tconv = TimeDistributed(nn.Conv2d(3, 4, 1))
    assert tconv(x).shape == (2, 5, 4, 2, 2)
    tconv.low_mem = True
    assert tconv(x).shape == (2, 5, 4, 2, 2)

    class Mod(Module):
        def __init__(self) -> None:
            self.conv = nn.Conv2d(3, 4, 1)

        def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return self.conv(x) + self.conv(y)

    tmod = TimeDistributed(Mod())
    out = tmod(x, y)
    tmod.low_mem = True
    assert out.shape == (2, 5, 4, 2, 2) and torch.allclose(out, tmod(x, y), atol=1e-6)

    class Mod2(Module):
        def __init__(self) -> None:
            self.conv1, self.conv2 = nn.Conv2d(3, 4, 1), nn.Conv2d(3, 4, 1)

        def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return self.conv1(x), self.conv2(y)

    tm2 = TimeDistributed(Mod2())
    out2 = tm2(x, y)
    tm2.low_mem = True
    low = tm2(x, y)
    assert [o.shape for o in out2] == [(2, 5, 4, 2, 2)] * 2
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(out2, low, strict=True))
    assert repr(tconv).startswith("TimeDistributed(Conv2d(3, 4")


# --- model introspection ----------------------------------------------------------------------------


class TstModule(Module):
    def __init__(self) -> None:
        self.a, self.lin = nn.Parameter(torch.randn(1)), nn.Linear(5, 10)


def test_children_and_parameters_has_children_flatten_model() -> None:
    tst = TstModule()
    children = children_and_parameters(tst)
    assert len(children) == 2 and children[0] is tst.lin
    assert isinstance(children[1], ParameterModule) and children[1].val is tst.a

    class A(Module):
        pass

    assert not has_children(A()) and has_children(TstModule())
    flat = flatten_model(nn.Sequential(TstModule(), TstModule()))
    assert len(flat) == 4
    assert isinstance(flat[0], nn.Linear) and isinstance(flat[1], ParameterModule)
    assert isinstance(flat[3], ParameterModule)


def test_in_channels() -> None:
    assert in_channels(nn.Sequential(nn.Conv2d(5, 4, 3), nn.Conv2d(4, 3, 3))) == 5
    assert in_channels(nn.Sequential(nn.AvgPool2d(4), nn.Conv2d(4, 3, 3))) == 4
    assert in_channels(nn.Sequential(BatchNorm(4), nn.Conv2d(4, 3, 3))) == 4
    assert in_channels(nn.Sequential(InstanceNorm(4), nn.Conv2d(4, 3, 3))) == 4
    assert in_channels(nn.Sequential(InstanceNorm(4, affine=False), nn.Conv2d(4, 3, 3))) == 4
    with pytest.raises(ValueError, match="no convolution layer"):
        in_channels(nn.Sequential(nn.AvgPool2d(4)))


def test_hooks_store_outputs() -> None:
    x = torch.randn(4, 5)
    tst_model = nn.Linear(5, 3)
    hook = Hook(tst_model, lambda m, i, o: o)
    y = tst_model(x)
    assert torch.equal(hook.stored, y)
    hook.remove()
    with hook_output(tst_model) as h:
        y = tst_model(x)
        assert torch.equal(h.stored, y) and not h.stored.requires_grad
    layers = [nn.Linear(5, 10), nn.ReLU(), nn.Linear(10, 3)]
    tst_model = nn.Sequential(*layers)
    with hook_outputs(tst_model) as hooks:
        y = tst_model(x)
        assert torch.equal(hooks.stored[0], layers[0](x))
        assert torch.equal(hooks.stored[1], F.relu(layers[0](x)))
        assert torch.equal(hooks.stored[2], y)


def test_model_sizes_dummy_eval_num_features() -> None:
    m = nn.Sequential(ConvLayer(3, 16), ConvLayer(16, 32, stride=2), ConvLayer(32, 32))
    assert model_sizes(m) == [(1, 16, 64, 64), (1, 32, 32, 32), (1, 32, 32, 32)]
    assert model_sizes(m, size=(16, 16))[-1] == (1, 32, 8, 8)
    assert dummy_eval(m, size=(8, 8)).shape == (1, 32, 4, 4) and m.training
    assert num_features_model(nn.Sequential(nn.Conv2d(5, 4, 3), nn.Conv2d(4, 3, 3))) == 3
    assert num_features_model(m) == 32


# --- losses -----------------------------------------------------------------------------------------


def test_cross_entropy_loss_flat() -> None:
    tst = CrossEntropyLossFlat()
    output = torch.randn(32, 5, 10)
    target = torch.randint(0, 10, (32, 5))
    loss = tst(output, target)
    assert torch.allclose(loss, F.cross_entropy(output.view(-1, 10), target.view(-1)))
    # one loss per (sample, position): the 32 x 5 predictions are flattened before the loss
    per_item = CrossEntropyLossFlat(reduction="none")(output, target)
    assert per_item.shape == (160,)
    assert torch.allclose(per_item, F.cross_entropy(output.view(-1, 10), target.view(-1), reduction="none"))
    assert torch.equal(tst.activation(output), F.softmax(output, dim=-1))
    assert torch.equal(tst.decodes(output), output.argmax(dim=-1))
    assert repr(tst) == "FlattenedLoss of CrossEntropyLoss()" and tst.y_int
    tst = CrossEntropyLossFlat(axis=1)
    output = torch.randn(4, 5, 16, 16)
    target = torch.randint(0, 5, (4, 16, 16))
    assert torch.allclose(tst(output, target), F.cross_entropy(output, target), atol=1e-6)
    assert torch.equal(tst.activation(output), F.softmax(output, dim=1))
    assert torch.equal(tst.decodes(output), output.argmax(dim=1))
    assert isinstance(tst, BaseLoss) and tst.reduction == "mean"


def test_focal_loss_flat() -> None:
    fl, ce = FocalLossFlat(gamma=0), CrossEntropyLossFlat()
    output = torch.randn(32, 5, 10)
    target = torch.randint(0, 10, (32, 5))
    assert torch.allclose(fl(output, target), ce(output, target), atol=1e-6)
    fl2 = FocalLossFlat(gamma=2)
    assert not torch.allclose(fl2(output, target), ce(output, target))
    ce_each = F.cross_entropy(output.view(-1, 10), target.view(-1), reduction="none")
    expected = ((1 - torch.exp(-ce_each)) ** 2 * ce_each).mean()
    assert torch.allclose(fl2(output, target), expected, atol=1e-6)
    fl, ce = FocalLossFlat(gamma=0, axis=1), CrossEntropyLossFlat(axis=1)
    output = torch.randn(4, 5, 16, 16)
    target = torch.randint(0, 5, (4, 16, 16))
    assert torch.allclose(fl(output, target), ce(output, target), atol=1e-4)
    assert torch.equal(fl.activation(output), F.softmax(output, dim=1))
    assert torch.equal(fl.decodes(output), output.argmax(dim=1))


def test_bce_with_logits_loss_flat() -> None:
    tst = BCEWithLogitsLossFlat()
    output, target = torch.randn(32, 5, 10), torch.rand(32, 5, 10)
    assert torch.allclose(tst(output, target), F.binary_cross_entropy_with_logits(output, target))
    output, target = torch.randn(32, 5), torch.randint(0, 2, (32, 5))
    assert torch.allclose(tst(output, target), F.binary_cross_entropy_with_logits(output, target.float()))
    per_item = BCEWithLogitsLossFlat(reduction="none")(output, target)  # integer targets are floatified
    assert per_item.shape == (160,)
    expected = F.binary_cross_entropy_with_logits(output.view(-1), target.view(-1).float(), reduction="none")
    assert torch.allclose(per_item, expected)
    tst = BCEWithLogitsLossFlat(pos_weight=torch.ones(10))
    output, target = torch.randn(32, 5, 10), torch.rand(32, 5, 10)
    assert torch.allclose(tst(output, target), F.binary_cross_entropy_with_logits(output, target))
    assert torch.equal(tst.activation(output), torch.sigmoid(output))
    assert torch.equal(tst.decodes(output), output > 0.5)
    assert torch.equal(BCEWithLogitsLossFlat(thresh=0.2).decodes(output), output > 0.2)


def test_bce_mse_l1_loss_flat() -> None:
    output = torch.sigmoid(torch.randn(32, 5, 10))
    target = torch.randint(0, 2, (32, 5, 10))
    assert torch.allclose(BCELossFlat()(output, target), F.binary_cross_entropy(output, target.float()))
    assert torch.allclose(MSELossFlat()(output, target), F.mse_loss(output, target.float()))
    assert torch.allclose(L1LossFlat()(output, target), F.l1_loss(output, target.float()))
    per_item = BCELossFlat(reduction="none")(output, target)
    assert per_item.shape == (1600,)
    assert torch.allclose(
        per_item, F.binary_cross_entropy(output.view(-1), target.view(-1).float(), reduction="none")
    )
    channels_first = BCELossFlat(axis=1, reduction="none")  # the class axis moved last before flattening
    expected = F.binary_cross_entropy(
        output.transpose(1, -1).reshape(-1), target.transpose(1, -1).reshape(-1).float(), reduction="none"
    )
    assert torch.allclose(channels_first(output, target), expected)


def test_label_smoothing_cross_entropy() -> None:
    lmce = LabelSmoothingCrossEntropy()
    output = torch.randn(32, 5, 10)
    target = torch.randint(0, 10, (32, 5))
    flat = lmce(output.flatten(0, 1), target.flatten())
    assert torch.allclose(flat, lmce(output.transpose(-1, -2), target), atol=1e-6)
    logp = F.log_softmax(output.flatten(0, 1), dim=1)
    expected = -logp.mean(dim=1).mean() * 0.1 + 0.9 * F.nll_loss(logp, target.flatten())
    assert torch.allclose(flat, expected, atol=1e-6)
    lmce_flat = LabelSmoothingCrossEntropyFlat()
    assert torch.allclose(lmce(output.transpose(-1, -2), target), lmce_flat(output, target), atol=1e-6)
    assert torch.equal(lmce_flat.decodes(output), output.argmax(dim=-1))
    assert torch.equal(lmce.activation(output), F.softmax(output, dim=-1))


def test_dice_loss() -> None:
    dl = DiceLoss()
    _x = tensor([[[1, 0, 2], [2, 2, 1]]])
    _one_hot_x = tensor([[[[0, 1, 0], [0, 0, 0]], [[1, 0, 0], [0, 0, 1]], [[0, 0, 1], [1, 1, 0]]]])
    assert torch.equal(dl._one_hot(_x, 3), _one_hot_x)
    model_output = tensor([[[[2.0, 1.0], [1.0, 5.0]], [[1, 2.0], [3.0, 1.0]], [[3.0, 0], [4.0, 3.0]]]])
    target = tensor([[[2, 1], [2, 0]]])
    pred, one_hot = F.softmax(model_output, dim=1), F.one_hot(target, 3).permute(0, 3, 1, 2)
    inter, union = (pred * one_hot).sum(dim=(2, 3)), (pred + one_hot).sum(dim=(2, 3))
    expected = (1 - (2 * inter + 1e-6) / (union + 1e-6)).sum()
    assert torch.allclose(dl(model_output, target), expected, atol=1e-6)
    assert torch.equal(dl.decodes(model_output), target)
    dl = DiceLoss(reduction="mean")
    assert float(dl(tensor([[[0.1], [0.1], [100.0]]]), tensor([[2]]))) == pytest.approx(0, abs=1e-6)
    # one of the two positions right: classes 0 and 1 miss entirely, class 2 matches
    loss = dl(tensor([[[0.1, 100.0], [0.1, 0.1], [100.0, 0.1]]]), tensor([[2, 1]]))
    assert float(loss) == pytest.approx(2 / 3, abs=1e-3)


def test_none_reduce() -> None:
    x, y = torch.randn(5), torch.randn(5)
    loss_fn = nn.MSELoss()
    with NoneReduce(loss_fn) as loss_func:
        loss = loss_func(x, y)
    assert loss.shape == (5,) and loss_fn.reduction == "mean"
    with NoneReduce(F.mse_loss) as loss_func:
        loss = loss_func(x, y)
    assert loss.shape == (5,)
    flat = CrossEntropyLossFlat()
    with NoneReduce(flat) as loss_func:
        assert loss_func(torch.randn(6, 3), torch.randint(0, 3, (6,))).shape == (6,)
    assert flat.reduction == "mean"


# --- architectures and transfer learning ------------------------------------------------------------


def test_xresnet_class_and_constructors() -> None:
    m = XResNet(ResBlock, 1, [2, 2, 2, 2], n_out=10)
    assert m(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert isinstance(m[0], ConvLayer) and m[0][0].stride == (2, 2) and isinstance(m[3], nn.MaxPool2d)
    assert isinstance(m[-1], nn.Linear) and m[-1].in_features == 512
    m = xresnet50(pretrained=False, c_in=1, n_out=10).eval()
    assert m(torch.randn(1, 1, 32, 32)).shape == (1, 10) and m[-1].in_features == 2048
    with pytest.raises(ValueError):
        xresnet18(ks=4)


@pytest.mark.parametrize(
    "build, x, out",
    [
        (lambda: xresnet18(ndim=1, c_in=1, ks=15, n_out=7), torch.randn(2, 1, 128), (2, 7)),
        (lambda: xresnext50(ndim=1, c_in=2, ks=31, stride=4, n_out=7), torch.randn(1, 2, 128), (1, 7)),
        (lambda: xresnet18(ndim=3, c_in=2, ks=3, n_out=7), torch.randn(1, 2, 16, 16, 16), (1, 7)),
    ],
)
def test_xresnet_1d_and_3d(build: object, x: torch.Tensor, out: tuple[int, int]) -> None:
    model = build().eval()  # type: ignore[operator]  # eval: a batch of one reaches 1x1 features
    with torch.no_grad():
        assert model(x).shape == out
    conv = model[0][0]
    assert conv.in_channels == x.shape[1] and conv.weight.dim() == x.dim()


def test_create_body_on_a_constructor() -> None:
    def tst(pretrained: bool) -> nn.Module:
        return nn.Sequential(nn.Conv2d(3, 5, 3), nn.BatchNorm2d(5), nn.AvgPool2d(1), nn.Linear(3, 4))

    assert len(create_body(tst)) == 2
    assert len(create_body(tst, cut=3)) == 3
    assert len(create_body(tst, cut=lambda m: m)) == 4
    for n in range(1, 5):
        assert create_body(tst, n_in=n)[0].in_channels == n


def test_create_body_xresnet_and_torchvision() -> None:
    body = create_body(xresnet18, n_in=1, pretrained=False, cut=-4)
    assert body[0][0].in_channels == 1 and len(body) == len(xresnet18()) - 4
    assert body(torch.randn(2, 1, 32, 32)).shape == (2, 512, 1, 1)
    tv = create_body(torchvision.models.resnet18(), n_in=3, pretrained=False, cut=-2)
    assert num_features_model(tv) == 512


def test_create_head_structure() -> None:
    tst = create_head(5, 10)
    mods = list(tst.children())
    assert len(mods) == 9
    assert [type(m) for m in mods] == [
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
    assert (mods[3].p, mods[7].p) == (0.25, 0.5) and (mods[4].in_features, mods[8].out_features) == (10, 10)
    mods = list(create_head(5, 10, lin_first=True).children())
    assert len(mods) == 8 and isinstance(mods[2], nn.Dropout)
    mods = list(create_head(5, 10, first_bn=False).children())
    assert len(mods) == 8 and isinstance(mods[2], nn.Dropout)
    assert list(create_head(5, 10, concat_pool=True).children())[4].in_features == 10
    assert list(create_head(5, 10, concat_pool=False).children())[4].in_features == 5
    head = create_head(5, 10, lin_ftrs=[32, 16], y_range=(0, 1), bn_final=True)
    assert head(torch.randn(4, 5, 3, 3)).shape == (4, 10)
    assert isinstance(head[-1], SigmoidRange) and isinstance(head[-2], nn.BatchNorm1d)


def test_dynamic_unet_on_a_torchvision_body() -> None:
    m = nn.Sequential(*list(torchvision.models.resnet18().children())[:-2])
    tst = DynamicUnet(m, 5, (32, 32), norm_type=None).eval()  # eval: 1x1 features at the bottom
    with torch.no_grad():
        assert tst(torch.randn(2, 3, 32, 32)).shape == (2, 5, 32, 32)
        assert tst(torch.randn(1, 3, 31, 32)).shape == (1, 5, 31, 32)  # built for 32x32, run on 31x32
    assert tst[0] is m
