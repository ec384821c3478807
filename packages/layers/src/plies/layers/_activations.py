"""Activations: Mish (native and a memory-lean autograd version), Swish, sigmoid_range."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._module import Module

__all__ = [
    "mish",
    "Mish",
    "MishJit",
    "MishJitAutoFn",
    "swish",
    "Swish",
    "sigmoid",
    "sigmoid_",
    "vleaky_relu",
    "sigmoid_range",
    "SigmoidRange",
]


def mish(x: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """Mish activation `x * tanh(softplus(x))` (PyTorch's fused kernel)."""
    return F.mish(x, inplace=inplace)


# The fast path is PyTorch's fused kernel; the alias (not a subclass) keeps `act_cls=Mish` plain data
# for build specs (recorded as torch.nn.Mish).
Mish = nn.Mish


class MishJitAutoFn(torch.autograd.Function):
    """Mish as an autograd Function: saves only `x` and computes the gradient by hand in backward.

    Lean on memory (one saved tensor); not faster than `Mish` (see tools/bench/layers.py).
    """

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return F.mish(x)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad_output: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors  # type: ignore[attr-defined]
        tanh_sp = F.softplus(x).tanh()
        return grad_output * (tanh_sp + x * torch.sigmoid(x) * (1 - tanh_sp * tanh_sp))


class MishJit(Module):
    """Mish through `MishJitAutoFn` (hand-written gradient; fastai's name, kept for migration)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return MishJitAutoFn.apply(x)


def swish(x: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """Swish (SiLU) activation `x * sigmoid(x)`."""
    return F.silu(x, inplace=inplace)


Swish = nn.SiLU


def sigmoid(input: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """`torch.sigmoid`, clamped to (`eps`, 1 - `eps`) so that a log of it stays finite."""
    return input.sigmoid().clamp(eps, 1 - eps)


def sigmoid_(input: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """In-place `sigmoid` (clamped to (`eps`, 1 - `eps`)); returns `input`."""
    return input.sigmoid_().clamp_(eps, 1 - eps)


def vleaky_relu(input: torch.Tensor, inplace: bool = True) -> torch.Tensor:
    """`F.leaky_relu` with a 0.3 negative slope ("very leaky"); in place by default."""
    return F.leaky_relu(input, negative_slope=0.3, inplace=inplace)


for _f, _init in (
    (sigmoid, nn.init.xavier_uniform_),
    (sigmoid_, nn.init.xavier_uniform_),
    (mish, nn.init.kaiming_uniform_),
    (swish, nn.init.kaiming_uniform_),
    (vleaky_relu, nn.init.kaiming_uniform_),
):
    _f.__default_init__ = _init  # type: ignore[union-attr]  # read by default_init_for
del _f, _init


def sigmoid_range(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Sigmoid of `x` scaled to the open interval (`low`, `high`)."""
    return torch.sigmoid(x) * (high - low) + low


class SigmoidRange(Module):
    """Layer that squashes its input to (`low`, `high`) with a scaled sigmoid."""

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sigmoid_range(x, self.low, self.high)

    def extra_repr(self) -> str:
        return f"low={self.low}, high={self.high}"
