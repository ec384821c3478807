"""The optimizers built from stats and steppers: SGD, RMSProp, Adam(W), RAdam, QHAdam, Larc, Lamb."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from ._layerwise import lamb_step, larc_layer_lr, larc_step
from ._optimizer import Optimizer
from ._stats import average_grad, average_sqr_grad, step_stat
from ._steppers import (
    adam_step,
    l2_reg,
    momentum_step,
    qhadam_step,
    radam_step,
    rms_prop_step,
    sgd_step,
    weight_decay,
)

_damped_avg_grad = functools.partial(average_grad, dampening=True)


def _wd(decouple_wd: bool) -> list[Callable[..., Any]]:
    return [weight_decay] if decouple_wd else [l2_reg]


def SGD(
    params: Iterable[Any],
    lr: Any,
    mom: Any = 0.0,
    wd: Any = 0.0,
    decouple_wd: bool = True,
    *,
    foreach: bool | None = None,
    fused: bool | None = None,
) -> Optimizer:
    """SGD with optional momentum and weight decay (decoupled, or L2 when `decouple_wd=False`).

    `fused` (None: where the tensors allow it) steps with torch's fused SGD kernel; see `Optimizer`.
    """
    cbs = _wd(decouple_wd)
    cbs += [average_grad, momentum_step] if mom != 0 else [sgd_step]
    return Optimizer(params, cbs, lr=lr, mom=mom, wd=wd, foreach=foreach, fused=fused)


def RMSProp(
    params: Iterable[Any],
    lr: Any,
    sqr_mom: Any = 0.99,
    mom: Any = 0.0,
    wd: Any = 0.0,
    decouple_wd: bool = True,
    eps: Any = 1e-8,
    *,
    foreach: bool | None = None,
) -> Optimizer:
    """RMSProp: divide the (momentum) gradient by the root of a moving average of its square."""
    cbs = _wd(decouple_wd)
    cbs += [average_sqr_grad] if mom == 0 else [average_grad, average_sqr_grad]
    cbs.append(rms_prop_step)
    return Optimizer(params, cbs, lr=lr, mom=mom, sqr_mom=sqr_mom, wd=wd, eps=eps, foreach=foreach)


def Adam(
    params: Iterable[Any],
    lr: Any,
    mom: Any = 0.9,
    sqr_mom: Any = 0.99,
    eps: Any = 1e-5,
    wd: Any = 0.01,
    decouple_wd: bool = True,
    *,
    foreach: bool | None = None,
    fused: bool | None = None,
) -> Optimizer:
    """Adam; with the default `decouple_wd=True` it is AdamW (weight decay applied to the weights).

    `fused` (None: where the tensors allow it) steps with torch's fused Adam(W) kernel; see `Optimizer`.
    """
    cbs = _wd(decouple_wd) + [_damped_avg_grad, average_sqr_grad, step_stat, adam_step]
    return Optimizer(
        params, cbs, lr=lr, mom=mom, sqr_mom=sqr_mom, eps=eps, wd=wd, foreach=foreach, fused=fused
    )


def RAdam(
    params: Iterable[Any],
    lr: Any,
    mom: Any = 0.9,
    sqr_mom: Any = 0.99,
    eps: Any = 1e-5,
    wd: Any = 0.0,
    beta: Any = 0.0,
    decouple_wd: bool = True,
    *,
    foreach: bool | None = None,
) -> Optimizer:
    """RAdam (Liu et al. 2019): Adam with a rectified adaptive learning rate during warm-up."""
    cbs = _wd(decouple_wd) + [_damped_avg_grad, average_sqr_grad, step_stat, radam_step]
    return Optimizer(params, cbs, lr=lr, mom=mom, sqr_mom=sqr_mom, eps=eps, wd=wd, beta=beta, foreach=foreach)


def QHAdam(
    params: Iterable[Any],
    lr: Any,
    mom: Any = 0.999,
    sqr_mom: Any = 0.999,
    nu_1: Any = 0.7,
    nu_2: Any = 1.0,
    eps: Any = 1e-8,
    wd: Any = 0.0,
    decouple_wd: bool = True,
    *,
    foreach: bool | None = None,
) -> Optimizer:
    """QHAdam (Ma & Yarats 2019): quasi-hyperbolic Adam."""
    cbs = _wd(decouple_wd) + [
        _damped_avg_grad,
        functools.partial(average_sqr_grad, dampening=True),
        step_stat,
        qhadam_step,
    ]
    return Optimizer(
        params, cbs, lr=lr, mom=mom, sqr_mom=sqr_mom, nu_1=nu_1, nu_2=nu_2, eps=eps, wd=wd, foreach=foreach
    )


def Larc(
    params: Iterable[Any],
    lr: Any,
    mom: Any = 0.9,
    clip: bool = True,
    trust_coeff: Any = 0.02,
    eps: Any = 1e-8,
    wd: Any = 0.0,
    decouple_wd: bool = True,
    *,
    foreach: bool | None = None,
) -> Optimizer:
    """LARS (`clip=False`) / LARC (`clip=True`): SGD with a layer-wise learning rate from a trust ratio."""
    cbs = _wd(decouple_wd)
    if mom != 0:
        cbs.append(average_grad)
    cbs += [functools.partial(larc_layer_lr, clip=clip), larc_step]
    return Optimizer(params, cbs, lr=lr, mom=mom, trust_coeff=trust_coeff, eps=eps, wd=wd, foreach=foreach)


def Lamb(
    params: Iterable[Any],
    lr: Any,
    mom: Any = 0.9,
    sqr_mom: Any = 0.99,
    eps: Any = 1e-5,
    wd: Any = 0.0,
    decouple_wd: bool = True,
    *,
    foreach: bool | None = None,
) -> Optimizer:
    """LAMB (You et al. 2019): Adam whose update is scaled per layer by a trust ratio."""
    cbs = _wd(decouple_wd) + [_damped_avg_grad, average_sqr_grad, step_stat, lamb_step]
    return Optimizer(params, cbs, lr=lr, mom=mom, sqr_mom=sqr_mom, eps=eps, wd=wd, foreach=foreach)
