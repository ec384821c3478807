"""`default_loss_func`: the loss a `Learner` picks when none is given, dispatched on the target's type.

Applications add their own target types with ``@default_loss_func.register``.
"""

from __future__ import annotations

from typing import Any

import torch
from plies.layers import BCEWithLogitsLossFlat, CrossEntropyLossFlat, MSELossFlat
from plies.typecore import TensorCategory, TensorMask, TensorMultiCategory, typedispatch
from torch import Tensor

__all__ = ["default_loss_func"]


@typedispatch
def default_loss_func(y: object) -> Any:
    """Return a loss suited to the target `y` (a sample batch of targets)."""
    raise TypeError(
        f"Learner: cannot choose a default loss for targets of type {type(y).__name__}; "
        "pass loss_func= or register one with @default_loss_func.register"
    )


@default_loss_func.register
def _tensor_loss(y: Tensor) -> Any:
    """Float targets: MSELossFlat; bool: BCEWithLogitsLossFlat; integer (classes): CrossEntropyLossFlat."""
    if y.is_floating_point():
        return MSELossFlat()
    if y.dtype == torch.bool:
        return BCEWithLogitsLossFlat()
    return CrossEntropyLossFlat()


@default_loss_func.register
def _category_loss(y: TensorCategory) -> Any:
    """Single-label categories: `CrossEntropyLossFlat`."""
    return CrossEntropyLossFlat()


@default_loss_func.register
def _multi_category_loss(y: TensorMultiCategory) -> Any:
    """Multi-label (one-hot) categories: `BCEWithLogitsLossFlat`."""
    return BCEWithLogitsLossFlat()


@default_loss_func.register
def _mask_loss(y: TensorMask) -> Any:
    """Segmentation masks (class codes per pixel): `CrossEntropyLossFlat(axis=1)`, classes on the channels."""
    return CrossEntropyLossFlat(axis=1)
