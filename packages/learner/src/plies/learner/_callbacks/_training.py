"""Training callbacks: `GradientAccumulation`, `GradientClip`, `TerminateOnNaNCallback`, `ShortEpochCallback`,
`BnFreeze`."""

from __future__ import annotations

import math
from typing import Any

from plies.layers import set_bn_eval
from torch import nn

from .._callback import (
    Callback,
    CancelBatchException,
    CancelFitException,
    CancelTrainException,
    CancelValidException,
    TrainEvalCallback,
    validation_only,
)
from .._utils import batch_size

__all__ = ["GradientAccumulation", "GradientClip", "TerminateOnNaNCallback", "ShortEpochCallback", "BnFreeze"]


class GradientAccumulation(Callback):
    """Accumulate gradients over batches and step once `n_acc` samples were seen (a bigger virtual batch).

    Each batch's loss is scaled by ``bs / n_acc`` so the accumulated gradient equals that of one batch
    of `n_acc` samples; the reported loss is unchanged.
    """

    order = -5
    run_valid = False

    def __init__(self, n_acc: int = 32) -> None:
        if n_acc < 1:
            raise ValueError(f"GradientAccumulation: n_acc must be >= 1 sample, got {n_acc}")
        self.n_acc = n_acc
        self.count = 0

    def before_fit(self) -> None:
        """Start counting samples (a validate/get_preds pass inside the fit keeps the count)."""
        if not validation_only(self.learn):
            self.count = 0

    def after_loss(self) -> None:
        """Scale the loss used for the gradient by ``bs / n_acc``."""
        self.learn.loss_grad = self.learn.loss_grad * (batch_size(self.learn.yb) / self.n_acc)

    def before_step(self) -> None:
        """Skip the step (and the gradient reset) until `n_acc` samples were accumulated."""
        self.count += batch_size(self.learn.yb)
        if self.count < self.n_acc:
            raise CancelBatchException()
        self.count = 0

    def state_dict(self) -> dict[str, Any]:
        """The number of samples accumulated since the last step."""
        return {"count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the sample count."""
        self.count = int(state.get("count", 0))


class GradientClip(Callback):
    """Clip the gradients' global norm to `max_norm` before each optimizer step."""

    order = 20  # after MixedPrecision (10), which unscales fp16 gradients in its before_step

    def __init__(self, max_norm: float = 1.0, norm_type: float = 2.0) -> None:
        self.max_norm, self.norm_type = max_norm, norm_type

    def before_step(self) -> None:
        """Clip with `torch.nn.utils.clip_grad_norm_`."""
        nn.utils.clip_grad_norm_(self.learn.model.parameters(), self.max_norm, self.norm_type)


class TerminateOnNaNCallback(Callback):
    """Stop training (`CancelFitException`) as soon as the training loss is NaN or infinite."""

    order = -9
    run_valid = False

    def after_batch(self) -> None:
        """Check the batch's loss (one device synchronisation per batch)."""
        loss = self.learn.loss
        if loss is not None and not math.isfinite(float(loss.detach().float().mean())):
            raise CancelFitException()


class ShortEpochCallback(Callback):
    """Run only the fraction `pct` of each epoch's training batches (and of the validation ones when
    `short_valid`): a quick check that a whole pipeline runs.

    ``ceil(pct * n_batches)`` batches run, at least one.
    """

    order = 100  # after the Recorder, the progress bar and checkpoints: they see the last batch too

    def __init__(self, pct: float = 0.01, short_valid: bool = True) -> None:
        if not 0 < pct <= 1:
            raise ValueError(f"ShortEpochCallback: pct must be in (0, 1], got {pct!r}")
        self.pct, self.short_valid = pct, short_valid

    def after_batch(self) -> None:
        """Cancel the phase once `pct` of its batches ran."""
        learn = self.learn
        if (learn.iter + 1) < self.pct * learn.n_iter:
            return
        if learn.training:
            raise CancelTrainException()
        if self.short_valid:
            raise CancelValidException()


class BnFreeze(Callback):
    """Keep the running statistics of the frozen BatchNorm layers fixed: they stay in eval mode in training.

    With ``Learner(train_bn=False)`` the BatchNorm layers of a frozen body keep their weights; this also
    keeps their running mean and variance (`set_bn_eval` before each training phase). With the default
    ``train_bn=True`` the BatchNorm parameters train, so there is nothing frozen for it to hold.
    """

    run_after = TrainEvalCallback  # which puts the whole model in training mode first

    def before_train(self) -> None:
        """Put the frozen BatchNorm layers back in eval mode."""
        set_bn_eval(self.learn.model)
