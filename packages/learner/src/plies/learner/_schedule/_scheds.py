"""Hyper-parameter schedules: functions of the training progress, combined into 1cycle and friends.

A schedule is a function of the training progress ``pos`` in [0, 1] (``learn.pct_train``).
`start` / `end` may be numbers or NumPy arrays (one value per parameter group).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["SchedLin", "SchedCos", "SchedNo", "SchedExp", "SchedPoly", "combine_scheds", "combined_cos"]

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
