"""Composable blocks: SequentialEx + MergeLayer (skips), ResBlock, SE, self-attention, upsampling."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from ._conv import AvgPool, ConvLayer, NormType
from ._init import icnr_init, trunc_normal_
from ._module import Module, _PlainSlices

__all__ = [
    "SequentialEx",
    "MergeLayer",
    "ProdLayer",
    "ResBlock",
    "SEModule",
    "SEBlock",
    "SEResNeXtBlock",
    "SeparableBlock",
    "SimpleSelfAttention",
    "SelfAttention",
    "PooledSelfAttention2d",
    "PixelShuffle_ICNR",
    "Embedding",
    "Cat",
]


class SequentialEx(Module):
    """Like `nn.Sequential`, but every layer can read the block's original input as `x.orig`."""

    def __init__(self, *layers: nn.Module) -> None:
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = x
        for layer in self.layers:
            res.orig = x  # type: ignore[attr-defined]
            new = layer(res)
            # drop the references so the input can be freed (and typed tensors do not carry it along)
            res.orig = None  # type: ignore[attr-defined]
            if isinstance(new, torch.Tensor):
                new.orig = None  # type: ignore[attr-defined]
            res = new
        return res

    def __getitem__(self, i: int | slice) -> Any:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[nn.Module]:
        return iter(self.layers)

    def append(self, layer: nn.Module) -> None:
        """Add `layer` at the end."""
        self.layers.append(layer)

    def extend(self, layers: list[nn.Module]) -> None:
        """Add `layers` at the end."""
        self.layers.extend(layers)

    def insert(self, i: int, layer: nn.Module) -> None:
        """Insert `layer` at position `i`."""
        self.layers.insert(i, layer)


def _orig(x: torch.Tensor, who: str) -> torch.Tensor:
    orig = getattr(x, "orig", None)
    if orig is None:
        raise ValueError(f"{who} needs the block input `x.orig`: use it inside a SequentialEx")
    return orig


class MergeLayer(Module):
    """Merge the current value with the block input `x.orig`: add (ResNet) or concatenate on dim 1 (DenseNet).

    `func(x, orig)` replaces both with any merge you like.
    """

    def __init__(
        self, dense: bool = False, func: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    ) -> None:
        self.dense, self.func = dense, func

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        orig = _orig(x, "MergeLayer")
        if self.func is not None:
            return self.func(x, orig)
        return torch.cat([x, orig], dim=1) if self.dense else x + orig

    def extra_repr(self) -> str:
        return (
            f"dense={self.dense}"
            if self.func is None
            else f"func={getattr(self.func, '__name__', self.func)}"
        )


class ProdLayer(Module):
    """Multiply the current value by the block input `x.orig` (the gate of squeeze-excitation)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * _orig(x, "ProdLayer")


def SEModule(ch: int, reduction: int, act_cls: type[nn.Module] = nn.ReLU, ndim: int = 2) -> SequentialEx:
    """Squeeze-and-excitation: pool, bottleneck 1x1 convs, sigmoid gate multiplied into the input."""
    nf = math.ceil(ch // reduction / 8) * 8
    return SequentialEx(
        getattr(nn, f"AdaptiveAvgPool{ndim}d")(1),
        ConvLayer(ch, nf, ks=1, norm_type=None, act_cls=act_cls, ndim=ndim),
        ConvLayer(nf, ch, ks=1, norm_type=None, act_cls=nn.Sigmoid, ndim=ndim),
        ProdLayer(),
    )


class SimpleSelfAttention(Module):
    """Simple self-attention x·xᵀ·conv(x) gated by `gamma` (starts at 0); `sym` makes the weight symmetric."""

    def __init__(self, n_in: int, ks: int = 1, sym: bool = False) -> None:
        if sym and ks != 1:
            raise ValueError(f"SimpleSelfAttention: sym=True needs ks=1, got ks={ks}")
        self.sym, self.n_in = sym, n_in
        conv = nn.Conv1d(n_in, n_in, ks, padding=ks // 2, bias=False)
        nn.init.kaiming_normal_(conv.weight)
        self.conv = spectral_norm(conv)
        self.gamma = nn.Parameter(torch.tensor([0.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.size()
        x = x.view(*size[:2], -1)
        if self.sym:
            w = self.conv.weight.view(self.n_in, self.n_in)  # type: ignore[operator]
            convx = F.conv1d(x, ((w + w.t()) / 2).view(self.n_in, self.n_in, 1))
        else:
            convx = self.conv(x)
        xxt = torch.bmm(x, x.permute(0, 2, 1).contiguous())
        o = self.gamma * torch.bmm(xxt, convx) + x
        return o.view(*size).contiguous()


class SelfAttention(Module):
    """SAGAN self-attention over the spatial positions, gated by `gamma` (starts at 0)."""

    def __init__(self, n_channels: int) -> None:
        self.query, self.key, self.value = [
            ConvLayer(n_channels, c, ks=1, ndim=1, norm_type=NormType.Spectral, act_cls=None, bias=False)
            for c in (n_channels // 8, n_channels // 8, n_channels)
        ]
        self.gamma = nn.Parameter(torch.tensor([0.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.size()
        x = x.view(*size[:2], -1)
        f, g, h = self.query(x), self.key(x), self.value(x)
        beta = F.softmax(torch.bmm(f.transpose(1, 2), g), dim=1)
        o = self.gamma * torch.bmm(h, beta) + x
        return o.view(*size).contiguous()


class PooledSelfAttention2d(Module):
    """Self-attention (BigGAN style) whose keys and values are max-pooled 2x2, gated by `gamma` (starts at 0).

    Needs even spatial sizes; the value path has `n_channels // 2` channels, projected back by `out`.
    """

    def __init__(self, n_channels: int) -> None:
        if n_channels < 8:
            raise ValueError(f"PooledSelfAttention2d: n_channels must be at least 8, got {n_channels}")
        self.n_channels = n_channels
        self.query, self.key, self.value = [
            self._conv(n_channels, c) for c in (n_channels // 8, n_channels // 8, n_channels // 2)
        ]
        self.out = self._conv(n_channels // 2, n_channels)
        self.gamma = nn.Parameter(torch.tensor([0.0]))

    @staticmethod
    def _conv(n_in: int, n_out: int) -> ConvLayer:
        return ConvLayer(n_in, n_out, ks=1, norm_type=NormType.Spectral, act_cls=None, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[2] % 2 or x.shape[3] % 2:
            raise ValueError(
                f"PooledSelfAttention2d: spatial sizes must be even (2x2 pooling), got {tuple(x.shape[2:])}"
            )
        n_ftrs, c = x.shape[2] * x.shape[3], self.n_channels
        f = self.query(x).view(-1, c // 8, n_ftrs)
        g = F.max_pool2d(self.key(x), [2, 2]).view(-1, c // 8, n_ftrs // 4)
        h = F.max_pool2d(self.value(x), [2, 2]).view(-1, c // 2, n_ftrs // 4)
        beta = F.softmax(torch.bmm(f.transpose(1, 2), g), -1)
        o = self.out(torch.bmm(h, beta.transpose(1, 2)).view(-1, c // 2, x.shape[2], x.shape[3]))
        return self.gamma * o + x


class _ShortcutAvgPool3d(nn.AvgPool3d):
    """AvgPool3d that accepts dims smaller than the kernel (as the 1d/2d pools do with ceil_mode).

    A short depth (e.g. 8 slices) reaches size 1 long before height and width; a size-1 dim is
    replicated up to the kernel size, so its "average" is the value itself.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ks = self.kernel_size if isinstance(self.kernel_size, tuple) else (self.kernel_size,) * 3
        short = [max(0, k - size) for k, size in zip(ks, x.shape[-3:], strict=True)]
        if any(short):
            x = F.pad(x, (0, short[2], 0, short[1], 0, short[0]), mode="replicate")
        return super().forward(x)


def _shortcut_pool(ks: int, ndim: int = 2, ceil_mode: bool = True) -> nn.Module:
    """The average pool of a downsampling shortcut (ResNet-D)."""
    if ndim == 3:
        return _ShortcutAvgPool3d(ks, ceil_mode=ceil_mode)
    return AvgPool(ks, ndim=ndim, ceil_mode=ceil_mode)


class ResBlock(Module):
    """Residual block of XResNet: conv path (+SE, +self-attention) plus identity path, then activation.

    `expansion=1`: two `ks` convs; otherwise a 1x1 / ks / 1x1 bottleneck with `expansion`x channels.
    The last norm starts at zero so the block starts as the identity. The identity path downsamples
    with an average pool (ResNet-D) and matches channels with a 1x1 conv. `groups` (ResNeXt), `dw`
    (depthwise), `g2` (groups of the last conv), `nh1`/`nh2` (hidden widths), `reduction` (SE).
    """

    def __init__(
        self,
        expansion: int,
        ni: int,
        nf: int,
        stride: int = 1,
        groups: int = 1,
        reduction: int | None = None,
        nh1: int | None = None,
        nh2: int | None = None,
        dw: bool = False,
        g2: int = 1,
        sa: bool = False,
        sym: bool = False,
        norm_type: NormType | None = NormType.Batch,
        act_cls: type[nn.Module] = nn.ReLU,
        ndim: int = 2,
        ks: int = 3,
        pool: Callable[..., nn.Module] | None = None,
        pool_first: bool = True,
        **kwargs: Any,
    ) -> None:
        norm2 = (
            NormType.BatchZero
            if norm_type == NormType.Batch
            else NormType.InstanceZero
            if norm_type == NormType.Instance
            else norm_type
        )
        nh2 = nf if nh2 is None else nh2
        nh1 = nh2 if nh1 is None else nh1
        nf, ni = nf * expansion, ni * expansion
        k0 = dict(norm_type=norm_type, act_cls=act_cls, ndim=ndim, **kwargs)
        k1 = dict(norm_type=norm2, act_cls=None, ndim=ndim, **kwargs)
        if expansion == 1:
            convpath: list[nn.Module] = [
                ConvLayer(ni, nh2, ks, stride=stride, groups=ni if dw else groups, **k0),
                ConvLayer(nh2, nf, ks, groups=g2, **k1),
            ]
        else:
            convpath = [
                ConvLayer(ni, nh1, 1, **k0),
                ConvLayer(nh1, nh2, ks, stride=stride, groups=nh1 if dw else groups, **k0),
                ConvLayer(nh2, nf, 1, groups=g2, **k1),
            ]
        if reduction:
            convpath.append(SEModule(nf, reduction=reduction, act_cls=act_cls, ndim=ndim))
        if sa:
            convpath.append(SimpleSelfAttention(nf, ks=1, sym=sym))
        self.convpath = nn.Sequential(*convpath)
        idpath: list[nn.Module] = []
        if ni != nf:
            idpath.append(ConvLayer(ni, nf, 1, act_cls=None, ndim=ndim, **kwargs))
        if stride != 1:
            make_pool = _shortcut_pool if pool is None else pool
            idpath.insert(0 if pool_first else 1, make_pool(stride, ndim=ndim, ceil_mode=True))
        self.idpath = nn.Sequential(*idpath)
        self.act = nn.ReLU(inplace=True) if act_cls is nn.ReLU else act_cls()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.convpath(x) + self.idpath(x))


def SEBlock(
    expansion: int, ni: int, nf: int, groups: int = 1, reduction: int = 16, stride: int = 1, **kwargs: Any
) -> ResBlock:
    """ResBlock with squeeze-excitation (SE-ResNet)."""
    return ResBlock(
        expansion,
        ni,
        nf,
        stride=stride,
        groups=groups,
        reduction=reduction,
        nh1=nf * 2,
        nh2=nf * expansion,
        **kwargs,
    )


def SEResNeXtBlock(
    expansion: int,
    ni: int,
    nf: int,
    groups: int = 32,
    reduction: int | None = 16,
    base_width: int = 4,
    stride: int = 1,
    **kwargs: Any,
) -> ResBlock:
    """Grouped-convolution ResBlock (ResNeXt), with squeeze-excitation unless `reduction` is 0/None."""
    width = math.floor(nf * (base_width / 64)) * groups
    return ResBlock(expansion, ni, nf, stride=stride, groups=groups, reduction=reduction, nh2=width, **kwargs)


def SeparableBlock(
    expansion: int, ni: int, nf: int, reduction: int = 16, stride: int = 1, base_width: int = 4, **kwargs: Any
) -> ResBlock:
    """ResBlock with a depthwise-separable middle conv and squeeze-excitation (Xception-like)."""
    return ResBlock(expansion, ni, nf, stride=stride, reduction=reduction, nh2=nf * 2, dw=True, **kwargs)


class PixelShuffle_ICNR(_PlainSlices):
    """Upsample by `scale`: 1x1 conv to nf*scale² channels (ICNR init), PixelShuffle, optional blur.

    The blur (replication pad + 2x2 average pool, stride 1) removes checkerboard artefacts.
    """

    def __init__(
        self,
        ni: int,
        nf: int | None = None,
        scale: int = 2,
        blur: bool = False,
        norm_type: NormType | None = NormType.Weight,
        act_cls: type[nn.Module] | None = nn.ReLU,
    ) -> None:
        nf = ni if nf is None else nf
        conv_layer = ConvLayer(ni, nf * (scale**2), ks=1, norm_type=norm_type, act_cls=act_cls, bias_std=0)
        conv = conv_layer[0]
        with torch.no_grad():
            weight = icnr_init(conv.weight.detach().clone(), scale=scale)
            if parametrize.is_parametrized(conv, "weight"):
                conv.weight = weight  # goes through the weight-norm's right_inverse
            else:
                conv.weight.copy_(weight)
        layers: list[nn.Module] = [conv_layer, nn.PixelShuffle(scale)]
        if blur:
            layers += [nn.ReplicationPad2d((1, 0, 1, 0)), nn.AvgPool2d(2, stride=1)]
        super().__init__(*layers)


class Embedding(nn.Embedding):
    """`nn.Embedding` initialised with a truncated normal of standard deviation `std`."""

    def __init__(self, ni: int, nf: int, std: float = 0.01) -> None:
        super().__init__(ni, nf)
        trunc_normal_(self.weight.data, std=std)


class Cat(nn.ModuleList):
    """Apply every layer to the same input and concatenate the results along `dim`."""

    def __init__(self, layers: list[nn.Module], dim: int = 1) -> None:
        super().__init__(layers)
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([layer(x) for layer in self], dim=self.dim)
