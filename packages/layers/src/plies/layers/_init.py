"""Weight-initialisation helpers: default inits, activation-aware init, ICNR, truncated normal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

__all__ = [
    "init_default",
    "init_linear",
    "cond_init",
    "apply_init",
    "apply_leaf",
    "init_cnn",
    "icnr_init",
    "trunc_normal_",
    "default_init_for",
    "register_default_init",
    "norm_types",
]

InitFunc = Callable[[torch.Tensor], object]

norm_types = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.InstanceNorm1d,
    nn.InstanceNorm2d,
    nn.InstanceNorm3d,
    nn.LayerNorm,
    nn.GroupNorm,
)

# Activation class -> the weight init that suits the layer before it (kaiming for ReLU-like).
_DEFAULT_INITS: dict[type, InitFunc] = {
    nn.ReLU: nn.init.kaiming_uniform_,
    nn.ReLU6: nn.init.kaiming_uniform_,
    nn.LeakyReLU: nn.init.kaiming_uniform_,
    nn.Mish: nn.init.kaiming_uniform_,
    nn.SiLU: nn.init.kaiming_uniform_,
    nn.Sigmoid: nn.init.xavier_uniform_,
    nn.Tanh: nn.init.xavier_uniform_,
}

# The same for activation functions (fastai's table: ReLU-like -> kaiming, sigmoid/tanh -> xavier).
_FUNCTION_INITS: dict[object, InitFunc] = {
    **dict.fromkeys(
        (torch.relu, torch.relu_, F.relu, F.relu_, F.relu6, F.leaky_relu, F.leaky_relu_, F.mish, F.silu),
        nn.init.kaiming_uniform_,
    ),
    **dict.fromkeys((torch.sigmoid, F.sigmoid, torch.tanh, F.tanh), nn.init.xavier_uniform_),
}


def register_default_init(act_cls: type, init: InitFunc) -> None:
    """Make `init` the weight init `init_linear(..., init='auto')` uses before an `act_cls` activation."""
    _DEFAULT_INITS[act_cls] = init


def default_init_for(act: object) -> InitFunc | None:
    """The weight init registered for activation `act` (instance, class or function), or None."""
    if not isinstance(act, type) and callable(act) and act in _FUNCTION_INITS:
        return _FUNCTION_INITS[act]
    cls = act if isinstance(act, type) else type(act)
    for klass in cls.__mro__:
        if klass in _DEFAULT_INITS:
            return _DEFAULT_INITS[klass]
    return getattr(cls, "__default_init__", None) or getattr(act, "__default_init__", None)


def _set_weight(m: Any, func: InitFunc) -> None:
    """Apply `func` to `m.weight`, going through the parametrization (weight/spectral norm) if any."""
    if parametrize.is_parametrized(m, "weight"):
        new = torch.empty_like(m.weight)
        func(new)
        with torch.no_grad():
            m.weight = new  # assigning calls the parametrization's right_inverse
    else:
        func(m.weight)


def init_default(m: nn.Module, func: InitFunc | None = nn.init.kaiming_normal_) -> nn.Module:
    """Initialise `m.weight` with `func` and zero `m.bias`; return `m`."""
    if func is not None and isinstance(getattr(m, "weight", None), torch.Tensor):
        _set_weight(m, func)
    bias = getattr(m, "bias", None)
    if isinstance(bias, torch.Tensor):
        with torch.no_grad():
            bias.fill_(0.0)
    return m


def init_linear(
    m: nn.Module, act_func: object = None, init: str | InitFunc | None = "auto", bias_std: float | None = 0.01
) -> None:
    """Initialise a linear/conv layer: bias ~ N(0, bias_std) (0 -> zeros), weight by `init`.

    `init='auto'` picks the init registered for `act_func` (kaiming for ReLU-like activations), or
    leaves PyTorch's default when none is registered.
    """
    bias = getattr(m, "bias", None)
    if isinstance(bias, torch.Tensor) and bias_std is not None:
        with torch.no_grad():
            if bias_std != 0:
                bias.normal_(0, bias_std)
            else:
                bias.zero_()
    if init == "auto":
        init = default_init_for(act_func) if act_func is not None else None
    elif isinstance(init, str):
        raise ValueError(f"init_linear: init must be 'auto', None or a function, got {init!r}")
    if init is not None:
        _set_weight(m, init)


def _children(m: nn.Module) -> list[nn.Module]:
    """Child modules, without the internals of a weight/spectral-norm parametrization."""
    return [
        c
        for name, c in m.named_children()
        if not (name == "parametrizations" and parametrize.is_parametrized(m))
    ]


def _requires_grad(m: nn.Module) -> bool:
    ps = list(m.parameters())
    return bool(ps) and ps[0].requires_grad


def cond_init(m: nn.Module, func: InitFunc) -> None:
    """`init_default(m, func)` unless `m` is a normalisation layer or frozen."""
    if not isinstance(m, norm_types) and _requires_grad(m):
        init_default(m, func)


def apply_leaf(m: nn.Module, f: Callable[[nn.Module], object]) -> None:
    """Apply `f` to `m` and every module below it."""
    f(m)
    for child in _children(m):
        apply_leaf(child, f)


def apply_init(m: nn.Module, init_func: InitFunc) -> None:
    """Initialise every layer of `m` with `init_func` (normalisation layers excepted)."""
    apply_leaf(m, lambda layer: cond_init(layer, init_func))


def init_cnn(m: nn.Module) -> None:
    """Kaiming-normal init for every conv/linear weight of `m`, zero every bias."""
    bias = getattr(m, "bias", None)
    if isinstance(bias, torch.Tensor):
        nn.init.constant_(bias, 0)
    if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)):
        _set_weight(m, nn.init.kaiming_normal_)
    for child in _children(m):
        init_cnn(child)


def icnr_init(x: torch.Tensor, scale: int = 2, init: InitFunc = nn.init.kaiming_normal_) -> torch.Tensor:
    """ICNR init of a conv weight `x` that feeds a PixelShuffle(scale): no checkerboard at start.

    Each group of `scale**2` output channels that PixelShuffle merges into one gets the same kernel,
    so the upsampled output starts as a nearest-neighbour upsampling.
    """
    n_out, n_in, *ks = x.shape
    if n_out % (scale**2):
        raise ValueError(f"icnr_init: {n_out} output channels is not a multiple of scale**2={scale**2}")
    n_sub = n_out // (scale**2)
    k = x.new_zeros([n_sub, n_in, *ks])
    init(k)
    return k.repeat_interleave(scale**2, dim=0)


def trunc_normal_(x: torch.Tensor, mean: float = 0.0, std: float = 1.0) -> torch.Tensor:
    """Fill `x` in place with a normal(mean, std) truncated at two standard deviations; return it."""
    with torch.no_grad():
        return x.normal_().fmod_(2).mul_(std).add_(mean)
