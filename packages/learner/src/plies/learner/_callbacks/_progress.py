"""`ProgressCallback`: a tqdm progress bar per phase and a metrics table row per epoch.

`tqdm.auto` draws a widget in a notebook and a text bar in a terminal. Only rank 0 shows anything.
"""

from __future__ import annotations

import time
from typing import Any

from .._callback import Callback, noop_logger, validation_only
from .._schedule._lr_finder import LRFinder

__all__ = ["ProgressCallback", "ShowGraphCallback"]

_POSTFIX_EVERY_S = 0.5  # seconds between two refreshes of the loss shown on the bar


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6f}"
    if v is None:
        return "None"
    return str(v)


class ProgressCallback(Callback):
    """Default callback: a tqdm bar for each training / validation phase and a table of epoch results."""

    order = 60

    def __init__(self) -> None:
        self.bar: Any = None
        self._active = False
        self._header_done = False
        self._old_logger: Any = None
        self._next_postfix = 0.0

    def before_fit(self) -> None:
        """Take over the learner's logger to print the metrics table (rank 0 only)."""
        from plies.typecore import rank_distrib

        learn = self.learn
        if learn._validation_only:  # validate/get_preds (maybe inside a fit): no bar, no table
            return
        self._active = rank_distrib() == 0
        self._header_done = False
        self._old_logger = None
        if self._active and learn.logger is not noop_logger:
            self._old_logger, learn.logger = learn.logger, self._write_stats

    def _open(self, desc: str) -> None:
        if not self._active or self.learn._validation_only:
            return
        from tqdm.auto import tqdm

        dl = self.learn.dl
        total = len(dl) if hasattr(dl, "__len__") else None
        self.bar = tqdm(total=total, desc=desc, leave=False, dynamic_ncols=True)
        if self.learn.training and self.learn._skip_iters:
            self.bar.update(self.learn._skip_iters)

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def before_train(self) -> None:
        """Open the training bar."""
        self._open(f"epoch {self.learn.epoch + 1}/{self.learn.n_epoch} train")

    def before_validate(self) -> None:
        """Open the validation bar."""
        self._open(f"epoch {self.learn.epoch + 1}/{self.learn.n_epoch} valid")

    def after_batch(self) -> None:
        """Advance the bar; show the smoothed training loss now and then."""
        bar = self.bar
        if bar is None or self.learn._validation_only:
            return
        bar.update(1)
        if self.learn.training:
            now = time.perf_counter()
            if now >= self._next_postfix:  # reading the smoothed loss costs tensor ops: twice a second
                self._next_postfix = now + _POSTFIX_EVERY_S
                smooth = self.learn.smooth_loss
                if smooth is not None:
                    bar.set_postfix_str(f"loss {float(smooth):.4f}", refresh=False)

    def after_train(self) -> None:
        """Close the training bar."""
        self._close()

    def after_validate(self) -> None:
        """Close the validation bar."""
        if not self.learn._validation_only:
            self._close()

    def after_fit(self) -> None:
        """Close any bar and give the logger back."""
        if self.learn._validation_only:
            return
        self._close()
        if self._old_logger is not None:
            self.learn.logger = self._old_logger
            self._old_logger = None

    def _write_stats(self, log: list[Any]) -> None:
        from tqdm.auto import tqdm

        names = (
            self.learn.recorder.metric_names
            if "recorder" in self.learn.__dict__
            else [f"c{i}" for i in range(len(log))]
        )
        cells = [_fmt(v) for v in log]
        widths = [max(len(n), 10) for n in names]
        if not self._header_done:
            tqdm.write("  ".join(n.ljust(w) for n, w in zip(names, widths, strict=False)))
            self._header_done = True
        tqdm.write("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)))


class ShowGraphCallback(Callback):
    """Redraw the training and validation losses after every epoch (matplotlib)."""

    order = 65
    run_valid = False

    def after_epoch(self) -> None:
        """Plot the losses recorded so far (not for a validate/get_preds pass or during `lr_find`)."""
        learn = self.learn
        if validation_only(learn) or any(isinstance(cb, LRFinder) for cb in learn.cbs):
            return
        rec = learn.__dict__.get("recorder")
        if rec is not None and rec.losses:
            rec.plot_loss(skip_start=0)
