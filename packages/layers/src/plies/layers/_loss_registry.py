"""The registry of loss functions and loss classes an export may name (a learner's `loss_func`).

A registered loss is saved by name: a function as itself, a class (or a factory function such
as `BCELossFlat`) with the constructor arguments read back from the loss's attributes. plies'
losses register themselves; so do the usual torch.nn losses and torch.nn.functional functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

import torch.nn.functional as F
from plies.typecore import NamedRegistry
from torch import nn

__all__ = ["register_loss"]

T = TypeVar("T")

LOSSES = NamedRegistry("loss", "decorate the loss function or class with @plies.layers.register_loss")


@overload
def register_loss(obj: T, *, name: str | None = None) -> T: ...
@overload
def register_loss(obj: None = None, *, name: str | None = None) -> Callable[[T], T]: ...
def register_loss(obj: Any = None, *, name: str | None = None) -> Any:
    """Register a loss function, loss class or loss factory so exports can save it by name (a decorator).

    `@register_loss` or `@register_loss(name="my.loss")` (default: the public `module.qualname`).
    A class or factory is rebuilt with the constructor arguments read from the loss's attributes
    of the same names; export checks that the rebuilt loss equals the original.
    """
    if obj is None:
        return lambda o: register_loss(o, name=name)
    if not callable(obj) or getattr(obj, "__name__", "<lambda>") == "<lambda>":
        raise TypeError(
            f"register_loss: expected a function or class defined with a name, found {type(obj).__name__}"
        )
    LOSSES.register(obj, name)
    return obj


def _register_torch() -> None:
    for cls in (
        nn.CrossEntropyLoss, nn.NLLLoss, nn.MSELoss, nn.L1Loss, nn.BCELoss, nn.BCEWithLogitsLoss,
        nn.SmoothL1Loss, nn.HuberLoss, nn.KLDivLoss, nn.PoissonNLLLoss,
    ):  # fmt: skip
        LOSSES.register(cls, f"torch.nn.{cls.__name__}", module="plies.layers")
    for f in (
        F.cross_entropy, F.nll_loss, F.mse_loss, F.l1_loss, F.binary_cross_entropy,
        F.binary_cross_entropy_with_logits, F.smooth_l1_loss, F.huber_loss,
    ):  # fmt: skip
        LOSSES.register(f, f"torch.nn.functional.{f.__name__}", module="plies.layers")


_register_torch()
