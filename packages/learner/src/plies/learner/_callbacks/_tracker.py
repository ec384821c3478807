"""Callbacks that watch a monitored value each epoch: early stopping, best-model saving, LR reduction."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from .._callback import Callback, CancelFitException, validation_only
from .._distributed._process import distrib_barrier
from .._schedule._lr_finder import LRFinder

__all__ = ["TrackerCallback", "EarlyStoppingCallback", "SaveModelCallback", "ReduceLROnPlateau"]


def _is_rank0() -> bool:
    from plies.typecore import rank_distrib

    return rank_distrib() == 0


class TrackerCallback(Callback):
    """Track `monitor` (a Recorder column such as ``'valid_loss'`` or a metric name) and flag new bests.

    `comp` compares a value with the best so far (default: lower is better when the name contains
    'loss' or 'error', else higher); an improvement must exceed `min_delta`.
    """

    order = 60
    run_after = ("Recorder",)

    def __init__(
        self,
        monitor: str = "valid_loss",
        comp: Callable[[Any, Any], bool] | None = None,
        min_delta: float = 0.0,
        reset_on_fit: bool = True,
    ) -> None:
        if comp is None:
            comp = operator.lt if ("loss" in monitor or "error" in monitor) else operator.gt
        if comp in (operator.lt, operator.le, np.less, np.less_equal):  # lower is better: improve by -delta
            min_delta = -abs(min_delta)
        self.monitor, self.comp, self.min_delta, self.reset_on_fit = monitor, comp, min_delta, reset_on_fit
        self.best: float | None = None
        self.new_best = False

    def _idle(self) -> bool:
        """True in a validate/get_preds pass (maybe inside a fit) and during `lr_find`'s mock training."""
        return validation_only(self.learn) or any(isinstance(cb, LRFinder) for cb in self.learn.cbs)

    def _initial_best(self) -> float:
        return float("inf") if self.comp(0, 1) else -float("inf")

    def before_fit(self) -> None:
        """Find the monitored column; reset the best value (when `reset_on_fit`)."""
        if self._idle():
            return
        if self.reset_on_fit or self.best is None:
            self.best = self._initial_best()
        rec = self.learn.__dict__.get("recorder")
        if rec is None:
            raise ValueError(f"{type(self).__name__}: needs the Recorder callback to read {self.monitor!r}")
        names = [n for n in rec.metric_names[1:] if n != "time"]
        if self.monitor not in names:
            raise ValueError(
                f"{type(self).__name__}: monitor {self.monitor!r} is not recorded; recorded: {names}"
            )
        self.idx = names.index(self.monitor)

    def after_epoch(self) -> None:
        """Compare the epoch's value with the best so far; set `new_best`."""
        if self._idle():
            return
        value = self.learn.recorder.values[-1][self.idx]
        best = self._initial_best() if self.best is None else self.best
        self.new_best = value is not None and bool(self.comp(value - self.min_delta, best))
        if self.new_best:
            self.best = value

    def state_dict(self) -> dict[str, Any]:
        """The best value so far."""
        return {"best": self.best}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the best value."""
        self.best = state.get("best")


class EarlyStoppingCallback(TrackerCallback):
    """Stop training when `monitor` has not improved for `patience` epochs."""

    def __init__(
        self,
        monitor: str = "valid_loss",
        comp: Callable[[Any, Any], bool] | None = None,
        min_delta: float = 0.0,
        patience: int = 1,
        reset_on_fit: bool = True,
    ) -> None:
        super().__init__(monitor=monitor, comp=comp, min_delta=min_delta, reset_on_fit=reset_on_fit)
        self.patience = patience
        self.wait = 0

    def before_fit(self) -> None:
        """Reset the wait counter (not in a validate/get_preds pass or during `lr_find`)."""
        if not self._idle():
            self.wait = 0
        super().before_fit()

    def after_epoch(self) -> None:
        """Count epochs without improvement; raise `CancelFitException` after `patience` of them."""
        super().after_epoch()
        if self._idle():
            return
        if self.new_best:
            self.wait = 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            print(f"No improvement since epoch {self.learn.epoch - self.wait}: early stopping")
            raise CancelFitException()

    def state_dict(self) -> dict[str, Any]:
        """Best value and wait counter."""
        return {"best": self.best, "wait": self.wait}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore best value and wait counter."""
        self.best, self.wait = state.get("best"), int(state.get("wait", 0))


class SaveModelCallback(TrackerCallback):
    """Save the model whenever `monitor` improves (``models/<fname>.safetensors``); load the best at the end.

    `every_epoch`: save every epoch as ``<fname>_<epoch>`` instead (or every n epochs for an int);
    `at_end`: save once after training instead of reloading the best.
    """

    def __init__(
        self,
        monitor: str = "valid_loss",
        comp: Callable[[Any, Any], bool] | None = None,
        min_delta: float = 0.0,
        fname: str = "model",
        every_epoch: bool | int = False,
        at_end: bool = False,
        with_opt: bool = False,
        reset_on_fit: bool = True,
    ) -> None:
        super().__init__(monitor=monitor, comp=comp, min_delta=min_delta, reset_on_fit=reset_on_fit)
        self.fname, self.every_epoch, self.at_end, self.with_opt = fname, every_epoch, at_end, with_opt
        self.last_saved: Any = None

    def _save(self, name: str) -> None:
        # every rank calls it (the monitored values are gathered, so ranks agree): rank 0 writes, all wait
        self.last_saved = self.learn.save(name, with_opt=self.with_opt)

    def after_epoch(self) -> None:
        """Save when the monitored value improved (or every epoch)."""
        if self._idle():
            return
        if self.every_epoch:
            every = 1 if self.every_epoch is True else int(self.every_epoch)
            if self.learn.epoch % every == 0 or self.learn.epoch == self.learn.n_epoch - 1:
                self._save(f"{self.fname}_{self.learn.epoch}")
            return
        super().after_epoch()
        if self.new_best:
            if _is_rank0():
                print(
                    f"Better model found at epoch {self.learn.epoch} with {self.monitor} value: {self.best}."
                )
            self._save(self.fname)

    def after_fit(self) -> None:
        """Save at the end (`at_end`) or load the best model back."""
        if self._idle():
            return
        if self.at_end:
            self._save(self.fname)
            return
        distrib_barrier()  # under torch.distributed: rank 0 has finished writing before any rank reads
        if not self.every_epoch and self.learn._model_file(self.fname).exists():
            self.learn.load(self.fname, with_opt=self.with_opt)


class ReduceLROnPlateau(TrackerCallback):
    """Divide the learning rate by `factor` when `monitor` has not improved for `patience` epochs."""

    def __init__(
        self,
        monitor: str = "valid_loss",
        comp: Callable[[Any, Any], bool] | None = None,
        min_delta: float = 0.0,
        patience: int = 1,
        factor: float = 10.0,
        min_lr: float = 0.0,
        reset_on_fit: bool = True,
    ) -> None:
        super().__init__(monitor=monitor, comp=comp, min_delta=min_delta, reset_on_fit=reset_on_fit)
        self.patience, self.factor, self.min_lr = patience, factor, min_lr
        self.wait = 0

    def before_fit(self) -> None:
        """Reset the wait counter (not in a validate/get_preds pass or during `lr_find`)."""
        if not self._idle():
            self.wait = 0
        super().before_fit()

    def after_epoch(self) -> None:
        """Reduce the learning rate of every group after `patience` epochs without improvement."""
        super().after_epoch()
        if self._idle():
            return
        if self.new_best:
            self.wait = 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            opt = self.learn.opt
            old_lr = opt.hypers[-1]["lr"]
            opt.set_hyper("lr", [max(h["lr"] / self.factor, self.min_lr) for h in opt.hypers])
            self.wait = 0
            if opt.hypers[-1]["lr"] < old_lr:
                print(f"Epoch {self.learn.epoch}: reducing lr to {opt.hypers[-1]['lr']}")

    def state_dict(self) -> dict[str, Any]:
        """Best value and wait counter."""
        return {"best": self.best, "wait": self.wait}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore best value and wait counter."""
        self.best, self.wait = state.get("best"), int(state.get("wait", 0))
