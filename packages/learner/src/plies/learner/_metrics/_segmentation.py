"""Segmentation metrics: `Dice`, `JaccardCoeff` (binary) and `DiceMulti` (multi-class), counted per pixel."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._registries import register_metric
from ._functional import flatten_check
from ._metric import Metric, _learn_y

__all__ = [
    "Dice",
    "JaccardCoeff",
    "DiceMulti",
]


@register_metric
class Dice(Metric):
    """Dice coefficient ``2·|A∩B| / (|A|+|B|)`` of a binary segmentation (the paper's example)."""

    def __init__(self, axis: int = 1) -> None:
        self.axis = axis
        self.reset()

    def reset(self) -> None:
        """Zero the intersection and union counts."""
        self.inter, self.union = 0.0, 0.0

    def accumulate(self, learn: Any) -> None:
        """Add the batch's intersection and union counts."""
        pred, targ = flatten_check(learn.pred.argmax(dim=self.axis), _learn_y(learn))
        self.inter += (pred * targ).float().sum().item()
        self.union += (pred + targ).float().sum().item()

    @property
    def value(self) -> float | None:
        """The Dice coefficient, None when there is no positive pixel at all."""
        return 2.0 * self.inter / self.union if self.union > 0 else None


@register_metric
class JaccardCoeff(Dice):
    """Jaccard coefficient (IoU) ``|A∩B| / |A∪B|`` of a binary segmentation."""

    @property
    def value(self) -> float | None:
        """The Jaccard coefficient, None when there is no positive pixel at all."""
        return self.inter / (self.union - self.inter) if self.union > 0 else None


@register_metric
class DiceMulti(Metric):
    """Dice coefficient averaged over the classes present (multi-class segmentation)."""

    def __init__(self, axis: int = 1) -> None:
        self.axis = axis
        self.reset()

    def reset(self) -> None:
        """Forget the per-class counts."""
        self.inter: dict[int, float] = {}
        self.union: dict[int, float] = {}

    def accumulate(self, learn: Any) -> None:
        """Add the batch's per-class intersection and union counts."""
        pred, targ = flatten_check(learn.pred.argmax(dim=self.axis), _learn_y(learn))
        for c in range(learn.pred.shape[self.axis]):
            p, t = pred == c, targ == c
            self.inter[c] = self.inter.get(c, 0.0) + (p & t).float().sum().item()
            self.union[c] = self.union.get(c, 0.0) + (p.float().sum() + t.float().sum()).item()

    @property
    def value(self) -> float | None:
        """Mean over classes with a non-empty union of ``2·inter/union``."""
        scores = [2.0 * self.inter[c] / u for c, u in self.union.items() if u > 0]
        return float(np.mean(scores)) if scores else None
