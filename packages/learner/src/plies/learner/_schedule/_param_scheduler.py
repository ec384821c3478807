"""`ParamScheduler`: the callback that sets hyper-parameters from schedules before each training batch."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._callback import Callback, validation_only
from ._scheds import Schedule

__all__ = ["ParamScheduler"]


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
