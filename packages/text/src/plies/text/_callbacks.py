"""The callbacks of recurrent text models: `ModelResetter` and `RNNRegularizer` (AR and TAR).

`ModelResetter` clears the hidden state of a stateful model (`model.reset()`) before training,
before validation and after a fit; inference needs it too, so it is a registered inference
callback that exports keep. `RNNRegularizer` (registered too, so that a loaded learner trained
further keeps its `alpha` and `beta`) adds to the loss that is back-propagated (not to
the loss recorded) the activation regularization `alpha * mean(h_drop**2)` and the temporal
activation regularization `beta * mean((h_t - h_{t-1})**2)` of the encoder's last layer (Merity
et al. 2017); it collects those activations with forward hooks on the model's AWD-LSTM encoders
(and, for a language model, on the output dropout of its decoder), during training only.
"""

from __future__ import annotations

from typing import Any

import torch
from plies.learner import Callback, register_callback
from torch import Tensor, nn

from .models._awdlstm import AWD_LSTM
from .models._core import LinearDecoder

__all__ = ["ModelResetter", "RNNRegularizer"]


def _bare(model: nn.Module) -> nn.Module:
    """The model inside a DistributedDataParallel wrapper (the model itself otherwise)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


@register_callback
class ModelResetter(Callback):
    """Call `model.reset()` (a recurrent model's hidden state) before training, validation and after a fit."""

    def _reset(self) -> None:
        reset = getattr(_bare(self.learn.model), "reset", None)
        if callable(reset):
            reset()

    def before_train(self) -> None:
        """Start the epoch's training from a clean state."""
        self._reset()

    def before_validate(self) -> None:
        """Start validation from a clean state."""
        self._reset()

    def after_fit(self) -> None:
        """Leave the model clean for whatever comes next (predictions)."""
        self._reset()


@register_callback
class RNNRegularizer(Callback):
    """Add AR (`alpha`, on the dropped outputs of the last layer) and TAR (`beta`, on its raw outputs,
    consecutive time steps) to the loss that is back-propagated, during training."""

    order = (
        10  # after the loss is computed and scaled by earlier callbacks (e.g. mixed precision runs before)
    )

    def __init__(self, alpha: float = 0.0, beta: float = 0.0) -> None:
        super().__init__()
        self.alpha, self.beta = alpha, beta
        self._hooks: list[Any] = []
        self._raw: list[Tensor] = []
        self._dropped: list[Tensor] = []

    def before_fit(self) -> None:
        """Hook the encoders (raw outputs) and language-model decoders (dropped outputs) of the model."""
        self._remove()
        if not (self.alpha or self.beta):
            return
        for m in _bare(self.learn.model).modules():
            if isinstance(m, AWD_LSTM):
                self._hooks.append(m.register_forward_hook(self._keep("_raw")))
            elif isinstance(m, LinearDecoder):
                self._hooks.append(m.output_dp.register_forward_hook(self._keep("_dropped")))

    def _keep(self, store: str) -> Any:
        def hook(module: nn.Module, inputs: Any, output: Tensor) -> None:
            if module.training and torch.is_grad_enabled():
                getattr(self, store).append(output)

        return hook

    def before_batch(self) -> None:
        """Forget the activations of the previous batch."""
        self._raw, self._dropped = [], []

    def after_loss(self) -> None:
        """Add the penalties to `learn.loss_grad` (the recorded loss is unchanged)."""
        if not self.training or not self._raw:
            return
        extra = self.learn.loss_grad.new_zeros(())
        if self.alpha:
            acts = self._dropped or self._raw
            total = sum(a.float().pow(2).sum() for a in acts)
            extra = extra + self.alpha * total / sum(a.numel() for a in acts)
        if self.beta:
            diffs = [h[:, 1:] - h[:, :-1] for h in self._raw if h.size(1) > 1]
            if diffs:
                total = sum(d.float().pow(2).sum() for d in diffs)
                extra = extra + self.beta * total / sum(d.numel() for d in diffs)
        self.learn.loss_grad = self.learn.loss_grad + extra

    def after_batch(self) -> None:
        """Release the activations."""
        self._raw, self._dropped = [], []

    def after_fit(self) -> None:
        """Remove the hooks."""
        self._remove()

    def after_cancel_fit(self) -> None:
        """Remove the hooks."""
        self._remove()

    def _remove(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks, self._raw, self._dropped = [], [], []
