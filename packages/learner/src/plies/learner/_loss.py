"""`default_loss_func`: the loss a `Learner` picks when none is given, dispatched on the target's type.

Applications add their own target types with ``@default_loss_func.register``.
"""

from __future__ import annotations

from typing import Any

from plies.layers import BCEWithLogitsLossFlat, CrossEntropyLossFlat, MSELossFlat
from plies.typecore import TensorCategory, TensorMultiCategory, typedispatch
import torch
from torch import Tensor

__all__ = ["default_loss_func"]


@typedispatch
def default_loss_func(y: object) -> Any:
    """Return a loss suited to the target `y` (a sample batch of targets)."""
    raise TypeError(
        f"Learner: cannot choose a default loss for targets of type {type(y).__name__}; "
        "pass loss_func= or register one with @default_loss_func.register"
    )


@typedispatch
def default_loss_func(y: Tensor) -> Any:  # noqa: F811
    """Floating targets: `MSELossFlat`; bool targets: `BCEWithLogitsLossFlat`; integer targets (class indices): `CrossEntropyLossFlat`."""
    if y.is_floating_point():
        return MSELossFlat()
    if y.dtype == torch.bool:
        return BCEWithLogitsLossFlat()
    return CrossEntropyLossFlat()


@typedispatch
def default_loss_func(y: TensorCategory) -> Any:  # noqa: F811
    """Single-label categories: `CrossEntropyLossFlat`."""
    return CrossEntropyLossFlat()


@typedispatch
def default_loss_func(y: TensorMultiCategory) -> Any:  # noqa: F811
    """Multi-label (one-hot) categories: `BCEWithLogitsLossFlat`."""
    return BCEWithLogitsLossFlat()

