"""Small helpers shared by stats and steppers: default hyper-parameters and vectorised (foreach) twins.

A stat or stepper is a plain function `cb(p, **hypers_and_state) -> dict | None` run once per parameter.
It may carry:
- `cb.defaults`: the hyper-parameters it needs with their default values;
- `cb.foreach`: a twin `fe(ps, grads, **hypers_and_state_lists) -> dict[str, list] | None` doing the
  same work for all the parameters of a group at once (state values arrive as lists aligned with `ps`,
  `None` where a parameter has no such state yet). The Optimizer uses the twin when it exists.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from torch import Tensor

Callback = Callable[..., Any]


def with_defaults(**defaults: Any) -> Callable[[Callback], Callback]:
    """Decorator: attach the hyper-parameters `defaults` a stat or stepper needs."""

    def attach(cb: Callback) -> Callback:
        cb.defaults = dict(defaults)  # type: ignore[attr-defined]
        return cb

    return attach


def foreach_of(per_param: Callback) -> Callable[[Callback], Callback]:
    """Decorator: register the decorated function as the vectorised twin of `per_param`."""

    def attach(fe: Callback) -> Callback:
        per_param.foreach = fe  # type: ignore[attr-defined]
        return fe

    return attach


def grad_of(p: Tensor) -> Tensor:
    """The gradient of `p` (the Optimizer calls stats and steppers only on parameters that have one)."""
    grad = p.grad
    if grad is None:
        raise ValueError(
            f"a stat or stepper was called on a parameter without a gradient (shape {tuple(p.shape)})"
        )
    return grad


def defaults_of(cb: Callback) -> dict[str, Any]:
    """The default hyper-parameters of `cb` (looking through functools.partial)."""
    if isinstance(cb, functools.partial):
        found = dict(getattr(cb.func, "defaults", {}))
        return {k: v for k, v in found.items() if k not in cb.keywords}
    return dict(getattr(cb, "defaults", {}))


def foreach_twin(cb: Callback) -> Callback | None:
    """The vectorised twin of `cb`, or None (a partial keeps its keywords; positional partials have none)."""
    if isinstance(cb, functools.partial):
        fe = getattr(cb.func, "foreach", None)
        if fe is None or cb.args:
            return None
        return functools.partial(fe, **cb.keywords)
    return getattr(cb, "foreach", None)


def filled(values: list[Any] | None, like: list[Tensor], make: Callable[[Tensor], Any]) -> list[Any]:
    """`values` with each missing entry (or all, when `values` is None) replaced by `make(like[i])`."""
    if values is None:
        return [make(t) for t in like]
    return [make(t) if v is None else v for v, t in zip(values, like, strict=True)]


def with_wd(ps: list[Tensor], do_wd: list[Any] | None) -> list[int]:
    """Indices of the parameters that take weight decay (state flag `do_wd` not set to False)."""
    if do_wd is None:
        return list(range(len(ps)))
    return [i for i, flag in enumerate(do_wd) if flag is not False]
