"""Stats: functions that compute and keep per-parameter state (moving averages, step counts)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ._cbtools import filled, foreach_of, grad_of, with_defaults


def _zeros(t: Tensor) -> Tensor:
    return torch.zeros_like(t, memory_format=torch.preserve_format)


@with_defaults(mom=0.9)
def average_grad(
    p: Tensor, mom: float, dampening: bool = False, grad_avg: Tensor | None = None, **kwargs: Any
) -> dict[str, Any]:
    """Keep a moving average of the gradients in state `grad_avg`.

    `grad_avg = mom * grad_avg + (1 - mom if dampening else 1) * grad`.
    """
    if grad_avg is None:
        grad_avg = _zeros(grad_of(p))
    if dampening:
        grad_avg.lerp_(grad_of(p), 1 - mom)
    else:
        grad_avg.mul_(mom).add_(grad_of(p))
    return {"grad_avg": grad_avg}


@foreach_of(average_grad)
def _average_grad_foreach(
    ps: list[Tensor],
    grads: list[Tensor],
    mom: float,
    dampening: bool = False,
    grad_avg: list[Tensor | None] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    avgs = filled(grad_avg, grads, _zeros)
    if dampening:
        torch._foreach_lerp_(avgs, grads, 1 - mom)
    else:
        torch._foreach_mul_(avgs, mom)
        torch._foreach_add_(avgs, grads)
    return {"grad_avg": avgs}


@with_defaults(sqr_mom=0.99)
def average_sqr_grad(
    p: Tensor, sqr_mom: float, dampening: bool = True, sqr_avg: Tensor | None = None, **kwargs: Any
) -> dict[str, Any]:
    """Keep a moving average of the squared gradients in state `sqr_avg`.

    `sqr_avg = sqr_mom * sqr_avg + (1 - sqr_mom if dampening else 1) * grad**2`.
    """
    if sqr_avg is None:
        sqr_avg = _zeros(grad_of(p))
    sqr_avg.mul_(sqr_mom).addcmul_(grad_of(p), grad_of(p), value=1 - sqr_mom if dampening else 1.0)
    return {"sqr_avg": sqr_avg}


@foreach_of(average_sqr_grad)
def _average_sqr_grad_foreach(
    ps: list[Tensor],
    grads: list[Tensor],
    sqr_mom: float,
    dampening: bool = True,
    sqr_avg: list[Tensor | None] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    avgs = filled(sqr_avg, grads, _zeros)
    torch._foreach_mul_(avgs, sqr_mom)
    torch._foreach_addcmul_(avgs, grads, grads, value=1 - sqr_mom if dampening else 1.0)
    return {"sqr_avg": avgs}


def step_stat(p: Tensor, step: int = 0, **kwargs: Any) -> dict[str, Any]:
    """Count the steps taken by each parameter in state `step` (used for debiasing)."""
    return {"step": step + 1}


@foreach_of(step_stat)
def _step_stat_foreach(
    ps: list[Tensor], grads: list[Tensor], step: list[int | None] | None = None, **kwargs: Any
) -> dict[str, Any]:
    if step is None:
        return {"step": [1] * len(ps)}
    return {"step": [(s or 0) + 1 for s in step]}
