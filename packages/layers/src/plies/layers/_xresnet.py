"""XResNet: the "bag of tricks" ResNet family, one typed constructor per variant, and their registry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from plies.typecore import register_builder
from torch import nn

from ._blocks import ResBlock, SEBlock, SEResNeXtBlock
from ._conv import AdaptiveAvgPool, ConvLayer, MaxPool
from ._init import init_cnn
from ._module import Flatten, _PlainSlices

__all__ = [
    "XResNet",
    "XRESNETS",
    "xresnet18",
    "xresnet34",
    "xresnet50",
    "xresnet101",
    "xresnet152",
    "xresnet18_deep",
    "xresnet34_deep",
    "xresnet50_deep",
    "xresnet18_deeper",
    "xresnet34_deeper",
    "xresnet50_deeper",
    "xresnext18",
    "xresnext34",
    "xresnext50",
    "xresnext101",
    "xse_resnet18",
    "xse_resnet34",
    "xse_resnet50",
    "xse_resnet101",
    "xse_resnet152",
    "xse_resnext18",
    "xse_resnext34",
    "xse_resnext50",
    "xse_resnext101",
    "xse_resnext18_deep",
    "xse_resnext34_deep",
    "xse_resnext50_deep",
    "xse_resnext18_deeper",
    "xse_resnext34_deeper",
    "xse_resnext50_deeper",
    "xsenet154",
]


class XResNet(_PlainSlices):
    """ResNet with the tweaks of "Bag of Tricks" (He et al. 2018), as an `nn.Sequential`.

    Three-conv stem (`stem_szs`, the first with stride `stride`), max pool, one stage of `block`s per
    entry of `layers` (widths 64/128/256/512 then 256, times `widen`; `expansion` 4 = bottleneck),
    average-pool downsampling in the shortcuts (ResNet-D), zero-initialised last norm of every block,
    then pool, flatten, dropout `p` and a linear layer to `n_out`. `sa` adds self-attention to the last
    block of the fourth stage from the end. Other keywords go to every block (`groups`, `reduction`,
    `nh1`, `nh2`, `dw`, `g2`, `sym`, `norm_type`, `pool`, ...). `ndim` 1/3 builds 1d/3d networks.
    """

    def __init__(
        self,
        block: Callable[..., nn.Module],
        expansion: int,
        layers: Sequence[int],
        p: float = 0.0,
        c_in: int = 3,
        n_out: int = 1000,
        stem_szs: Sequence[int] = (32, 32, 64),
        widen: float = 1.0,
        sa: bool = False,
        act_cls: type[nn.Module] = nn.ReLU,
        ndim: int = 2,
        ks: int = 3,
        stride: int = 2,
        **kwargs: Any,
    ) -> None:
        if ks % 2 == 0:
            raise ValueError(f"XResNet: kernel size ks must be odd, got {ks}")
        if len(layers) < 4:
            raise ValueError(f"XResNet: layers needs at least 4 stages, got {list(layers)}")
        self.block, self.expansion, self.act_cls, self.ndim, self.ks = block, expansion, act_cls, ndim, ks
        szs = [c_in, *stem_szs]
        stem = [
            ConvLayer(szs[i], szs[i + 1], ks=ks, stride=stride if i == 0 else 1, act_cls=act_cls, ndim=ndim)
            for i in range(len(stem_szs))
        ]
        block_szs = [int(o * widen) for o in [64, 128, 256, 512] + [256] * (len(layers) - 4)]
        block_szs = [stem_szs[-1] // expansion, *block_szs]
        blocks = [
            self._make_layer(
                ni=block_szs[i],
                nf=block_szs[i + 1],
                n_blocks=n,
                stride=1 if i == 0 else stride,
                sa=sa and i == len(layers) - 4,
                **kwargs,
            )
            for i, n in enumerate(layers)
        ]
        super().__init__(
            *stem,
            MaxPool(ks=ks, stride=stride, padding=ks // 2, ndim=ndim),
            *blocks,
            AdaptiveAvgPool(sz=1, ndim=ndim),
            Flatten(),
            nn.Dropout(p),
            nn.Linear(block_szs[-1] * expansion, n_out),
        )
        init_cnn(self)

    def _make_layer(
        self, ni: int, nf: int, n_blocks: int, stride: int, sa: bool, **kwargs: Any
    ) -> nn.Sequential:
        return nn.Sequential(
            *[
                self.block(
                    self.expansion,
                    ni if i == 0 else nf,
                    nf,
                    stride=stride if i == 0 else 1,
                    sa=sa and i == n_blocks - 1,
                    act_cls=self.act_cls,
                    ndim=self.ndim,
                    ks=self.ks,
                    **kwargs,
                )
                for i in range(n_blocks)
            ]
        )


def _no_weights(name: str, pretrained: bool) -> None:
    if pretrained:
        raise ValueError(
            f"{name}: plies ships no pretrained weights for this architecture (nothing is "
            f"downloaded); pass pretrained=False, then load a state_dict of your own"
        )


def _xresnet(name: str, pretrained: bool, expansion: int, layers: list[int], **kwargs: Any) -> XResNet:
    _no_weights(name, pretrained)
    return XResNet(ResBlock, expansion, layers, **kwargs)


G0, G1, G2, G3 = [2, 2, 2, 2], [3, 4, 6, 3], [3, 4, 23, 3], [3, 8, 36, 3]


@register_builder
def xresnet18(pretrained: bool = False, **kwargs: Any) -> XResNet:
    """XResNet-18: basic blocks [2, 2, 2, 2]."""
    return _xresnet("xresnet18", pretrained, 1, G0, **kwargs)


@register_builder
def xresnet34(pretrained: bool = False, **kwargs: Any) -> XResNet:
    """XResNet-34: basic blocks [3, 4, 6, 3]."""
    return _xresnet("xresnet34", pretrained, 1, G1, **kwargs)


@register_builder
def xresnet50(pretrained: bool = False, **kwargs: Any) -> XResNet:
    """XResNet-50: bottleneck blocks [3, 4, 6, 3]."""
    return _xresnet("xresnet50", pretrained, 4, G1, **kwargs)


@register_builder
def xresnet101(pretrained: bool = False, **kwargs: Any) -> XResNet:
    """XResNet-101: bottleneck blocks [3, 4, 23, 3]."""
    return _xresnet("xresnet101", pretrained, 4, G2, **kwargs)


@register_builder
def xresnet152(pretrained: bool = False, **kwargs: Any) -> XResNet:
    """XResNet-152: bottleneck blocks [3, 8, 36, 3]."""
    return _xresnet("xresnet152", pretrained, 4, G3, **kwargs)


@register_builder
def xresnet18_deep(pretrained: bool = False, **kwargs: Any) -> XResNet:
    """XResNet-18 with two extra one-block stages: [2, 2, 2, 2, 1, 1]."""
    return _xresnet("xresnet18_deep", pretrained, 1, G0 + [1, 1], **kwargs)


@register_builder
def xresnet34_deep(pretrained: bool = False, **kwargs: Any) -> XResNet:
    """XResNet-34 with two extra one-block stages: [3, 4, 6, 3, 1, 1]."""
    return _xresnet("xresnet34_deep", pretrained, 1, G1 + [1, 1], **kwargs)


@register_builder
def xresnet50_deep(pretrained: bool = False, **kwargs: Any) -> XResNet:
    """XResNet-50 with two extra one-block stages: [3, 4, 6, 3, 1, 1]."""
    return _xresnet("xresnet50_deep", pretrained, 4, G1 + [1, 1], **kwargs)


@register_builder
def xresnet18_deeper(pretrained: bool = False, **kwargs: Any) -> XResNet:
    """Eight-stage XResNet with basic blocks [2, 2, 1, 1, 1, 1, 1, 1]."""
    return _xresnet("xresnet18_deeper", pretrained, 1, [2, 2, 1, 1, 1, 1, 1, 1], **kwargs)


@register_builder
def xresnet34_deeper(pretrained: bool = False, **kwargs: Any) -> XResNet:
    """Eight-stage XResNet with basic blocks [3, 4, 6, 3, 1, 1, 1, 1]."""
    return _xresnet("xresnet34_deeper", pretrained, 1, G1 + [1, 1, 1, 1], **kwargs)


@register_builder
def xresnet50_deeper(pretrained: bool = False, **kwargs: Any) -> XResNet:
    """Eight-stage XResNet with bottleneck blocks [3, 4, 6, 3, 1, 1, 1, 1]."""
    return _xresnet("xresnet50_deeper", pretrained, 4, G1 + [1, 1, 1, 1], **kwargs)


def _se(
    name: str,
    pretrained: bool,
    block: Callable[..., nn.Module],
    expansion: int,
    layers: list[int],
    n_out: int,
    groups: int,
    reduction: int,
    **kwargs: Any,
) -> XResNet:
    _no_weights(name, pretrained)
    return XResNet(block, expansion, layers, n_out=n_out, groups=groups, reduction=reduction, **kwargs)


@register_builder
def xresnext18(n_out: int = 1000, pretrained: bool = False, **kwargs: Any) -> XResNet:
    """ResNeXt-18 (32 groups, no squeeze-excitation)."""
    return _se("xresnext18", pretrained, SEResNeXtBlock, 1, G0, n_out, 32, 0, **kwargs)


@register_builder
def xresnext34(n_out: int = 1000, pretrained: bool = False, **kwargs: Any) -> XResNet:
    """ResNeXt-34 (32 groups, no squeeze-excitation)."""
    return _se("xresnext34", pretrained, SEResNeXtBlock, 1, G1, n_out, 32, 0, **kwargs)


@register_builder
def xresnext50(n_out: int = 1000, pretrained: bool = False, **kwargs: Any) -> XResNet:
    """ResNeXt-50 (bottleneck, 32 groups, no squeeze-excitation)."""
    return _se("xresnext50", pretrained, SEResNeXtBlock, 4, G1, n_out, 32, 0, **kwargs)


@register_builder
def xresnext101(n_out: int = 1000, pretrained: bool = False, **kwargs: Any) -> XResNet:
    """ResNeXt-101 (bottleneck, 32 groups, no squeeze-excitation)."""
    return _se("xresnext101", pretrained, SEResNeXtBlock, 4, G2, n_out, 32, 0, **kwargs)


@register_builder
def xse_resnet18(n_out: int = 1000, pretrained: bool = False, **kwargs: Any) -> XResNet:
    """SE-ResNet-18 (squeeze-excitation, reduction 16)."""
    return _se("xse_resnet18", pretrained, SEBlock, 1, G0, n_out, 1, 16, **kwargs)


@register_builder
def xse_resnet34(n_out: int = 1000, pretrained: bool = False, **kwargs: Any) -> XResNet:
    """SE-ResNet-34 (squeeze-excitation, reduction 16)."""
    return _se("xse_resnet34", pretrained, SEBlock, 1, G1, n_out, 1, 16, **kwargs)


@register_builder
def xse_resnet50(n_out: int = 1000, pretrained: bool = False, **kwargs: Any) -> XResNet:
    """SE-ResNet-50 (bottleneck, squeeze-excitation, reduction 16)."""
    return _se("xse_resnet50", pretrained, SEBlock, 4, G1, n_out, 1, 16, **kwargs)


@register_builder
def xse_resnet101(n_out: int = 1000, pretrained: bool = False, **kwargs: Any) -> XResNet:
    """SE-ResNet-101 (bottleneck, squeeze-excitation, reduction 16)."""
    return _se("xse_resnet101", pretrained, SEBlock, 4, G2, n_out, 1, 16, **kwargs)


@register_builder
def xse_resnet152(n_out: int = 1000, pretrained: bool = False, **kwargs: Any) -> XResNet:
    """SE-ResNet-152 (bottleneck, squeeze-excitation, reduction 16)."""
    return _se("xse_resnet152", pretrained, SEBlock, 4, G3, n_out, 1, 16, **kwargs)


@register_builder
def xse_resnext18(n_out: int = 1000, pretrained: bool = False, **kwargs: Any) -> XResNet:
    """SE-ResNeXt-18 (32 groups, squeeze-excitation)."""
    return _se("xse_resnext18", pretrained, SEResNeXtBlock, 1, G0, n_out, 32, 16, **kwargs)


@register_builder
def xse_resnext34(n_out: int = 1000, pretrained: bool = False, **kwargs: Any) -> XResNet:
    """SE-ResNeXt-34 (32 groups, squeeze-excitation)."""
    return _se("xse_resnext34", pretrained, SEResNeXtBlock, 1, G1, n_out, 32, 16, **kwargs)


@register_builder
def xse_resnext50(n_out: int = 1000, pretrained: bool = False, **kwargs: Any) -> XResNet:
    """SE-ResNeXt-50 (bottleneck, 32 groups, squeeze-excitation)."""
    return _se("xse_resnext50", pretrained, SEResNeXtBlock, 4, G1, n_out, 32, 16, **kwargs)


@register_builder
def xse_resnext101(n_out: int = 1000, pretrained: bool = False, **kwargs: Any) -> XResNet:
    """SE-ResNeXt-101 (bottleneck, 32 groups, squeeze-excitation)."""
    return _se("xse_resnext101", pretrained, SEResNeXtBlock, 4, G2, n_out, 32, 16, **kwargs)


@register_builder
def xse_resnext18_deep(n_out: int = 1000, pretrained: bool = False, **kwargs: Any) -> XResNet:
    """SE-ResNeXt-18 with two extra one-block stages."""
    return _se("xse_resnext18_deep", pretrained, SEResNeXtBlock, 1, G0 + [1, 1], n_out, 32, 16, **kwargs)


@register_builder
def xse_resnext34_deep(n_out: int = 1000, pretrained: bool = False, **kwargs: Any) -> XResNet:
    """SE-ResNeXt-34 with two extra one-block stages."""
    return _se("xse_resnext34_deep", pretrained, SEResNeXtBlock, 1, G1 + [1, 1], n_out, 32, 16, **kwargs)


@register_builder
def xse_resnext50_deep(n_out: int = 1000, pretrained: bool = False, **kwargs: Any) -> XResNet:
    """SE-ResNeXt-50 with two extra one-block stages."""
    return _se("xse_resnext50_deep", pretrained, SEResNeXtBlock, 4, G1 + [1, 1], n_out, 32, 16, **kwargs)


@register_builder
def xse_resnext18_deeper(n_out: int = 1000, pretrained: bool = False, **kwargs: Any) -> XResNet:
    """Eight-stage SE-ResNeXt, blocks [2, 2, 1, 1, 1, 1, 1, 1]."""
    return _se(
        "xse_resnext18_deeper",
        pretrained,
        SEResNeXtBlock,
        1,
        [2, 2, 1, 1, 1, 1, 1, 1],
        n_out,
        32,
        16,
        **kwargs,
    )


@register_builder
def xse_resnext34_deeper(n_out: int = 1000, pretrained: bool = False, **kwargs: Any) -> XResNet:
    """Eight-stage SE-ResNeXt, blocks [3, 4, 4, 2, 2, 1, 1, 1]."""
    return _se(
        "xse_resnext34_deeper",
        pretrained,
        SEResNeXtBlock,
        1,
        [3, 4, 4, 2, 2, 1, 1, 1],
        n_out,
        32,
        16,
        **kwargs,
    )


@register_builder
def xse_resnext50_deeper(n_out: int = 1000, pretrained: bool = False, **kwargs: Any) -> XResNet:
    """Eight-stage bottleneck SE-ResNeXt, blocks [3, 4, 4, 2, 2, 1, 1, 1]."""
    return _se(
        "xse_resnext50_deeper",
        pretrained,
        SEResNeXtBlock,
        4,
        [3, 4, 4, 2, 2, 1, 1, 1],
        n_out,
        32,
        16,
        **kwargs,
    )


@register_builder
def xsenet154(n_out: int = 1000, pretrained: bool = False, **kwargs: Any) -> XResNet:
    """SENet-154: bottleneck SE blocks [3, 8, 36, 3] with 64 groups and dropout 0.2."""
    kwargs.setdefault("p", 0.2)
    return _se("xsenet154", pretrained, SEBlock, 4, G3, n_out, 64, 16, **kwargs)


XRESNETS: dict[str, Callable[..., XResNet]] = {
    f.__name__: f
    for f in (
        xresnet18,
        xresnet34,
        xresnet50,
        xresnet101,
        xresnet152,
        xresnet18_deep,
        xresnet34_deep,
        xresnet50_deep,
        xresnet18_deeper,
        xresnet34_deeper,
        xresnet50_deeper,
        xresnext18,
        xresnext34,
        xresnext50,
        xresnext101,
        xse_resnet18,
        xse_resnet34,
        xse_resnet50,
        xse_resnet101,
        xse_resnet152,
        xse_resnext18,
        xse_resnext34,
        xse_resnext50,
        xse_resnext101,
        xse_resnext18_deep,
        xse_resnext34_deep,
        xse_resnext50_deep,
        xse_resnext18_deeper,
        xse_resnext34_deeper,
        xse_resnext50_deeper,
        xsenet154,
    )
}
