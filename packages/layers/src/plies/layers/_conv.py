"""Convolution + normalisation + activation blocks, norm layers, pooling and `LinBnDrop`."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

from ._init import init_linear
from ._module import Flatten, Module, _PlainSlices

__all__ = [
    "NormType",
    "BatchNorm",
    "InstanceNorm",
    "BatchNorm1dFlat",
    "ConvLayer",
    "LinBnDrop",
    "AdaptiveAvgPool",
    "MaxPool",
    "AvgPool",
    "AdaptiveConcatPool1d",
    "AdaptiveConcatPool2d",
    "PoolType",
    "adaptive_pool",
    "PoolFlatten",
    "SimpleCNN",
]

NormType = Enum("NormType", "Batch BatchZero Weight Spectral Instance InstanceZero")
NormType.__doc__ = "Normalisation kinds for `ConvLayer`; the *Zero kinds start the norm's scale at 0."


def _check_ndim(ndim: int, what: str) -> None:
    if ndim not in (1, 2, 3):
        raise ValueError(f"{what}: ndim must be 1, 2 or 3, got {ndim!r}")


def _norm(prefix: str, nf: int, ndim: int, zero: bool, **kwargs: Any) -> nn.Module:
    _check_ndim(ndim, prefix)
    norm = getattr(nn, f"{prefix}{ndim}d")(nf, **kwargs)
    if norm.affine:
        with torch.no_grad():
            norm.bias.fill_(1e-3)
            norm.weight.fill_(0.0 if zero else 1.0)
    return norm


def BatchNorm(
    nf: int, ndim: int = 2, norm_type: NormType | None = NormType.Batch, **kwargs: Any
) -> nn.Module:
    """BatchNorm{ndim}d over `nf` channels; `NormType.BatchZero` starts its weight at 0 (bias at 1e-3)."""
    return _norm("BatchNorm", nf, ndim, zero=norm_type == NormType.BatchZero, **kwargs)


def InstanceNorm(
    nf: int, ndim: int = 2, norm_type: NormType | None = NormType.Instance, affine: bool = True, **kwargs: Any
) -> nn.Module:
    """InstanceNorm{ndim}d over `nf` channels; `NormType.InstanceZero` starts its weight at 0."""
    return _norm("InstanceNorm", nf, ndim, zero=norm_type == NormType.InstanceZero, affine=affine, **kwargs)


class BatchNorm1dFlat(nn.BatchNorm1d):
    """`nn.BatchNorm1d` that also accepts (batch, seq, features) input by flattening the first two dims."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            return super().forward(x)
        *front, features = x.shape
        return super().forward(x.contiguous().view(-1, features)).view(*front, features)


_CONVS = {
    (1, False): nn.Conv1d,
    (2, False): nn.Conv2d,
    (3, False): nn.Conv3d,
    (1, True): nn.ConvTranspose1d,
    (2, True): nn.ConvTranspose2d,
    (3, True): nn.ConvTranspose3d,
}


class ConvLayer(_PlainSlices):
    """Conv (1d/2d/3d, optionally transposed) followed by normalisation and activation.

    Padding defaults to `(ks-1)//2` (0 when `transpose`), bias defaults to "no batch/instance norm",
    the weight gets the init that suits `act_cls` (kaiming for ReLU). `bn_1st` puts the norm before
    the activation. Extra keywords go to the torch conv (unknown names raise TypeError).
    """

    def __init__(
        self,
        ni: int,
        nf: int,
        ks: int = 3,
        stride: int = 1,
        padding: int | None = None,
        bias: bool | None = None,
        ndim: int = 2,
        norm_type: NormType | None = NormType.Batch,
        bn_1st: bool = True,
        act_cls: type[nn.Module] | None = nn.ReLU,
        transpose: bool = False,
        init: Any = "auto",
        xtra: nn.Module | None = None,
        bias_std: float = 0.01,
        **kwargs: Any,
    ) -> None:
        _check_ndim(ndim, "ConvLayer")
        if padding is None:
            padding = 0 if transpose else (ks - 1) // 2
        bn = norm_type in (NormType.Batch, NormType.BatchZero)
        inn = norm_type in (NormType.Instance, NormType.InstanceZero)
        if bias is None:
            bias = not (bn or inn)
        conv = _CONVS[(ndim, transpose)](
            ni, nf, kernel_size=ks, bias=bias, stride=stride, padding=padding, **kwargs
        )
        act = None if act_cls is None else act_cls()
        init_linear(conv, act, init=init, bias_std=bias_std)
        if norm_type == NormType.Weight:
            conv = weight_norm(conv)
        elif norm_type == NormType.Spectral:
            conv = spectral_norm(conv)
        act_bn: list[nn.Module] = []
        if act is not None:
            act_bn.append(act)
        if bn:
            act_bn.append(BatchNorm(nf, norm_type=norm_type, ndim=ndim))
        if inn:
            act_bn.append(InstanceNorm(nf, norm_type=norm_type, ndim=ndim))
        if bn_1st:
            act_bn.reverse()
        layers = [conv, *act_bn]
        if xtra is not None:
            layers.append(xtra)
        super().__init__(*layers)


class LinBnDrop(_PlainSlices):
    """BatchNorm1d, Dropout(p) and Linear (+ `act`); `lin_first` puts Linear (+act) first."""

    def __init__(
        self,
        n_in: int,
        n_out: int,
        bn: bool = True,
        p: float = 0.0,
        act: nn.Module | None = None,
        lin_first: bool = False,
    ) -> None:
        layers: list[nn.Module] = [BatchNorm(n_out if lin_first else n_in, ndim=1)] if bn else []
        if p != 0:
            layers.append(nn.Dropout(p))
        lin: list[nn.Module] = [nn.Linear(n_in, n_out, bias=not bn)]
        if act is not None:
            lin.append(act)
        super().__init__(*(lin + layers if lin_first else layers + lin))


def AdaptiveAvgPool(sz: int = 1, ndim: int = 2) -> nn.Module:
    """nn.AdaptiveAvgPool{ndim}d(sz)."""
    _check_ndim(ndim, "AdaptiveAvgPool")
    return getattr(nn, f"AdaptiveAvgPool{ndim}d")(sz)


def MaxPool(
    ks: int = 2, stride: int | None = None, padding: int = 0, ndim: int = 2, ceil_mode: bool = False
) -> nn.Module:
    """nn.MaxPool{ndim}d."""
    _check_ndim(ndim, "MaxPool")
    return getattr(nn, f"MaxPool{ndim}d")(ks, stride=stride, padding=padding, ceil_mode=ceil_mode)


def AvgPool(
    ks: int = 2, stride: int | None = None, padding: int = 0, ndim: int = 2, ceil_mode: bool = False
) -> nn.Module:
    """nn.AvgPool{ndim}d."""
    _check_ndim(ndim, "AvgPool")
    return getattr(nn, f"AvgPool{ndim}d")(ks, stride=stride, padding=padding, ceil_mode=ceil_mode)


class AdaptiveConcatPool1d(Module):
    """Concatenation of adaptive max pooling and adaptive average pooling (1d): doubles the channels."""

    def __init__(self, size: int | None = None) -> None:
        self.size = size or 1
        self.ap, self.mp = nn.AdaptiveAvgPool1d(self.size), nn.AdaptiveMaxPool1d(self.size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.mp(x), self.ap(x)], 1)


class AdaptiveConcatPool2d(Module):
    """Concatenation of adaptive max pooling and adaptive average pooling (2d): doubles the channels."""

    def __init__(self, size: int | tuple[int, int] | None = None) -> None:
        self.size = size or 1
        self.ap, self.mp = nn.AdaptiveAvgPool2d(self.size), nn.AdaptiveMaxPool2d(self.size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.mp(x), self.ap(x)], 1)


class PoolType:
    """The kinds of adaptive pooling `adaptive_pool` and `PoolFlatten` build: 'Avg', 'Max', 'Cat'."""

    Avg, Max, Cat = "Avg", "Max", "Cat"


def adaptive_pool(pool_type: str) -> type[nn.Module]:
    """The adaptive 2d pooling class for `pool_type` ('Avg', 'Max' or 'Cat' for AdaptiveConcatPool2d)."""
    pools: dict[str, type[nn.Module]] = {
        PoolType.Avg: nn.AdaptiveAvgPool2d,
        PoolType.Max: nn.AdaptiveMaxPool2d,
        PoolType.Cat: AdaptiveConcatPool2d,
    }
    if pool_type not in pools:
        raise ValueError(f"adaptive_pool: pool_type must be 'Avg', 'Max' or 'Cat', got {pool_type!r}")
    return pools[pool_type]


class PoolFlatten(_PlainSlices):
    """Adaptive pooling to 1x1 (`pool_type` 'Avg', 'Max' or 'Cat') followed by `Flatten`."""

    def __init__(self, pool_type: str = PoolType.Avg) -> None:
        super().__init__(adaptive_pool(pool_type)(1), Flatten())


class SimpleCNN(_PlainSlices):
    """A plain CNN: one `ConvLayer` per pair of consecutive `filters`, then `PoolFlatten`.

    `kernel_szs` and `strides` default to 3 and 2 for every conv; `bn` puts BatchNorm in all but the
    last conv.
    """

    def __init__(
        self,
        filters: Sequence[int],
        kernel_szs: Sequence[int] | None = None,
        strides: Sequence[int] | None = None,
        bn: bool = True,
    ) -> None:
        nl = len(filters) - 1
        if nl < 1:
            raise ValueError(f"SimpleCNN: filters needs at least 2 sizes, got {list(filters)}")
        kernel_szs = [3] * nl if kernel_szs is None else list(kernel_szs)
        strides = [2] * nl if strides is None else list(strides)
        for name, values in (("kernel_szs", kernel_szs), ("strides", strides)):
            if len(values) != nl:
                raise ValueError(f"SimpleCNN: expected {nl} {name} (one per conv), got {len(values)}")
        layers: list[nn.Module] = [
            ConvLayer(
                filters[i],
                filters[i + 1],
                kernel_szs[i],
                stride=strides[i],
                norm_type=NormType.Batch if bn and i < nl - 1 else None,
            )
            for i in range(nl)
        ]
        layers.append(PoolFlatten())
        super().__init__(*layers)
