"""The metric API: `Metric` (reset / accumulate / value / name) and the averaging metrics.

A metric is reset before each validation (or training) phase, fed every batch with
``accumulate(learn)`` (it reads ``learn.pred``, ``learn.yb``, ``learn.loss``...) and asked for
its ``value`` once at the end of the phase. Accumulators stay tensors on the batch's device
so that no per-batch ``.item()`` forces a device synchronisation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import torch
from plies.typecore import to_detach
from torch import Tensor

__all__ = ["Metric", "AvgMetric", "AvgLoss", "AvgSmoothLoss", "ValueMetric", "mk_metric"]


def _batch_size(learn: Any) -> int:
    """Number of items in the current batch (first dimension of the first target, else input)."""
    for b in (learn.yb, getattr(learn, "xb", ())):
        for o in b:
            if isinstance(o, Tensor) and o.ndim > 0:
                return o.shape[0]
            if isinstance(o, (list, tuple)) and len(o) > 0:
                return len(o)
    return 1


def _to_value(x: Any) -> Any:
    """Turn a 0-d tensor into a Python number; leave anything else as is."""
    if isinstance(x, Tensor) and x.numel() == 1:
        return x.item()
    return x


def _learn_y(learn: Any) -> Any:
    """The target of the current batch: ``yb[0]`` when there is one target, else the tuple."""
    yb = learn.yb
    return yb[0] if len(yb) == 1 else yb


def _detach(learn: Any, x: Any) -> Any:
    """Detach `x` to the CPU: through the learner's ``to_detach`` when it runs a loop (its DataLoader
    drops distributed padding), else typecore's `to_detach` (which gathers across processes too)."""
    if learn is not None and callable(getattr(learn, "to_detach", None)):
        return learn.to_detach(x)
    return to_detach(x)


class Metric:
    """Base class of metrics: override `reset`, `accumulate`, `value`; `name` defaults to the class name."""

    def reset(self) -> None:
        """Forget what was accumulated (called before each phase)."""

    def accumulate(self, learn: Any) -> None:
        """Add the current batch of `learn` (its pred, yb, loss...) to the running state."""

    @property
    def value(self) -> Any:
        """The metric's value over everything accumulated since the last `reset`."""
        return None

    @property
    def name(self) -> str:
        """The column name shown by the Recorder."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower()


class AvgMetric(Metric):
    """Average of ``func(pred, *yb)`` over the samples seen (each batch weighted by its size)."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self.total: Any = 0.0
        self.count = 0

    def reset(self) -> None:
        """Set the running total and count to zero."""
        self.total, self.count = 0.0, 0

    def accumulate(self, learn: Any) -> None:
        """Add ``func(pred, *yb)`` times the batch size."""
        bs = _batch_size(learn)
        val = self.func(learn.pred, *learn.yb)
        if isinstance(val, Tensor):
            val = val.detach()
        self.total = self.total + val * bs
        self.count += bs

    @property
    def value(self) -> Any:
        """The sample-weighted average, or None when nothing was accumulated."""
        return _to_value(self.total / self.count) if self.count else None

    @property
    def name(self) -> str:
        """The function's name (or its class name for callable objects)."""
        func = getattr(self.func, "func", self.func)  # functools.partial
        return getattr(func, "__name__", type(func).__name__)


class AvgLoss(Metric):
    """Average of the loss over the samples seen (the validation loss)."""

    def __init__(self) -> None:
        self.total: Any = 0.0
        self.count = 0

    def reset(self) -> None:
        """Set the running total and count to zero."""
        self.total, self.count = 0.0, 0

    def accumulate(self, learn: Any) -> None:
        """Add the batch's mean loss times the batch size."""
        bs = _batch_size(learn)
        self.total = self.total + learn.loss.detach().mean() * bs
        self.count += bs

    @property
    def value(self) -> Any:
        """The average loss, or None when nothing was accumulated."""
        return _to_value(self.total / self.count) if self.count else None

    @property
    def name(self) -> str:
        """Always ``'loss'``."""
        return "loss"


class AvgSmoothLoss(Metric):
    """Exponential moving average of the loss with debiasing (the training loss shown per batch).

    Batches only append their detached loss (no device synchronisation, no tensor op); the
    moving average is folded in when `value` is read.
    """

    def __init__(self, beta: float = 0.98) -> None:
        self.beta = beta
        self.reset()

    def reset(self) -> None:
        """Start a new average."""
        self.count = 0
        self.val: Tensor | None = None
        self._pending: list[Tensor] = []

    def accumulate(self, learn: Any) -> None:
        """Queue the batch's loss."""
        self.add(learn.loss)

    def add(self, loss: Tensor) -> None:
        """Queue one loss value (a tensor, detached here)."""
        self._pending.append(loss.detach())
        self.count += 1

    def _fold(self) -> None:
        pending, self._pending = self._pending, []
        k = len(pending)
        if all(p.ndim == 0 for p in pending):
            losses = torch.stack(pending).float()
        else:
            losses = torch.stack([p.float().mean() for p in pending])
        beta = self.beta
        weights = (1 - beta) * beta ** torch.arange(k - 1, -1, -1, dtype=torch.float64, device=losses.device)
        folded = (weights * losses.double()).sum()
        if self.val is not None:
            folded = folded + beta**k * self.val.double()
        self.val = folded.float()

    @property
    def value(self) -> Tensor | None:
        """The debiased moving average as a 0-d tensor, or None before any batch."""
        if self._pending:
            self._fold()
        if self.val is None:
            return None
        return self.val / (1 - self.beta**self.count)

    @value.setter
    def value(self, v: Tensor | float) -> None:
        """Replace the current average (e.g. by a callback); the debiasing is kept consistent."""
        self._pending = []
        self.count = max(self.count, 1)
        self.val = torch.as_tensor(v, dtype=torch.float32) * (1 - self.beta**self.count)

    @property
    def name(self) -> str:
        """Always ``'loss'``."""
        return "loss"


class ValueMetric(Metric):
    """A metric whose value is computed by ``func()`` at the end of the phase (no accumulation)."""

    def __init__(self, func: Callable[[], Any], metric_name: str | None = None) -> None:
        self.func = func
        self.metric_name = metric_name

    @property
    def value(self) -> Any:
        """The result of ``func()``."""
        return self.func()

    @property
    def name(self) -> str:
        """`metric_name` if given, else the function's name."""
        return self.metric_name or str(getattr(self.func, "__name__", "value"))


def mk_metric(m: Any) -> Metric:
    """A `Metric` from `m`: itself if a Metric, an instance if a Metric class, else `AvgMetric(m)`."""
    if isinstance(m, type) and issubclass(m, Metric):
        return m()
    if isinstance(m, Metric):
        return m
    if not callable(m):
        raise TypeError(
            f"metrics: expected a Metric or a function f(pred, targ), found {type(m).__name__} ({m!r})"
        )
    return AvgMetric(m)
