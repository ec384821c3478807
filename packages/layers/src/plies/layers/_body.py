"""Transfer learning: cut a pretrained model into a body, adapt its first conv, build a classifier head."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import torch
from plies.typecore import register_builder
from torch import nn

from ._activations import SigmoidRange
from ._conv import AdaptiveConcatPool2d, LinBnDrop
from ._module import Flatten

__all__ = ["create_body", "create_head", "cut_model", "has_pool_type", "is_pool_type"]


def is_pool_type(layer: nn.Module) -> bool:
    """Whether `layer` is a pooling layer (its class name ends in Pool1d/2d/3d)."""
    return re.search(r"Pool[123]d$", type(layer).__name__) is not None


def has_pool_type(m: nn.Module) -> bool:
    """Whether `m` is or contains a pooling layer."""
    return is_pool_type(m) or any(has_pool_type(c) for c in m.children())


def cut_model(model: nn.Module, cut: int | Callable[[nn.Module], nn.Module]) -> nn.Module:
    """The first `cut` children of `model` as an `nn.Sequential`, or `cut(model)` when `cut` is callable."""
    if isinstance(cut, int):
        return nn.Sequential(*list(model.children())[:cut])
    if callable(cut):
        return cut(model)
    raise TypeError(f"cut_model: cut must be an int or a callable, got {type(cut).__name__}")


def _first_conv(model: nn.Module) -> tuple[Any, nn.Module, str]:
    """The first layer of `model` (descending through first children) with its parent and attribute name."""
    parent, name, layer = model, "", model
    while True:
        children = list(layer.named_children())
        if not children or isinstance(layer, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            break
        parent = layer
        name, layer = children[0]
    if not isinstance(layer, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        raise TypeError(
            f"create_body: the first layer of the model must be a convolution to change n_in, "
            f"found {type(layer).__name__}"
        )
    return layer, parent, name


def _adapted_weight(weight: torch.Tensor, n_in: int) -> torch.Tensor:
    """Map a 3-channel first-conv weight to `n_in` channels, keeping the activation scale."""
    if n_in == 1:
        return weight.sum(dim=1, keepdim=True)
    if n_in == 2:
        return weight[:, :2] * (3 / 2)
    idx = torch.arange(n_in, device=weight.device) % weight.shape[1]
    return weight[:, idx] * (3 / n_in)


def _update_first_layer(model: nn.Module, n_in: int, pretrained: bool) -> None:
    conv, parent, name = _first_conv(model)
    if conv.in_channels == n_in:
        return
    if conv.in_channels != 3:
        raise ValueError(
            f"create_body: can only adapt a first conv with 3 input channels to n_in={n_in}, "
            f"found {conv.in_channels}"
        )
    if conv.groups != 1:
        raise ValueError(
            f"create_body: cannot adapt a grouped first conv (groups={conv.groups}) to n_in={n_in}"
        )
    new = type(conv)(
        n_in,
        conv.out_channels,
        kernel_size=conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        groups=conv.groups,
        bias=conv.bias is not None,
        padding_mode=conv.padding_mode,
        device=conv.weight.device,
        dtype=conv.weight.dtype,
    )
    if pretrained:
        with torch.no_grad():
            new.weight.copy_(_adapted_weight(conv.weight, n_in))
            if conv.bias is not None:
                new.bias.copy_(conv.bias)
    if isinstance(parent, nn.Sequential) and name.isdigit():
        parent[int(name)] = new
    else:
        setattr(parent, name, new)


@register_builder
def create_body(
    arch: nn.Module | Callable[..., nn.Module],
    n_in: int = 3,
    pretrained: bool = True,
    cut: int | Callable[[nn.Module], nn.Module] | None = None,
) -> nn.Module:
    """The body (feature extractor) of a model: everything before its final pooling layer.

    `arch` is a model or a constructor (called as `arch(pretrained=pretrained)`, so pretrained weights
    come from the arch's own mechanism). With `n_in` != 3 the first conv is replaced by one taking
    `n_in` channels; when `pretrained`, its weights are derived from the 3-channel ones: summed for
    n_in=1, the first two scaled by 3/2 for n_in=2, the channels cycled and scaled by 3/n_in above 3.
    `cut` is a child index or a function of the model; by default the model is cut before its last
    child that contains a pooling layer. When `arch` is a model with a `build_spec` (an xresnet) and
    `cut` an int, the body gets a `build_spec` too (pickle-free export can rebuild it).
    """
    model = arch if isinstance(arch, nn.Module) else arch(pretrained=pretrained)
    if not isinstance(model, nn.Module):
        raise TypeError(f"create_body: arch must be an nn.Module or return one, got {type(model).__name__}")
    _update_first_layer(model, n_in, pretrained)
    if cut is None:
        children = list(model.children())
        pools = [i for i, c in enumerate(children) if has_pool_type(c)]
        if not pools:
            raise ValueError(
                f"create_body: no pooling layer among the children of {type(model).__name__}; "
                f"pass cut= explicitly"
            )
        cut = pools[-1]
    return cut_model(model, cut)


def create_head(
    nf: int,
    n_out: int,
    lin_ftrs: Sequence[int] | None = None,
    ps: float | Sequence[float] = 0.5,
    pool: bool = True,
    concat_pool: bool = True,
    first_bn: bool = True,
    bn_final: bool = False,
    lin_first: bool = False,
    y_range: tuple[float, float] | None = None,
) -> nn.Sequential:
    """A classifier head for a body with `nf` features: pool, flatten, LinBnDrop blocks, `n_out` outputs.

    `concat_pool` uses `AdaptiveConcatPool2d`, which doubles `nf` (done here: pass the body's features).
    `lin_ftrs` are the hidden sizes ([512] by default); `ps` the dropouts (one value: the last layer
    gets it, the others half of it). `y_range` adds a `SigmoidRange`.
    """
    if pool and concat_pool:
        nf *= 2
    sizes = [nf, 512, n_out] if lin_ftrs is None else [nf, *lin_ftrs, n_out]
    bns = [first_bn] + [True] * (len(sizes) - 2)
    ps_list = [float(ps)] if isinstance(ps, (int, float)) else [float(p) for p in ps]
    if len(ps_list) == 1:
        ps_list = [ps_list[0] / 2] * (len(sizes) - 2) + ps_list
    if len(ps_list) != len(sizes) - 1:
        raise ValueError(
            f"create_head: expected {len(sizes) - 1} dropout values in ps (one per linear layer), "
            f"got {len(ps_list)}"
        )
    acts: list[nn.Module | None] = [nn.ReLU(inplace=True) for _ in range(len(sizes) - 2)] + [None]
    layers: list[nn.Module] = []
    if pool:
        layers += [AdaptiveConcatPool2d() if concat_pool else nn.AdaptiveAvgPool2d(1), Flatten()]
    if lin_first:
        # dropout on the pooled features, hidden blocks Linear-ReLU-BN-Dropout, then a plain Linear
        layers.append(nn.Dropout(ps_list[0]))
        for ni, no, p, act in zip(sizes[:-2], sizes[1:-1], ps_list[1:], acts[:-1], strict=True):
            layers += list(LinBnDrop(ni, no, bn=True, p=p, act=act, lin_first=True))
        layers.append(nn.Linear(sizes[-2], n_out))
    else:
        for ni, no, bn, p, act in zip(sizes[:-1], sizes[1:], bns, ps_list, acts, strict=True):
            layers += list(LinBnDrop(ni, no, bn=bn, p=p, act=act))
    if bn_final:
        layers.append(nn.BatchNorm1d(sizes[-1], momentum=0.01))
    if y_range is not None:
        layers.append(SigmoidRange(*y_range))
    return nn.Sequential(*layers)
