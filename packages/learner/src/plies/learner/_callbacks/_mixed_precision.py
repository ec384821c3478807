"""`MixedPrecision`: torch.amp autocast for the forward pass and loss, with a GradScaler for float16.

bfloat16 has float32's range, so it needs no loss scaling; float16 does: the loss is scaled before
backward, gradients are unscaled just before the step (so `GradientClip` sees true values) and a step whose
gradients overflowed is skipped (`CancelStepException`) while the scale adapts.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .._callback import Callback, CancelStepException

__all__ = ["MixedPrecision"]

_MODES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def _to_float(x: Any) -> Any:
    if isinstance(x, Tensor):
        return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    if isinstance(x, tuple):
        return tuple(_to_float(o) for o in x)
    if isinstance(x, list):
        return [_to_float(o) for o in x]
    return x


class MixedPrecision(Callback):
    """Mixed precision training: ``amp_mode='fp16'`` (with a `torch.amp.GradScaler`) or ``'bf16'``.

    Extra keywords go to `torch.amp.GradScaler` (``init_scale``, ``growth_interval``...). The scaler
    is ``learn.scaler`` (its state is saved with checkpoints).
    """

    order = 10

    def __init__(self, amp_mode: str = "fp16", **scaler_kwargs: Any) -> None:
        if amp_mode not in _MODES:
            raise ValueError(f"MixedPrecision: amp_mode must be 'fp16' or 'bf16', got {amp_mode!r}")
        if amp_mode == "bf16" and scaler_kwargs:
            raise TypeError(
                f"MixedPrecision: bf16 uses no GradScaler; unexpected keywords {sorted(scaler_kwargs)}"
            )
        self.amp_mode, self.dtype, self.scaler_kwargs = amp_mode, _MODES[amp_mode], scaler_kwargs
        self._autocast: Any = None
        self._entered = False
        self.skipped = False

    @property
    def param_groups(self) -> Any:
        """The optimizer's parameter groups (lets the GradScaler treat this callback as the optimizer)."""
        return self.learn.opt.param_groups

    def step(self, *args: Any, **kwargs: Any) -> None:
        """Called by the GradScaler when the gradients are finite: the loop then steps the optimizer."""
        self.skipped = False

    def before_fit(self) -> None:
        """Create the autocast context for the model's device and the scaler (fp16)."""
        device = getattr(self.learn.dls, "device", None)
        if device is None:
            p = next(iter(self.learn.model.parameters()), None)
            device = p.device if p is not None else "cpu"
        self.device_type = torch.device(device).type
        self._autocast = torch.autocast(device_type=self.device_type, dtype=self.dtype)
        if self.amp_mode == "fp16":
            scaler = getattr(self.learn, "scaler", None)
            if not isinstance(scaler, torch.amp.GradScaler):
                self.learn.scaler = torch.amp.GradScaler(self.device_type, **self.scaler_kwargs)
        else:
            self.learn.scaler = None

    def before_batch(self) -> None:
        """Enter autocast for the forward pass."""
        self._autocast.__enter__()
        self._entered = True

    def after_pred(self) -> None:
        """Give the rest of the loop float32 predictions."""
        self.learn.pred = _to_float(self.learn.pred)

    def after_loss(self) -> None:
        """Leave autocast (backward runs outside it)."""
        self._exit()

    def _exit(self) -> None:
        if self._entered:
            self._autocast.__exit__(None, None, None)
            self._entered = False

    def before_backward(self) -> None:
        """Scale the loss (fp16)."""
        if self.learn.scaler is not None:
            self.learn.loss_grad = self.learn.scaler.scale(self.learn.loss_grad)

    def before_step(self) -> None:
        """Unscale the gradients in place and skip the step when they overflowed (fp16).

        Runs before `GradientClip` (higher order), which then clips the true gradients.
        """
        if self.learn.scaler is None:
            return
        self.skipped = True
        self.learn.scaler.step(self)
        if self.skipped:
            raise CancelStepException()

    def after_step(self) -> None:
        """Update the loss scale (fp16)."""
        if self.learn.scaler is not None:
            self.learn.scaler.update()

    def after_batch(self) -> None:
        """Make sure autocast is left even when the batch was cancelled early."""
        self._exit()

    def after_fit(self) -> None:
        """Leave autocast if still inside it."""
        self._exit()
