"""Metrics read from the loss: `Perplexity` (exp of the mean loss) and `LossMetric` (a loss component)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .._registries import register_metric
from ._metric import AvgLoss, AvgMetric, _detach

__all__ = [
    "Perplexity",
    "perplexity",
    "LossMetric",
    "LossMetrics",
]


@register_metric
class Perplexity(AvgLoss):
    """Perplexity: ``exp`` of the average validation loss (language models)."""

    @property
    def value(self) -> Any:
        """exp(mean loss), None before any batch."""
        if self.count == 0:
            return None
        return float(torch.exp(torch.as_tensor(self.total / self.count)))

    @property
    def name(self) -> str:
        """Always ``'perplexity'``."""
        return "perplexity"


perplexity = register_metric(Perplexity(), name="plies.learner.perplexity")
"""A ready-made `Perplexity` instance (fastai's ``perplexity``)."""


class LossMetric(AvgMetric):
    """Sample-weighted average of ``learn.loss_func.<attr>`` (a loss component such as ``gen_loss``)."""

    def __init__(self, attr: str, nm: str | None = None) -> None:
        super().__init__(lambda *args: None)
        self.attr, self.nm = attr, nm

    def accumulate(self, learn: Any) -> None:
        """Add the loss function's current `attr` times the batch size (skipped while it is None)."""
        value = getattr(learn.loss_func, self.attr, None)
        if value is None:
            return
        bs = len(learn.yb[0]) if learn.yb and isinstance(learn.yb[0], Tensor) and learn.yb[0].dim() > 0 else 1
        value = _detach(learn, value)
        self.total = self.total + (value.float() if isinstance(value, Tensor) else value) * bs
        self.count += bs

    @property
    def name(self) -> str:
        """`nm` if given, else `attr`."""
        return self.attr if self.nm is None else self.nm


def LossMetrics(attrs: str | list[str], nms: str | list[str] | None = None) -> list[LossMetric]:
    """One `LossMetric` per attribute name in `attrs` (comma-separated string or list), named by `nms`."""
    attr_list = attrs.split(",") if isinstance(attrs, str) else list(attrs)
    names = attr_list if nms is None else (nms.split(",") if isinstance(nms, str) else list(nms))
    if len(names) != len(attr_list):
        raise ValueError(f"LossMetrics: {len(attr_list)} attributes but {len(names)} names")
    return [LossMetric(a, n) for a, n in zip(attr_list, names, strict=True)]
