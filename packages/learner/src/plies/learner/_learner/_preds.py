"""Prediction helpers for `Learner.get_preds` / `predict` / `tta`: gathering outputs over a DataLoader."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor

from .._callback import Callback
from .._utils import concat_batches, plain

__all__ = ["GatherPredsCallback", "CollectDataCallback"]


class GatherPredsCallback(Callback):
    """Collect the predictions, targets (and optionally inputs and per-item losses) of a validation pass."""

    order = 70
    run_train = False

    def __init__(self, with_input: bool = False, with_loss: bool = False) -> None:
        self.with_input, self.with_loss = with_input, with_loss

    def before_validate(self) -> None:
        """Start empty lists."""
        self.inputs: list[Any] = []
        self.preds: list[Any] = []
        self.targets: list[Any] = []
        self.losses: list[Any] = []

    def after_batch(self) -> None:
        """Store this batch's (detached, CPU) outputs."""
        learn = self.learn
        detach = learn.to_detach
        if self.with_input:
            self.inputs.append(detach(learn.xb))
        self.preds.append(plain(detach(learn.pred)))  # plain even when the model returns a TensorBase
        if learn.yb:
            self.targets.append(detach(learn.yb))
            if self.with_loss:
                self.losses.append(detach(learn.loss))

    def all_tensors(self, pad_value: float = 0) -> list[Any]:
        """``[inputs?, preds, targets, losses?]`` concatenated over batches (None where absent).

        Tensors whose sizes differ beyond the first dimension from batch to batch (padded text) are
        padded at the end of those dimensions with `pad_value` to the largest size first.
        """

        def cat(items: list[Any], single: bool = False) -> Any:
            if not items:
                return None
            res = concat_batches(items, pad_value)
            if single and isinstance(res, tuple) and len(res) == 1:
                return res[0]
            return res

        res = [cat(self.preds), cat(self.targets, single=True)]
        if self.with_input:
            res.insert(0, cat(self.inputs, single=True))
        if self.with_loss:
            res.append(cat(self.losses))
        return res


class CollectDataCallback(Callback):
    """Collect every batch a fit or a prediction pass sees: ``data`` holds ``(xb, yb, pred, loss)`` per batch.

    Detached and on the CPU (as `Learner.to_detach` makes them); ``data`` starts empty at each fit.
    For looking at what the model received, e.g. after the data augmentation of a training batch.
    """

    order = 70  # after the batch ran (and after the Recorder), like GatherPredsCallback

    def __init__(self) -> None:
        self.data: list[tuple[Any, Any, Any, Any]] = []

    def before_fit(self) -> None:
        """Start an empty list."""
        self.data = []

    def after_batch(self) -> None:
        """Store this batch's inputs, targets, prediction and loss."""
        learn = self.learn
        self.data.append(learn.to_detach((learn.xb, learn.yb, learn.pred, learn.loss)))


@contextlib.contextmanager
def loss_not_reduced(learn: Any) -> Iterator[None]:
    """Make the learner's loss return one value per item for the duration of the block."""
    loss_func = learn.loss_func
    if hasattr(loss_func, "reduction"):
        old = loss_func.reduction
        loss_func.reduction = "none"
        try:
            yield
        finally:
            loss_func.reduction = old
    else:
        learn.loss_func = functools.partial(loss_func, reduction="none")
        try:
            yield
        finally:
            learn.loss_func = loss_func


@contextlib.contextmanager
def training_transforms(dl: Any) -> Iterator[bool]:
    """Apply the training-time transforms (split_idx 0) to `dl`'s items and batches for the block.

    Yields False when the data has no subset-dependent transforms (a dataset without `set_split_idx`).
    The dataset's `set_split_idx` reaches every pipeline (each TfmdLists and its transforms), and a
    TfmdDL passes the dataset's index to its batch transforms when an iteration starts.
    """
    dataset = getattr(dl, "dataset", None)
    set_split_idx = getattr(dataset, "set_split_idx", None)
    if set_split_idx is None:
        yield False
        return
    with set_split_idx(0):
        yield True


def _identity(x: Any) -> Any:
    return x


def finish_preds(
    loss_func: Any,
    res: list[Any],
    with_input: bool,
    with_decoded: bool,
    act: Callable[[Tensor], Tensor] | None,
) -> tuple[Any, ...]:
    """Apply `act` (default: the loss's ``activation``) to the gathered predictions, add the decoded ones."""
    act = act or getattr(loss_func, "activation", None) or _identity
    pred_i = 1 if with_input else 0
    if res[pred_i] is not None:
        res[pred_i] = act(res[pred_i])
        if with_decoded:
            decodes = getattr(loss_func, "decodes", None) or _identity
            res.insert(pred_i + 2, decodes(res[pred_i]))
    return tuple(res)


def decode_prediction(dls: Any, inp: Any, preds: Any, dec_preds: Any, with_input: bool) -> tuple[Any, ...]:
    """``(decoded target, decoded tensor, activations)`` (input first when `with_input`) of a 1-item batch."""
    n_inp = getattr(dls, "n_inp", 1)
    inp = (inp,) if n_inp == 1 or not isinstance(inp, tuple) else inp
    dec_tuple = dec_preds if isinstance(dec_preds, tuple) else (dec_preds,)
    dec = dls.valid.decode_batch(tuple(inp) + dec_tuple)[0]  # the test dl's pipelines only know the inputs
    dec_inp, dec_targ = dec[:n_inp], dec[n_inp:]
    dec_inp = dec_inp[0] if len(dec_inp) == 1 else dec_inp
    dec_targ = dec_targ[0] if len(dec_targ) == 1 else dec_targ
    res = (dec_targ, dec_preds[0], preds[0])
    return (dec_inp, *res) if with_input else res


def blend_tta(aug_preds: Tensor, preds: Tensor, beta: float | None, use_max: bool) -> Any:
    """Combine `n` augmented predictions (stacked on dim 0) with the plain ones, as fastai's `tta`."""
    aug = aug_preds.max(0)[0] if use_max else aug_preds.mean(0)
    if use_max:
        return torch.stack([preds, aug], 0).max(0)[0]
    if beta is None:
        return (aug, preds)
    return torch.lerp(aug, preds, beta)
