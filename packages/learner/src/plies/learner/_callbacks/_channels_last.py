"""`ChannelsLast`: the model and its image inputs in channels-last memory format (`Learner.to_channelslast`).

Convolutions on GPUs with tensor cores run faster on NHWC data, especially in mixed precision; the
values are the same, only the strides change.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .._callback import Callback

__all__ = ["ChannelsLast"]


def _channels_last(x: Any) -> Any:
    """A 4-d tensor in channels-last format (5-d: channels-last-3d); anything else unchanged."""
    if isinstance(x, Tensor):
        if x.ndim == 4:
            return x.contiguous(memory_format=torch.channels_last)
        if x.ndim == 5:
            return x.contiguous(memory_format=torch.channels_last_3d)
    return x


class ChannelsLast(Callback):
    """Put the model in channels-last memory format before the fit and each batch's 4-d inputs before it runs.

    Inputs of other ranks (tabular, text) pass unchanged; the targets are not touched.
    """

    order = 11  # after MixedPrecision (10), as fastai

    def before_fit(self) -> None:
        """Convert the model's 4-d weights (convolutions) to channels-last."""
        self.learn.model.to(memory_format=torch.channels_last)

    def before_batch(self) -> None:
        """Convert the batch's 4-d (and 5-d) inputs."""
        self.learn.xb = tuple(_channels_last(x) for x in self.learn.xb)
