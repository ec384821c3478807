"""Layer-wise steppers (LARS/LARC, LAMB): a trust ratio computed per parameter tensor (per layer)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ._cbtools import foreach_of, grad_of, with_defaults
from ._steppers import _adam_denoms, debias


@with_defaults(trust_coeff=0.02, wd=0.0, eps=1e-8)
def larc_layer_lr(
    p: Tensor, lr: float, trust_coeff: float, wd: float, eps: float, clip: bool = True, **kwargs: Any
) -> dict[str, Any]:
    """Compute the layer-wise learning rate of LARS/LARC into state `local_lr`.

    `local_lr = lr * trust_coeff * |p| / (|grad| + wd * |p| + eps)`, capped at `lr` when `clip`.
    """
    p_norm, g_norm = float(p.norm()), float(grad_of(p).norm())
    local_lr = lr * trust_coeff * p_norm / (g_norm + p_norm * wd + eps)
    return {"local_lr": min(lr, local_lr) if clip else local_lr}


def _norms(first: list[Tensor], second: list[Tensor]) -> tuple[Tensor, Tensor]:
    """The L2 norms of two aligned tensor lists, as two float64 CPU vectors.

    One `_foreach_norm` call and one copy to the host (a single wait for the device) for both lists:
    on a GPU these steppers are bound by launches and host waits, not by arithmetic.
    """
    norms = torch.stack(torch._foreach_norm([*first, *second])).cpu().double()
    return norms[: len(first)], norms[len(first) :]


@foreach_of(larc_layer_lr)
def _larc_layer_lr_foreach(
    ps: list[Tensor],
    grads: list[Tensor],
    lr: float,
    trust_coeff: float,
    wd: float,
    eps: float,
    clip: bool = True,
    **kwargs: Any,
) -> dict[str, Any]:
    p_norms, g_norms = _norms(ps, grads)
    local = lr * trust_coeff * p_norms / (g_norms + p_norms * wd + eps)
    if clip:
        local = local.clamp(max=lr)
    return {"local_lr": local.tolist()}


def larc_step(p: Tensor, local_lr: float, grad_avg: Tensor | None = None, **kwargs: Any) -> None:
    """LARS/LARC step with the layer-wise learning rate: `p -= local_lr * (grad_avg or grad)`."""
    p.add_(grad_of(p) if grad_avg is None else grad_avg, alpha=-local_lr)


@foreach_of(larc_step)
def _larc_step_foreach(
    ps: list[Tensor],
    grads: list[Tensor],
    local_lr: list[float],
    grad_avg: list[Tensor] | None = None,
    **kwargs: Any,
) -> None:
    scaled = torch._foreach_mul(grads if grad_avg is None else grad_avg, [-lr for lr in local_lr])
    torch._foreach_add_(ps, scaled)


@with_defaults(eps=1e-6)
def lamb_step(
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
    """LAMB step (You et al. 2019): the Adam update scaled by the layer's trust ratio `||p|| / ||update||`.

    The ratio is capped at 10 and is 1 when either norm is 0.
    """
    debias1 = debias(mom, 1 - mom, step)
    debias2 = debias(sqr_mom, 1 - sqr_mom, step)
    # update = (grad_avg/debias1) / (sqrt(sqr_avg/debias2) + eps), with 1/debias1 folded into the norms
    update = (sqr_avg / debias2).sqrt_().add_(eps)
    torch.div(grad_avg, update, out=update)
    r1, r2 = float(p.norm()), float(update.norm()) / debias1
    q = 1.0 if r1 == 0 or r2 == 0 else min(r1 / r2, 10.0)
    p.add_(update, alpha=-lr * q / debias1)


@foreach_of(lamb_step)
def _lamb_step_foreach(
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
    update = torch._foreach_div(grad_avg, _adam_denoms(sqr_avg, step, sqr_mom, eps))
    debias1 = torch.tensor([debias(mom, 1 - mom, s) for s in step], dtype=torch.float64)
    r1, r2 = _norms(ps, update)
    r2 = r2 / debias1
    q = torch.where((r1 == 0) | (r2 == 0), torch.ones_like(r1), (r1 / r2).clamp(max=10.0))
    torch._foreach_mul_(update, (-lr * q / debias1).tolist())
    torch._foreach_add_(ps, update)
