"""The LR finder: `LRFinder` (a mock training with a growing learning rate) and the suggestions
(`minimum`, `steep`, `valley`, `slide`) that `lr_find` reads off the loss curve."""

from __future__ import annotations

import collections
import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .._callback import CancelFitException, CancelValidException, validation_only
from ._param_scheduler import ParamScheduler
from ._scheds import SchedExp

__all__ = ["LRFinder", "minimum", "steep", "valley", "slide"]


class LRFinder(ParamScheduler):
    """Mock training with an exponentially growing learning rate; restores model and optimizer after.

    Stops after `num_it` batches, or when the smoothed loss exceeds 4 times its minimum (`stop_div`).
    """

    def __init__(
        self, start_lr: float = 1e-7, end_lr: float = 10, num_it: int = 100, stop_div: bool = True
    ) -> None:
        if num_it < 1:
            raise ValueError(f"LRFinder: num_it must be >= 1, got {num_it}")
        super().__init__({"lr": SchedExp(start_lr, end_lr)})
        self.num_it, self.stop_div = num_it, stop_div

    def before_fit(self) -> None:
        """Snapshot model and optimizer state (in memory)."""
        super().before_fit()
        learn = self.learn
        if validation_only(learn):  # a validate/get_preds pass inside the search: keep the first snapshot
            return
        self._model_state = copy.deepcopy(learn.model.state_dict())
        self._opt_state = copy.deepcopy(learn.opt.state_dict())
        self._hypers = [dict(h) for h in learn.opt.hypers]
        self._requires_grad = [p.requires_grad for p in learn.model.parameters()]
        self.best_loss = float("inf")

    def before_batch(self) -> None:
        """Set the learning rate for this iteration."""
        self._update_val(self.learn.train_iter / self.num_it)

    def after_batch(self) -> None:
        """Track the best loss; stop at divergence or after `num_it` iterations."""
        super().after_batch()
        smooth = self.learn.smooth_loss
        loss = float(smooth) if smooth is not None else float(self.learn.loss)
        if loss < self.best_loss:
            self.best_loss = loss
        if self.stop_div and (loss > 4 * self.best_loss or math.isnan(loss)):
            raise CancelFitException()
        if self.learn.train_iter >= self.num_it:
            raise CancelFitException()

    def before_validate(self) -> None:
        """No validation during the search (an explicit validate/get_preds inside it still runs)."""
        if not validation_only(self.learn):
            raise CancelValidException()

    def after_fit(self) -> None:
        """Restore the model, the optimizer state and the hyper-parameters exactly."""
        learn = self.learn
        if validation_only(learn):
            return
        learn.opt.zero_grad()
        learn.model.load_state_dict(self._model_state)
        learn.opt.load_state_dict(self._opt_state)
        for name in self._hypers[0]:
            learn.opt.set_hyper(name, [h[name] for h in self._hypers])
        for p, rg in zip(learn.model.parameters(), self._requires_grad, strict=False):
            p.requires_grad_(rg)
        super().after_fit()


def minimum(lrs: Tensor, losses: Tensor, num_it: int) -> tuple[float, tuple[float, float]]:
    """Suggestion: the learning rate at the minimum loss, divided by 10."""
    idx = int(losses.argmin())
    lr = float(lrs[idx]) / 10
    return lr, (lr, float(losses[idx]))


def steep(lrs: Tensor, losses: Tensor, num_it: int) -> tuple[float, tuple[float, float]]:
    """Suggestion: the learning rate where the loss falls fastest (steepest slope in log-lr)."""
    grads = (losses[1:] - losses[:-1]) / (lrs[1:].log() - lrs[:-1].log())
    idx = int(grads.argmin())
    return float(lrs[idx]), (float(lrs[idx]), float(losses[idx]))


def valley(lrs: Tensor, losses: Tensor, num_it: int) -> tuple[float, tuple[float, float]]:
    """Suggestion: the point halfway along the longest valley (longest decreasing run) of the loss curve."""
    n = len(losses)
    lds = [1] * n
    max_start = max_end = 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    idx = min(max_start + int(sections) + int(sections / 2), n - 1)
    return float(lrs[idx]), (float(lrs[idx]), float(losses[idx]))


def slide(
    lrs: Tensor,
    losses: Tensor,
    num_it: int,
    lr_diff: int = 15,
    thresh: float = 0.005,
    adjust_value: float = 1.0,
) -> tuple[float, tuple[float, float]]:
    """Suggestion by the interval slide rule: walking left from the end, the learning rate where the loss
    gradient over `lr_diff` points first changes by no more than `thresh`, times `adjust_value`."""
    grads = np.gradient(losses.numpy()) if len(losses) > 1 else np.zeros(len(losses))
    n = len(losses)
    r_idx = -1
    l_idx = r_idx - lr_diff
    local_min_lr = float(lrs[max(l_idx, -n)])
    while l_idx >= -n and abs(grads[r_idx] - grads[l_idx]) > thresh:
        local_min_lr = float(lrs[l_idx])
        r_idx -= 1
        l_idx -= 1
    lr = local_min_lr * adjust_value
    loss = float(np.interp(np.log10(lr), np.log10(lrs.numpy()), losses.numpy()))
    return lr, (lr, loss)


def suggest_lrs(
    recorder: Any, num_it: int, suggest_funcs: Sequence[Callable[..., Any]], show_plot: bool
) -> Any:
    """The `lr_find` result: a named tuple with one suggestion per function, from the Recorder's curve."""
    lrs = torch.tensor(recorder.lrs[num_it // 10 : -5], dtype=torch.float64)
    losses = torch.tensor(recorder.losses[num_it // 10 : -5], dtype=torch.float64)
    if len(losses) < 2:  # a short search: use the whole curve
        lrs = torch.tensor(recorder.lrs, dtype=torch.float64)
        losses = torch.tensor(recorder.losses, dtype=torch.float64)
    not_finite = torch.nonzero(~torch.isfinite(losses))
    if len(not_finite) > 0:
        lrs, losses = lrs[: int(not_finite[0])], losses[: int(not_finite[0])]
    names = [getattr(getattr(f, "func", f), "__name__", "suggestion") for f in suggest_funcs]
    results = [f(lrs, losses, num_it) for f in suggest_funcs]
    suggested = collections.namedtuple("SuggestedLRs", names)  # type: ignore[misc]
    if show_plot:
        recorder.plot_lr_find(suggestions=[r[1] for r in results], nms=names)
    return suggested(*[r[0] for r in results])
