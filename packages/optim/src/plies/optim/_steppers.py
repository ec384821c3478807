"""Steppers: functions that combine stats and hyper-parameters to update the weights."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ._cbtools import foreach_of, grad_of, with_defaults, with_wd


def debias(mom: float, damp: float, step: int) -> float:
    """The bias correction of a moving average started at zero: `damp * (1 - mom**step) / (1 - mom)`."""
    return damp * (1 - mom**step) / (1 - mom)


@with_defaults(wd=0.0)
def weight_decay(p: Tensor, lr: float, wd: float, do_wd: bool = True, **kwargs: Any) -> None:
    """Decoupled weight decay (AdamW): `p *= 1 - lr * wd` (skipped where state `do_wd` is False)."""
    if do_wd and wd != 0:
        p.mul_(1 - lr * wd)


@foreach_of(weight_decay)
def _weight_decay_foreach(
    ps: list[Tensor],
    grads: list[Tensor],
    lr: float,
    wd: float,
    do_wd: list[Any] | None = None,
    **kwargs: Any,
) -> None:
    keep = with_wd(ps, do_wd) if wd != 0 else []
    if keep:  # torch's foreach ops refuse empty lists (e.g. a frozen group where only BatchNorm trains)
        torch._foreach_mul_([ps[i] for i in keep], 1 - lr * wd)


@with_defaults(wd=0.0)
def l2_reg(p: Tensor, lr: float, wd: float, do_wd: bool = True, **kwargs: Any) -> None:
    """L2 regularisation added to the gradient: `grad += wd * p` (skipped where state `do_wd` is False)."""
    if do_wd and wd != 0:
        grad_of(p).add_(p, alpha=wd)


@foreach_of(l2_reg)
def _l2_reg_foreach(
    ps: list[Tensor], grads: list[Tensor], lr: float, wd: float, do_wd: list[Any] | None = None, **kwargs: Any
) -> None:
    keep = with_wd(ps, do_wd) if wd != 0 else []
    if keep:  # torch's foreach ops refuse empty lists
        torch._foreach_add_([grads[i] for i in keep], [ps[i] for i in keep], alpha=wd)


def sgd_step(p: Tensor, lr: float, **kwargs: Any) -> None:
    """Plain SGD step: `p -= lr * grad`."""
    p.add_(grad_of(p), alpha=-lr)


@foreach_of(sgd_step)
def _sgd_step_foreach(ps: list[Tensor], grads: list[Tensor], lr: float, **kwargs: Any) -> None:
    torch._foreach_add_(ps, grads, alpha=-lr)


def momentum_step(p: Tensor, lr: float, grad_avg: Tensor, **kwargs: Any) -> None:
    """SGD step with momentum: `p -= lr * grad_avg` (needs the stat `average_grad`)."""
    p.add_(grad_avg, alpha=-lr)


@foreach_of(momentum_step)
def _momentum_step_foreach(
    ps: list[Tensor], grads: list[Tensor], lr: float, grad_avg: list[Tensor], **kwargs: Any
) -> None:
    torch._foreach_add_(ps, grad_avg, alpha=-lr)


@with_defaults(eps=1e-8)
def rms_prop_step(
    p: Tensor, sqr_avg: Tensor, lr: float, eps: float, grad_avg: Tensor | None = None, **kwargs: Any
) -> None:
    """RMSProp step: `p -= lr * (grad_avg or grad) / (sqrt(sqr_avg) + eps)`."""
    denom = sqr_avg.sqrt().add_(eps)
    p.addcdiv_(grad_of(p) if grad_avg is None else grad_avg, denom, value=-lr)


@foreach_of(rms_prop_step)
def _rms_prop_step_foreach(
    ps: list[Tensor],
    grads: list[Tensor],
    sqr_avg: list[Tensor],
    lr: float,
    eps: float,
    grad_avg: list[Tensor] | None = None,
    **kwargs: Any,
) -> None:
    denom = torch._foreach_sqrt(sqr_avg)
    torch._foreach_add_(denom, eps)
    torch._foreach_addcdiv_(ps, grads if grad_avg is None else grad_avg, denom, value=-lr)


@with_defaults(eps=1e-5)
def adam_step(
    p: Tensor,
    lr: float,
    mom: float,
    step: int,
    sqr_mom: float,
    grad_avg: Tensor,
    sqr_avg: Tensor,
    eps: float,
    **kwargs: Any,
) -> None:
    """Adam step with bias correction: `p -= lr/debias1 * grad_avg / (sqrt(sqr_avg/debias2) + eps)`."""
    debias1 = debias(mom, 1 - mom, step)
    debias2 = debias(sqr_mom, 1 - sqr_mom, step)
    p.addcdiv_(grad_avg, (sqr_avg / debias2).sqrt_().add_(eps), value=-lr / debias1)


@foreach_of(adam_step)
def _adam_step_foreach(
    ps: list[Tensor],
    grads: list[Tensor],
    lr: float,
    mom: float,
    step: list[int],
    sqr_mom: float,
    grad_avg: list[Tensor],
    sqr_avg: list[Tensor],
    eps: float,
    **kwargs: Any,
) -> None:
    denom = _adam_denoms(sqr_avg, step, sqr_mom, eps)
    torch._foreach_addcdiv_(ps, grad_avg, denom, [-lr / debias(mom, 1 - mom, s) for s in step])


def _adam_denoms(sqr_avg: list[Tensor], step: list[int], sqr_mom: float, eps: float) -> list[Tensor]:
    """Adam's denominators `sqrt(sqr_avg / debias2) + eps` for a group (new tensors, foreach ops)."""
    denom = list(torch._foreach_div(sqr_avg, [debias(sqr_mom, 1 - sqr_mom, s) for s in step]))
    torch._foreach_sqrt_(denom)
    torch._foreach_add_(denom, eps)
    return denom


def _radam_rect(sqr_mom: float, step: int) -> float | None:
    """RAdam's variance rectification for `step`, or None while the variance is intractable (r <= 5)."""
    r_inf = 2 / (1 - sqr_mom) - 1
    r = r_inf - 2 * step * sqr_mom**step / (1 - sqr_mom**step)
    if r <= 5:
        return None
    return math.sqrt(((r - 4) * (r - 2) * r_inf) / ((r_inf - 4) * (r_inf - 2) * r))


@with_defaults(eps=1e-5, beta=0.0)
def radam_step(
    p: Tensor,
    lr: float,
    mom: float,
    step: int,
    sqr_mom: float,
    grad_avg: Tensor,
    sqr_avg: Tensor,
    eps: float,
    beta: float,
    **kwargs: Any,
) -> None:
    """RAdam step: Adam with the variance rectified, plain momentum SGD while it is intractable.

    `beta` > 0 smooths the denominator with softplus(denom, beta) (the fastai variant).
    """
    debias1 = debias(mom, 1 - mom, step)
    rect = _radam_rect(sqr_mom, step)
    if rect is None:
        p.add_(grad_avg, alpha=-lr / debias1)
        return
    denom = (sqr_avg / debias(sqr_mom, 1 - sqr_mom, step)).sqrt_()
    if eps:
        denom.add_(eps)
    if beta:
        denom = F.softplus(denom, beta)
    p.addcdiv_(grad_avg, denom, value=-lr * rect / debias1)


@foreach_of(radam_step)
def _radam_step_foreach(
    ps: list[Tensor],
    grads: list[Tensor],
    lr: float,
    mom: float,
    step: list[int],
    sqr_mom: float,
    grad_avg: list[Tensor],
    sqr_avg: list[Tensor],
    eps: float,
    beta: float,
    **kwargs: Any,
) -> None:
    rects = [_radam_rect(sqr_mom, s) for s in step]
    plain = [i for i, r in enumerate(rects) if r is None]
    rectified = [i for i, r in enumerate(rects) if r is not None]
    if plain:
        scaled = torch._foreach_mul(
            [grad_avg[i] for i in plain], [-lr / debias(mom, 1 - mom, step[i]) for i in plain]
        )
        torch._foreach_add_([ps[i] for i in plain], scaled)
    if rectified:
        denom = list(
            torch._foreach_div(
                [sqr_avg[i] for i in rectified], [debias(sqr_mom, 1 - sqr_mom, step[i]) for i in rectified]
            )
        )
        torch._foreach_sqrt_(denom)
        if eps:
            torch._foreach_add_(denom, eps)
        if beta:
            denom = [F.softplus(d, beta) for d in denom]
        scalars = [-lr * rects[i] / debias(mom, 1 - mom, step[i]) for i in rectified]  # type: ignore[operator]
        torch._foreach_addcdiv_([ps[i] for i in rectified], [grad_avg[i] for i in rectified], denom, scalars)


@with_defaults(nu_1=0.7, nu_2=1.0, eps=1e-8)
def qhadam_step(
    p: Tensor,
    lr: float,
    mom: float,
    sqr_mom: float,
    sqr_avg: Tensor,
    nu_1: float,
    nu_2: float,
    step: int,
    grad_avg: Tensor,
    eps: float,
    **kwargs: Any,
) -> None:
    """QHAdam step (Ma & Yarats 2019): quasi-hyperbolic mix of the gradient and its moving averages.

    `p -= lr * ((1-nu_1) g + nu_1 m/debias1) / (sqrt((1-nu_2) g**2 + nu_2 v/debias2) + eps)`.
    """
    debias1 = debias(mom, 1 - mom, step)
    debias2 = debias(sqr_mom, 1 - sqr_mom, step)
    num = (grad_avg * (nu_1 / debias1)).add_(grad_of(p), alpha=1 - nu_1)
    denom = (sqr_avg * (nu_2 / debias2)).addcmul_(grad_of(p), grad_of(p), value=1 - nu_2).sqrt_().add_(eps)
    p.addcdiv_(num, denom, value=-lr)


@foreach_of(qhadam_step)
def _qhadam_step_foreach(
    ps: list[Tensor],
    grads: list[Tensor],
    lr: float,
    mom: float,
    sqr_mom: float,
    sqr_avg: list[Tensor],
    nu_1: float,
    nu_2: float,
    step: list[int],
    grad_avg: list[Tensor],
    eps: float,
    **kwargs: Any,
) -> None:
    num = torch._foreach_mul(grad_avg, [nu_1 / debias(mom, 1 - mom, s) for s in step])
    torch._foreach_add_(num, grads, alpha=1 - nu_1)
    denom = torch._foreach_mul(sqr_avg, [nu_2 / debias(sqr_mom, 1 - sqr_mom, s) for s in step])
    torch._foreach_addcmul_(denom, grads, grads, value=1 - nu_2)
    torch._foreach_sqrt_(denom)
    torch._foreach_add_(denom, eps)
    torch._foreach_addcdiv_(ps, num, denom, value=-lr)
