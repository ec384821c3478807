"""Hyper-parameter schedules, the `ParamScheduler` callback that applies them, and the LR finder.

A schedule is a function of the training progress ``pos`` in [0, 1] (``learn.pct_train``).
`start` / `end` may be numbers or NumPy arrays (one value per parameter group).
"""

from __future__ import annotations

import bisect
import collections
import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .._callback import Callback, CancelFitException, CancelValidException, validation_only

__all__ = [
    "SchedLin",
    "SchedCos",
    "SchedNo",
    "SchedExp",
    "SchedPoly",
    "combine_scheds",
    "combined_cos",
    "ParamScheduler",
    "LRFinder",
    "minimum",
    "steep",
    "valley",
    "slide",
]

Schedule = Callable[[float], Any]


class _Annealer:
    """A schedule from `start` to `end` with a named shape (callable on ``pos``)."""

    def __init__(self, kind: str, f: Callable[[Any, Any, float], Any], start: Any, end: Any) -> None:
        self.kind, self.f, self.start, self.end = kind, f, start, end

    def __call__(self, pos: float) -> Any:
        return self.f(self.start, self.end, float(pos))

    def __repr__(self) -> str:
        return f"{self.kind}({self.start!r}, {self.end!r})"


def SchedLin(start: Any, end: Any) -> Schedule:
    """Linear schedule from `start` to `end`."""
    return _Annealer("SchedLin", lambda s, e, p: s + p * (e - s), start, end)


def SchedCos(start: Any, end: Any) -> Schedule:
    """Cosine schedule from `start` to `end` (flat at both ends)."""
    return _Annealer(
        "SchedCos", lambda s, e, p: s + (1 + math.cos(math.pi * (1 - p))) * (e - s) / 2, start, end
    )


def SchedNo(start: Any, end: Any = None) -> Schedule:
    """Constant schedule at `start`."""
    return _Annealer("SchedNo", lambda s, e, p: s, start, end)


def SchedExp(start: Any, end: Any) -> Schedule:
    """Exponential schedule from `start` to `end` (both > 0)."""
    return _Annealer("SchedExp", lambda s, e, p: s * (e / s) ** p, start, end)


def SchedPoly(start: Any, end: Any, power: float) -> Schedule:
    """Polynomial schedule ``start + (end - start) * pos**power``."""
    return _Annealer("SchedPoly", lambda s, e, p: s + (e - s) * p**power, start, end)


class _Combined:
    def __init__(self, pcts: Sequence[float], scheds: Sequence[Schedule]) -> None:
        if len(pcts) != len(scheds):
            raise ValueError(f"combine_scheds: {len(pcts)} percentages for {len(scheds)} schedules")
        if any(p < 0 for p in pcts) or abs(sum(pcts) - 1) > 1e-6:
            raise ValueError(f"combine_scheds: percentages must be >= 0 and sum to 1, got {list(pcts)}")
        self.scheds = list(scheds)
        self.bounds = [0.0]
        for p in pcts:
            self.bounds.append(self.bounds[-1] + float(p))

    def __call__(self, pos: float) -> Any:
        pos = float(pos)
        idx = bisect.bisect_right(self.bounds, pos) - 1
        idx = min(max(idx, 0), len(self.scheds) - 1)
        while idx > 0 and self.bounds[idx + 1] - self.bounds[idx] == 0:
            idx -= 1
        width = self.bounds[idx + 1] - self.bounds[idx]
        actual = (pos - self.bounds[idx]) / width if width > 0 else 1.0
        return self.scheds[idx](min(max(actual, 0.0), 1.0))


def combine_scheds(pcts: Sequence[float], scheds: Sequence[Schedule]) -> Schedule:
    """Chain `scheds`, schedule i running over the fraction ``pcts[i]`` of training (pcts sum to 1)."""
    return _Combined(pcts, scheds)


def combined_cos(pct: float, start: Any, middle: Any, end: Any) -> Schedule:
    """Cosine from `start` to `middle` over the first `pct` of training, then cosine down to `end`."""
    return combine_scheds([pct, 1 - pct], [SchedCos(start, middle), SchedCos(middle, end)])


def _hyper_value(v: Any) -> Any:
    return v.tolist() if isinstance(v, np.ndarray) else v


class ParamScheduler(Callback):
    """Set each hyper-parameter in `scheds` (name -> schedule) from ``learn.pct_train`` before each batch."""

    order = 60
    run_valid = False

    def __init__(self, scheds: dict[str, Schedule]) -> None:
        self.scheds = dict(scheds)
        self.hps: dict[str, list[Any]] = {}

    def before_fit(self) -> None:
        """Start recording the values set (not for a validate/get_preds pass inside the fit)."""
        if validation_only(self.learn):
            return
        self.hps = {p: [] for p in self.scheds}

    def before_batch(self) -> None:
        """Set every scheduled hyper-parameter for this batch."""
        self._update_val(self.learn.pct_train)

    def _update_val(self, pct: float) -> None:
        opt = self.learn.opt
        for name, sched in self.scheds.items():
            opt.set_hyper(name, _hyper_value(sched(pct)))

    def after_batch(self) -> None:
        """Record the values used (last parameter group)."""
        hypers = self.learn.opt.hypers[-1]
        for name in self.scheds:
            self.hps[name].append(hypers[name])

    def after_fit(self) -> None:
        """Hand the recorded values to the Recorder (for `plot_sched`)."""
        if validation_only(self.learn):
            return
        rec = self.learn.__dict__.get("recorder")
        if rec is not None:
            rec.hps = self.hps

    def state_dict(self) -> dict[str, Any]:
        """The recorded values (plain data)."""
        return {"hps": {k: [float(x) for x in v] for k, v in self.hps.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the recorded values."""
        self.hps = {k: list(v) for k, v in state.get("hps", {}).items()}


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
