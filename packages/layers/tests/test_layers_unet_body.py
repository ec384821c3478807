"""Transfer learning: introspection, create_body (xresnet and torchvision), DynamicUnet at odd sizes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision
from plies.layers import (
    ConvLayer,
    DynamicUnet,
    PixelShuffle_ICNR,
    SelfAttention,
    SigmoidRange,
    UnetBlock,
    create_body,
    dummy_eval,
    hook_outputs,
    in_channels,
    model_sizes,
    num_features_model,
    xresnet18,
)
from plies.typecore import TensorBase, build_from_spec
from torch import nn


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def small_encoder(n_in: int = 3) -> nn.Sequential:
    """A tiny 4-stage encoder: fast to run, downsamples 32x."""
    return nn.Sequential(
        ConvLayer(n_in, 8, stride=2), ConvLayer(8, 16, stride=2), ConvLayer(16, 16),
        ConvLayer(16, 32, stride=2), ConvLayer(32, 32, stride=2), ConvLayer(32, 64, stride=2),
    )  # fmt: skip


def test_model_sizes_dummy_eval_and_channels() -> None:
    enc = small_encoder(n_in=2)
    sizes = model_sizes(enc, (64, 48))
    assert [tuple(s) for s in sizes] == [
        (1, 8, 32, 24), (1, 16, 16, 12), (1, 16, 16, 12), (1, 32, 8, 6), (1, 32, 4, 3), (1, 64, 2, 2),
    ]  # fmt: skip
    assert enc.training  # dummy_eval restores the training mode
    assert dummy_eval(enc, (32, 32)).shape == (1, 64, 1, 1)
    assert in_channels(enc) == 2
    assert num_features_model(enc) == 64
    with pytest.raises(ValueError, match="no convolution layer"):
        in_channels(nn.Sequential(nn.Linear(2, 2)))


def test_hook_outputs_stores_and_removes() -> None:
    enc = small_encoder()
    with hook_outputs([enc[0], enc[-1]]) as hooks:
        enc(torch.randn(2, 3, 32, 32))
        assert [h.stored.shape for h in hooks] == [(2, 8, 16, 16), (2, 64, 1, 1)]
        assert not hooks.stored[0].requires_grad
    assert len(enc[0]._forward_hooks) == 0


def test_create_body_xresnet_default_cut() -> None:
    body = create_body(xresnet18(), pretrained=False)
    assert len(body) == 8  # 3 stem convs, max pool, 4 stages: cut before the adaptive pool
    assert num_features_model(body) == 512
    assert body(torch.randn(2, 3, 64, 64)).shape == (2, 512, 2, 2)
    assert len(create_body(xresnet18(), pretrained=False, cut=-4)) == 8
    custom = create_body(xresnet18(), pretrained=False, cut=lambda m: m[:2])
    assert len(custom) == 2


def test_create_body_torchvision_and_callable_arch() -> None:
    body = create_body(torchvision.models.resnet18(weights=None), pretrained=False)
    assert [type(m).__name__ for m in body][:4] == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"]
    assert num_features_model(body) == 512
    calls = []

    def arch(pretrained: bool) -> nn.Module:
        calls.append(pretrained)
        return torchvision.models.resnet18(weights=None)

    assert len(create_body(arch, pretrained=False)) == 8 and calls == [False]


def _model_with_known_first_conv() -> tuple[nn.Module, torch.Tensor]:
    model = torchvision.models.resnet18(weights=None)
    weight = torch.arange(64 * 3 * 49, dtype=torch.float32).view(64, 3, 7, 7) / 1000
    with torch.no_grad():
        model.conv1.weight.copy_(weight)
    return model, weight


def test_create_body_n_in_adapts_pretrained_weights() -> None:
    model, w = _model_with_known_first_conv()
    body = create_body(model, n_in=1, pretrained=True)
    assert body[0].in_channels == 1 and torch.allclose(body[0].weight, w.sum(1, keepdim=True))
    model, w = _model_with_known_first_conv()
    body = create_body(model, n_in=2)
    assert torch.allclose(body[0].weight, w[:, :2] * 1.5)
    model, w = _model_with_known_first_conv()
    body = create_body(model, n_in=5)
    expected = torch.stack([w[:, 0], w[:, 1], w[:, 2], w[:, 0], w[:, 1]], dim=1) * (3 / 5)
    assert torch.allclose(body[0].weight, expected)
    assert body(torch.randn(2, 5, 32, 32)).shape == (2, 512, 1, 1)


def test_create_body_n_in_xresnet_and_not_pretrained() -> None:
    body = create_body(xresnet18(), n_in=4, pretrained=False)
    assert body[0][0].in_channels == 4 and body(torch.randn(2, 4, 32, 32)).shape == (2, 512, 1, 1)
    assert in_channels(body) == 4
    model, w = _model_with_known_first_conv()
    fresh = create_body(model, n_in=1, pretrained=False)
    assert not torch.allclose(fresh[0].weight, w.sum(1, keepdim=True))


def test_create_body_errors() -> None:
    with pytest.raises(ValueError, match="3 input channels"):
        create_body(xresnet18(c_in=2), n_in=1, pretrained=False)
    with pytest.raises(ValueError, match="no pooling layer"):
        create_body(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), pretrained=False)
    with pytest.raises(TypeError, match="must be a convolution"):
        create_body(nn.Sequential(nn.Linear(3, 4)), n_in=1, pretrained=False, cut=1)


@pytest.mark.parametrize("size", [(64, 64), (97, 131), (33, 47), (65, 64)])
def test_dynamic_unet_output_matches_input_size(size: tuple[int, int]) -> None:
    unet = DynamicUnet(small_encoder(), n_out=4, img_size=size)
    assert unet(torch.randn(2, 3, *size)).shape == (2, 4, *size)


def test_dynamic_unet_structure_and_options() -> None:
    unet = DynamicUnet(
        small_encoder(), 2, (64, 64), blur=True, self_attention=True, y_range=(0, 1), bottle=True
    )
    assert isinstance(unet[0], nn.Sequential) and len(unet[0]) == 6
    kinds = [type(m).__name__ for m in unet]
    assert kinds.count("UnetBlock") == 4  # one per size change of the encoder
    assert sum(isinstance(m, SelfAttention) for m in unet.modules()) == 1
    assert sum(isinstance(m, nn.ReplicationPad2d) for m in unet.modules()) == 4  # blur on every block
    assert isinstance(unet[-2], SigmoidRange) and type(unet[-1]).__name__ == "ToTensorBase"
    assert kinds[-5:-2] == ["MergeLayer", "ResBlock", "ConvLayer"]
    out = unet(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 2, 64, 64) and bool(((out > 0) & (out < 1)).all())
    no_cross = DynamicUnet(small_encoder(), 2, (64, 64), last_cross=False, blur=True, blur_final=False)
    assert "MergeLayer" not in [type(m).__name__ for m in no_cross]
    assert sum(isinstance(m, nn.ReplicationPad2d) for m in no_cross.modules()) == 3
    assert no_cross(torch.randn(2, 3, 64, 64)).shape == (2, 2, 64, 64)


def test_dynamic_unet_extra_upsample_and_plain_output() -> None:
    class Image(TensorBase):
        pass

    unet = DynamicUnet(small_encoder(), 3, (32, 32))
    assert any(isinstance(m, PixelShuffle_ICNR) for m in unet.layers[4:])
    out = unet(torch.randn(2, 3, 32, 32).as_subclass(Image))
    assert type(out) is TensorBase


def test_unet_block_concatenates_the_hooked_encoder_features() -> None:
    src = nn.Conv2d(3, 8, 3, padding=1)  # stands for the encoder layer whose output is cross-connected
    with hook_outputs([src], detach=False) as hooks:
        block = UnetBlock(16, 8, hooks[0]).eval()
        up_in = torch.randn(2, 16, 4, 4)
        outs, skips = [], []
        for _ in range(2):
            skips.append(src(torch.randn(2, 3, 8, 8)))  # the hook stores this output for the block
            outs.append(block(up_in))
    with torch.no_grad():
        for out, s in zip(outs, skips, strict=True):
            # upsample the decoder input (8 channels at 8x8), concatenate the normalised skip, two convs
            cat = F.relu(torch.cat([block.shuf(up_in), block.bn(s)], dim=1))
            assert out.shape == (2, 16, 8, 8)
            assert torch.allclose(out, block.conv2(block.conv1(cat)), atol=1e-5)
    assert not torch.allclose(outs[0], outs[1], atol=1e-3)  # same decoder input, other encoder features


def test_dynamic_unet_output_depends_on_the_input_through_the_cross_connections() -> None:
    unet = DynamicUnet(small_encoder(), 2, (32, 32), last_cross=False).eval()
    with torch.no_grad():  # the bottom path (middle convs) now outputs zeros whatever the input
        for p in unet[3].parameters():
            p.zero_()
        x1, x2 = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32)
        out1, out2 = unet(x1), unet(x2)
        assert torch.allclose(unet[3](unet[2](unet[1](unet[0](x1)))), torch.zeros(1))
    # so only the encoder features carried by the cross connections reach the output
    assert (out1 - out2).abs().max() > 1e-3


@pytest.mark.slow
def test_dynamic_unet_on_xresnet_and_torchvision_body() -> None:
    unet = DynamicUnet(create_body(xresnet18(), pretrained=False), 3, (45, 37))
    assert unet(torch.randn(1, 3, 45, 37)).shape == (1, 3, 45, 37)
    tv = DynamicUnet(
        create_body(torchvision.models.resnet18(weights=None), n_in=1, pretrained=False), 2, (40, 40)
    )
    assert tv(torch.randn(2, 1, 40, 40)).shape == (2, 2, 40, 40)


def test_dynamic_unet_build_spec_round_trip() -> None:
    import copy

    body = create_body(xresnet18(n_out=3, widen=0.25, stem_szs=[8, 8, 16]), n_in=1, pretrained=False)
    unet = DynamicUnet(body, 2, (35, 41), bottle=True)
    assert unet.build_spec["kwargs"]["img_size"] == [35, 41]
    rebuilt = build_from_spec(unet.build_spec)
    rebuilt.load_state_dict(unet.state_dict())
    unet.eval(), rebuilt.eval()
    x = torch.randn(1, 1, 35, 41)
    assert torch.equal(unet(x), rebuilt(x))
    clone = copy.deepcopy(unet)
    assert torch.equal(clone(x), unet(x))


def test_dynamic_unet_errors() -> None:
    flat = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
    with pytest.raises(ValueError, match="never changes the spatial size"):
        DynamicUnet(flat, 2, (16, 16))
    with pytest.raises(ValueError, match="img_size must be"):
        DynamicUnet(small_encoder(), 2, (16, 16, 16))
