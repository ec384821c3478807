"""`Recorder`: the default callback that keeps the training history (losses, hypers, metrics per epoch).

Per training batch it only appends the detached loss and the current lr / mom (no device
synchronisation); smoothed values and Python numbers are computed when read.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from .._callback import Callback
from .._metrics._metric import AvgLoss, AvgSmoothLoss, _to_value

__all__ = ["Recorder"]


def _format_time(seconds: float) -> str:
    seconds = int(seconds)
    h, m, s = seconds // 3600, (seconds // 60) % 60, seconds % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class Recorder(Callback):
    """Record per-batch training loss, lr and momentum, and per-epoch losses and metrics.

    ``metric_names`` is ``['epoch', 'train_loss', 'valid_loss', *metrics, 'time']``; ``values`` holds
    one list per epoch (the same columns without epoch and time); ``losses`` the smoothed training
    loss of every batch; ``lrs`` / ``moms`` the last group's learning rate and momentum.
    """

    order = 50

    def __init__(
        self,
        add_time: bool = True,
        train_metrics: bool = False,
        valid_metrics: bool = True,
        beta: float = 0.98,
    ) -> None:
        self.add_time, self.train_metrics, self.valid_metrics = add_time, train_metrics, valid_metrics
        self.loss = AvgLoss()
        self.smooth_loss = AvgSmoothLoss(beta=beta)
        self.lrs: list[float] = []
        self.moms: list[float] = []
        self._raw_losses: list[torch.Tensor] = []
        self.iters: list[int] = []
        self.values: list[list[Any]] = []
        self.log: list[Any] = []
        self.hps: dict[str, list[Any]] = {}
        self.metric_names: list[str] = []
        self._outer_log: list[Any] = []

    # ---- events --------------------------------------------------------------------------------
    def before_fit(self) -> None:
        """Reset the history (except in a validation-only pass) and build the metric names."""
        learn = self.learn
        metrics = list(learn.metrics)
        self._train_mets = [self.smooth_loss] + (metrics if self.train_metrics else [])
        self._valid_mets = ([self.loss] + metrics) if self.valid_metrics else []
        names = [m.name for m in metrics]
        if self.train_metrics and self.valid_metrics:
            both = ["loss", *names]
            names = [f"train_{n}" for n in both] + [f"valid_{n}" for n in both]
        elif self.valid_metrics:
            names = ["train_loss", "valid_loss", *names]
        elif self.train_metrics:
            names = ["train_loss"] + [f"train_{n}" for n in names]
        else:
            names = ["train_loss"]
        self.metric_names = ["epoch", *names]
        if self.add_time:
            self.metric_names.append("time")
        if (
            learn._validation_only or learn._resuming
        ):  # keep the history (validate, or resume from a checkpoint)
            return
        self.smooth_loss.reset()
        self.lrs, self.moms, self._raw_losses, self.iters, self.values, self.hps = [], [], [], [], [], {}

    def before_epoch(self) -> None:
        """Start this epoch's log line."""
        if self.learn._validation_only:  # a validate/get_preds pass, maybe inside a fit: keep its log line
            self._outer_log = self.log
        else:
            self.cancel_train = self.cancel_valid = False
            self._epoch_start = time.time()
        self.log = [self.learn.epoch]

    def before_train(self) -> None:
        """Reset the training metrics (the smoothed loss runs across epochs)."""
        for m in self._train_mets[1:]:
            m.reset()

    def before_validate(self) -> None:
        """Reset the validation loss and metrics."""
        for m in self._valid_mets:
            m.reset()

    def after_batch(self) -> None:
        """Accumulate metrics; in training also record the loss and hyper-parameters."""
        learn = self.learn
        if not learn.yb or learn.loss is None:  # no target, or the batch was cancelled before the loss
            return
        if learn.training:
            loss = learn.loss.detach()
            self._raw_losses.append(loss)
            self.smooth_loss.add(loss)
            for m in self._train_mets[1:]:
                m.accumulate(learn)
            hypers = learn.opt.hypers[-1]
            self.lrs.append(hypers["lr"])
            mom = hypers.get("mom")
            if mom is not None:
                self.moms.append(mom)
        else:
            for m in self._valid_mets:
                m.accumulate(learn)

    def after_train(self) -> None:
        """Add the training loss (and training metrics) to the log line."""
        self.log += [_to_value(m.value) for m in self._train_mets]

    def after_validate(self) -> None:
        """Add the validation loss and metrics to the log line."""
        self.log += [_to_value(m.value) for m in self._valid_mets]

    def after_cancel_train(self) -> None:
        """Remember that training was cancelled this epoch."""
        self.cancel_train = True

    def after_cancel_validate(self) -> None:
        """Remember that validation was cancelled this epoch."""
        self.cancel_valid = True

    def after_epoch(self) -> None:
        """Store the epoch's values, set ``learn.final_record`` and log the line."""
        learn = self.learn
        if learn._validation_only:
            learn.final_record = self.log[1:]
            self.log = self._outer_log
            return
        learn.final_record = self.log[1:].copy()
        self.values.append(learn.final_record)
        if self.add_time:
            self.log.append(_format_time(time.time() - self._epoch_start))
        learn.logger(self.log)
        self.iters.append(self.smooth_loss.count)

    # ---- history -------------------------------------------------------------------------------
    @property
    def losses(self) -> list[float]:
        """The smoothed training loss after each batch (as recorded by fastai's Recorder)."""
        if not self._raw_losses:
            return []
        raw = torch.stack([r.float().mean() for r in self._raw_losses]).double().cpu().tolist()
        beta, avg, out = self.smooth_loss.beta, 0.0, []
        for i, v in enumerate(raw, 1):
            avg = beta * avg + (1 - beta) * v
            out.append(avg / (1 - beta**i))
        return out

    @property
    def raw_losses(self) -> list[float]:
        """The unsmoothed training loss of each batch."""
        return [float(r.float().mean()) for r in self._raw_losses]

    def state_dict(self) -> dict[str, Any]:
        """The history as plain data (for checkpoints)."""
        sl = self.smooth_loss
        val = sl.value
        return {
            "lrs": [float(x) for x in self.lrs],
            "moms": [float(x) for x in self.moms],
            "raw_losses": self.raw_losses,
            "iters": list(self.iters),
            "values": [[_to_value(v) for v in row] for row in self.values],
            "hps": {k: [float(x) for x in v] for k, v in self.hps.items()},
            "smooth_count": sl.count,
            "smooth_val": None if sl.val is None else float(sl.val),
            "smooth_value": None if val is None else float(val),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the history from `state_dict`'s output."""
        self.lrs, self.moms = list(state["lrs"]), list(state["moms"])
        self._raw_losses = [torch.tensor(float(x)) for x in state["raw_losses"]]
        self.iters, self.values = list(state["iters"]), [list(r) for r in state["values"]]
        self.hps = {k: list(v) for k, v in state.get("hps", {}).items()}
        self.smooth_loss.reset()
        self.smooth_loss.count = int(state["smooth_count"])
        if state["smooth_val"] is not None:
            self.smooth_loss.val = torch.tensor(float(state["smooth_val"]))

    # ---- plots ---------------------------------------------------------------------------------
    def plot_loss(self, skip_start: int = 5, with_valid: bool = True) -> Any:
        """Plot the smoothed training loss per batch and the validation loss per epoch (matplotlib)."""
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        losses = self.losses
        ax.plot(list(range(skip_start, len(losses))), losses[skip_start:], label="train")
        if with_valid and self.values and "valid_loss" in self.metric_names:
            idx = self.metric_names.index("valid_loss") - 1
            iters = [i for i in self.iters]
            vals = [v[idx] for v in self.values]
            keep = [k for k, i in enumerate(iters) if i > skip_start]
            ax.plot([iters[k] for k in keep], [vals[k] for k in keep], label="valid")
            ax.legend()
        ax.set_xlabel("iteration")
        ax.set_ylabel("loss")
        return ax

    def plot_sched(self, keys: list[str] | None = None) -> Any:
        """Plot the scheduled hyper-parameters recorded during the last fit (matplotlib)."""
        import matplotlib.pyplot as plt

        hps = self.hps or {"lr": self.lrs, **({"mom": self.moms} if self.moms else {})}
        keys = list(hps) if keys is None else keys
        fig, axs = plt.subplots(1, len(keys), figsize=(6 * len(keys), 4), squeeze=False)
        for ax, k in zip(axs[0], keys, strict=False):
            ax.plot(hps[k])
            ax.set_ylabel(k)
        return axs

    def plot_lr_find(
        self,
        skip_end: int = 5,
        suggestions: list[tuple[float, float]] | None = None,
        nms: list[str] | None = None,
    ) -> Any:
        """Plot the loss against the learning rate (log scale) after `lr_find`, with the suggestions."""
        import matplotlib.pyplot as plt

        lrs = self.lrs if skip_end == 0 else self.lrs[:-skip_end]
        losses = self.losses if skip_end == 0 else self.losses[:-skip_end]
        fig, ax = plt.subplots()
        ax.plot(lrs, losses)
        ax.set_ylabel("Loss")
        ax.set_xlabel("Learning Rate")
        ax.set_xscale("log")
        for (lr, loss), name in zip(suggestions or [], nms or [], strict=False):
            ax.plot(lr, loss, "o", label=name)
        if suggestions:
            ax.legend(loc="best")
        return ax
