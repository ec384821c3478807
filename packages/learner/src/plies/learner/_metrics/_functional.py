"""Metrics as functions ``f(pred, targ) -> Tensor``, averaged over samples by `AvgMetric`.

A plain function passed in ``Learner(metrics=...)`` is wrapped by the learner in an `AvgMetric`,
which averages it over *samples* (each batch weighted by its size).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .._registries import register_metric

__all__ = [
    "flatten_check",
    "accuracy",
    "error_rate",
    "top_k_accuracy",
    "accuracy_multi",
    "foreground_acc",
    "mse",
    "mae",
    "msle",
]


def flatten_check(inp: Tensor, targ: Tensor) -> tuple[Tensor, Tensor]:
    """Flatten `inp` and `targ` to 1-D and check they have the same number of elements."""
    inp, targ = inp.contiguous().view(-1), targ.contiguous().view(-1)
    if len(inp) != len(targ):
        raise ValueError(
            f"flatten_check: predictions and targets differ in size once flattened: "
            f"{len(inp)} predictions vs {len(targ)} targets"
        )
    return inp, targ


@register_metric
def accuracy(inp: Tensor, targ: Tensor, axis: int = -1) -> Tensor:
    """Fraction of samples whose arg-max prediction along `axis` equals the target."""
    pred, targ = flatten_check(inp.argmax(dim=axis), targ)
    return (pred == targ).float().mean()


@register_metric
def error_rate(inp: Tensor, targ: Tensor, axis: int = -1) -> Tensor:
    """1 - `accuracy`."""
    return 1 - accuracy(inp, targ, axis=axis)


@register_metric
def top_k_accuracy(inp: Tensor, targ: Tensor, k: int = 5, axis: int = -1) -> Tensor:
    """Fraction of samples whose target is among the `k` highest predictions."""
    top = inp.topk(k=k, dim=axis)[1]
    targ = targ.unsqueeze(dim=axis).expand_as(top)
    return (top == targ).sum(dim=-1).float().mean()


@register_metric
def accuracy_multi(inp: Tensor, targ: Tensor, thresh: float = 0.5, sigmoid: bool = True) -> Tensor:
    """Multi-label accuracy: fraction of (sample, label) pairs where ``pred > thresh`` equals the target."""
    inp, targ = flatten_check(inp, targ)
    if sigmoid:
        inp = inp.sigmoid()
    return ((inp > thresh) == targ.bool()).float().mean()


@register_metric
def foreground_acc(inp: Tensor, targ: Tensor, bkg_idx: int = 0, axis: int = 1) -> Tensor:
    """Segmentation accuracy over the pixels whose target is not the background class `bkg_idx`."""
    targ = targ.squeeze(1) if targ.dim() == inp.dim() else targ
    mask = targ != bkg_idx
    return (inp.argmax(dim=axis)[mask] == targ[mask]).float().mean()


@register_metric
def acc_segment(inp: Tensor, targ: Tensor, void_code: int | None = None, axis: int = 1) -> Tensor:
    """Segmentation pixel accuracy (the paper's CamVid metric), leaving out pixels whose target is
    `void_code` when given."""
    targ = targ.squeeze(1) if targ.dim() == inp.dim() else targ
    right = inp.argmax(dim=axis) == targ
    if void_code is None:
        return right.float().mean()
    keep = targ != void_code
    return right[keep].float().mean()


@register_metric
def mse(inp: Tensor, targ: Tensor) -> Tensor:
    """Mean squared error."""
    inp, targ = flatten_check(inp, targ)
    return F.mse_loss(inp.float(), targ.float())


@register_metric
def mae(inp: Tensor, targ: Tensor) -> Tensor:
    """Mean absolute error."""
    inp, targ = flatten_check(inp, targ)
    return torch.abs(inp.float() - targ.float()).mean()


@register_metric
def msle(inp: Tensor, targ: Tensor) -> Tensor:
    """Mean squared logarithmic error: MSE of ``log(1 + x)``."""
    inp, targ = flatten_check(inp, targ)
    return F.mse_loss(torch.log1p(inp.float()), torch.log1p(targ.float()))
