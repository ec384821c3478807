"""Loss functions that flatten predictions and targets, and know their activation and decoding."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ._loss_registry import register_loss
from ._module import Module

__all__ = [
    "BaseLoss",
    "CrossEntropyLossFlat",
    "BCEWithLogitsLossFlat",
    "BCELossFlat",
    "MSELossFlat",
    "L1LossFlat",
    "FocalLoss",
    "FocalLossFlat",
    "LabelSmoothingCrossEntropy",
    "LabelSmoothingCrossEntropyFlat",
    "DiceLoss",
    "NoneReduce",
]


def _plain(x: Any) -> Any:
    """Drop any semantic tensor subclass: losses compute on plain tensors."""
    return x.as_subclass(torch.Tensor) if isinstance(x, torch.Tensor) else x


class BaseLoss:
    """Wrap a loss class so that prediction and target are flattened on `axis` before it is called.

    `axis` is moved last, then the prediction is viewed as (N, n_classes) when `is_2d` (else 1-d)
    and the target as 1-d (`flatten=False` skips both). `floatify` casts the target to float.
    `activation(x)` turns raw outputs into what a user reads (probabilities); `decodes(x)` into
    predictions (class indices, booleans). Both are the identity here; subclasses override them.
    `y_int` says whether targets are integers (classification).
    """

    y_int: bool = False

    def __init__(
        self,
        loss_cls: Callable[..., Callable[..., torch.Tensor]],
        *args: Any,
        axis: int = -1,
        flatten: bool = True,
        floatify: bool = False,
        is_2d: bool = True,
        **kwargs: Any,
    ) -> None:
        self.axis, self.flatten, self.floatify, self.is_2d = axis, flatten, floatify, is_2d
        self.func = loss_cls(*args, **kwargs)

    def __repr__(self) -> str:
        return f"FlattenedLoss of {self.func}"

    @property
    def reduction(self) -> str:
        """The wrapped loss's reduction ('mean', 'sum' or 'none'); settable."""
        return self.func.reduction  # type: ignore[attr-defined]

    @reduction.setter
    def reduction(self, value: str) -> None:
        self.func.reduction = value  # type: ignore[attr-defined]

    def _contiguous(self, x: Any) -> Any:
        x = _plain(x)
        if not isinstance(x, torch.Tensor):
            return x
        if -x.dim() <= self.axis < x.dim():
            return x.transpose(self.axis, -1).contiguous()
        return x  # a target without the class axis (e.g. labels of shape (bs,) with axis=1)

    def __call__(self, inp: torch.Tensor, targ: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """The loss of prediction `inp` against target `targ`."""
        shapes = tuple(getattr(inp, "shape", ())), tuple(getattr(targ, "shape", ()))
        inp, targ = self._contiguous(inp), self._contiguous(targ)
        if self.floatify and targ.dtype != torch.float16:
            targ = targ.float()
        if targ.dtype in (torch.int8, torch.int16, torch.int32, torch.uint8):
            targ = targ.long()
        if self.flatten:
            n_pred = inp.numel() // inp.shape[-1] if self.is_2d and inp.dim() else inp.numel()
            if n_pred != targ.numel():
                raise ValueError(self._size_mismatch(*shapes, n_pred, targ.numel()))
            inp = inp.view(-1, inp.shape[-1]) if self.is_2d else inp.view(-1)
            targ = targ.view(-1)
        return self.func(inp, targ, **kwargs)

    def _size_mismatch(self, pred: tuple[int, ...], targ: tuple[int, ...], n_pred: int, n_targ: int) -> str:
        """The error for a prediction and a target that do not flatten to matching sizes."""
        name = f"{type(self.func).__name__}Flat"
        head = f"{name}: prediction of shape {pred} and target of shape {targ} do not match"
        if self.is_2d:
            n_cls = pred[self.axis] if pred else 1
            fix = (
                f"the prediction holds {n_pred} rows of {n_cls} class scores (class axis {self.axis}), "
                f"which need {n_pred} target class indices, found {n_targ}"
            )
            if n_targ == n_pred * n_cls:
                fix += "; for one-hot or multi-label targets use BCEWithLogitsLossFlat"
            elif pred and targ and pred[0] != targ[0]:
                fix += f"; the batches hold {pred[0]} predictions and {targ[0]} targets"
            return f"{head}: {fix}"
        if pred and targ and pred[0] == targ[0]:
            per_pred, per_targ = n_pred // max(pred[0], 1), n_targ // max(targ[0], 1)
            fix = (
                f"the model outputs {per_pred} value(s) per item and the target has {per_targ}: give the "
                f"model's last layer {per_targ} output(s) (e.g. nn.Linear(n_in, {per_targ})) or pass "
                f"targets of shape {pred}"
            )
        elif pred and targ:
            fix = (
                f"the batches hold {pred[0]} predictions and {targ[0]} targets; check that the "
                "DataLoader yields (input, target) pairs of the same batch size"
            )
        else:
            fix = f"flattened, they give {n_pred} and {n_targ} values, which must be equal"
        return f"{head}: {fix}"

    def activation(self, x: torch.Tensor) -> torch.Tensor:
        """Turn raw model outputs into what the loss sees as predictions (identity here)."""
        return x

    def decodes(self, x: torch.Tensor) -> torch.Tensor:
        """Turn activated outputs into decoded predictions (identity here)."""
        return x

    def to(self, device: torch.device | str) -> BaseLoss:
        """Move the wrapped loss's buffers (class weights...) to `device`; return self."""
        if isinstance(self.func, nn.Module):
            self.func.to(device)
        return self


@register_loss
class CrossEntropyLossFlat(BaseLoss):
    """`nn.CrossEntropyLoss` over flattened predictions; classes on `axis` (-1; 1 for segmentation maps)."""

    y_int = True

    def __init__(
        self,
        *args: Any,
        axis: int = -1,
        weight: torch.Tensor | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            nn.CrossEntropyLoss,
            *args,
            axis=axis,
            weight=weight,
            ignore_index=ignore_index,
            reduction=reduction,
            **kwargs,
        )

    def activation(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax over the class axis."""
        return F.softmax(x, dim=self.axis)

    def decodes(self, x: torch.Tensor) -> torch.Tensor:
        """Index of the most likely class."""
        return x.argmax(dim=self.axis)


@register_loss
class BCEWithLogitsLossFlat(BaseLoss):
    """`nn.BCEWithLogitsLoss` over flattened predictions (multi-label); `thresh` decodes probabilities.

    With `pos_weight` the inputs are not flattened (its shape must broadcast against the targets).
    """

    def __init__(
        self,
        *args: Any,
        axis: int = -1,
        floatify: bool = True,
        thresh: float = 0.5,
        weight: torch.Tensor | None = None,
        reduction: str = "mean",
        pos_weight: torch.Tensor | None = None,
        flatten: bool | None = None,
        **kwargs: Any,
    ) -> None:
        if pos_weight is not None and flatten:
            raise ValueError(
                "BCEWithLogitsLossFlat: flatten must be False when pos_weight is given "
                "(pos_weight is per class and would not match flattened targets)"
            )
        flatten = (pos_weight is None) if flatten is None else flatten
        super().__init__(
            nn.BCEWithLogitsLoss,
            *args,
            axis=axis,
            floatify=floatify,
            is_2d=False,
            flatten=flatten,
            weight=weight,
            reduction=reduction,
            pos_weight=pos_weight,
            **kwargs,
        )
        self.thresh = thresh

    def activation(self, x: torch.Tensor) -> torch.Tensor:
        """Sigmoid: one probability per label."""
        return torch.sigmoid(x)

    def decodes(self, x: torch.Tensor) -> torch.Tensor:
        """Booleans: probability above `thresh`."""
        return x > self.thresh


@register_loss
def BCELossFlat(*args: Any, axis: int = -1, floatify: bool = True, **kwargs: Any) -> BaseLoss:
    """`nn.BCELoss` (on probabilities) over flattened predictions and targets."""
    return BaseLoss(nn.BCELoss, *args, axis=axis, floatify=floatify, is_2d=False, **kwargs)


@register_loss
def MSELossFlat(*args: Any, axis: int = -1, floatify: bool = True, **kwargs: Any) -> BaseLoss:
    """`nn.MSELoss` over flattened predictions and targets (regression)."""
    return BaseLoss(nn.MSELoss, *args, axis=axis, floatify=floatify, is_2d=False, **kwargs)


@register_loss
def L1LossFlat(*args: Any, axis: int = -1, floatify: bool = True, **kwargs: Any) -> BaseLoss:
    """`nn.L1Loss` over flattened predictions and targets (regression)."""
    return BaseLoss(nn.L1Loss, *args, axis=axis, floatify=floatify, is_2d=False, **kwargs)


def _reduce(loss: torch.Tensor, reduction: str, who: str) -> torch.Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{who}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


@register_loss
class FocalLoss(Module):
    """Focal loss: cross entropy scaled by (1 - p_t)**gamma, to focus on hard examples."""

    y_int = True
    weight: torch.Tensor | None

    def __init__(
        self, gamma: float = 2.0, weight: torch.Tensor | None = None, reduction: str = "mean"
    ) -> None:
        self.gamma, self.reduction = gamma, reduction
        self.register_buffer("weight", weight)

    def forward(self, inp: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
        ce = F.cross_entropy(inp, targ, weight=self.weight, reduction="none")
        p_t = torch.exp(-ce)
        return _reduce((1 - p_t) ** self.gamma * ce, self.reduction, "FocalLoss")


@register_loss
class FocalLossFlat(BaseLoss):
    """`FocalLoss` over flattened predictions; classes on `axis`."""

    y_int = True

    def __init__(
        self,
        *args: Any,
        gamma: float = 2.0,
        axis: int = -1,
        weight: torch.Tensor | None = None,
        reduction: str = "mean",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            FocalLoss, *args, gamma=gamma, axis=axis, weight=weight, reduction=reduction, **kwargs
        )

    def activation(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax over the class axis."""
        return F.softmax(x, dim=self.axis)

    def decodes(self, x: torch.Tensor) -> torch.Tensor:
        """Index of the most likely class."""
        return x.argmax(dim=self.axis)


@register_loss
class LabelSmoothingCrossEntropy(Module):
    """Cross entropy against targets smoothed by `eps`: (1-eps)·NLL + eps·mean over classes of -log p."""

    y_int = True
    weight: torch.Tensor | None

    def __init__(self, eps: float = 0.1, weight: torch.Tensor | None = None, reduction: str = "mean") -> None:
        self.eps, self.reduction = eps, reduction
        self.register_buffer("weight", weight)

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        c = output.size(1)
        log_preds = F.log_softmax(output, dim=1)
        smooth = _reduce(-log_preds.sum(dim=1), self.reduction, "LabelSmoothingCrossEntropy")
        nll = F.nll_loss(log_preds, target.long(), weight=self.weight, reduction=self.reduction)
        return smooth * self.eps / c + (1 - self.eps) * nll

    def activation(self, out: torch.Tensor) -> torch.Tensor:
        """Softmax over the last axis."""
        return F.softmax(out, dim=-1)

    def decodes(self, out: torch.Tensor) -> torch.Tensor:
        """Index of the most likely class."""
        return out.argmax(dim=-1)


@register_loss
class LabelSmoothingCrossEntropyFlat(BaseLoss):
    """`LabelSmoothingCrossEntropy` over flattened predictions; classes on `axis`."""

    y_int = True

    def __init__(
        self,
        *args: Any,
        axis: int = -1,
        eps: float = 0.1,
        weight: torch.Tensor | None = None,
        reduction: str = "mean",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            LabelSmoothingCrossEntropy,
            *args,
            axis=axis,
            eps=eps,
            weight=weight,
            reduction=reduction,
            **kwargs,
        )

    def activation(self, out: torch.Tensor) -> torch.Tensor:
        """Softmax over the class axis."""
        return F.softmax(out, dim=self.axis)

    def decodes(self, out: torch.Tensor) -> torch.Tensor:
        """Index of the most likely class."""
        return out.argmax(dim=self.axis)


@register_loss
class DiceLoss:
    """Dice loss for segmentation: 1 - (2·|P∩T| + smooth) / (|P| + |T| + smooth) per item and class.

    Predictions are raw scores with classes on `axis` (softmax is applied); targets are class
    indices (one-hot encoded here).
    """

    y_int = True

    def __init__(
        self, axis: int = 1, smooth: float = 1e-6, reduction: str = "sum", square_in_union: bool = False
    ) -> None:
        self.axis, self.smooth, self.reduction, self.square_in_union = (
            axis,
            smooth,
            reduction,
            square_in_union,
        )

    def __call__(self, pred: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
        """The dice loss of raw scores `pred` (bs, c, ...) against class indices `targ` (bs, ...)."""
        pred, targ = _plain(pred), _plain(targ)
        targ = self._one_hot(targ, pred.shape[self.axis], self.axis)
        if pred.shape != targ.shape:
            raise ValueError(
                f"DiceLoss: prediction shape {tuple(pred.shape)} does not match the one-hot target "
                f"shape {tuple(targ.shape)} (targets must be class indices, not one-hot)"
            )
        pred = self.activation(pred)
        sum_dims = list(range(2, pred.dim()))
        inter = torch.sum(pred * targ, dim=sum_dims)
        union = torch.sum(pred**2 + targ if self.square_in_union else pred + targ, dim=sum_dims)
        dice = (2.0 * inter + self.smooth) / (union + self.smooth)
        return _reduce(1 - dice, self.reduction, "DiceLoss")

    @staticmethod
    def _one_hot(x: torch.Tensor, classes: int, axis: int = 1) -> torch.Tensor:
        return torch.stack([torch.where(x == c, 1, 0) for c in range(classes)], dim=axis)

    def activation(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax over the class axis."""
        return F.softmax(x, dim=self.axis)

    def decodes(self, x: torch.Tensor) -> torch.Tensor:
        """Index of the most likely class."""
        return x.argmax(dim=self.axis)


class NoneReduce:
    """Context manager giving `loss_func` with reduction 'none' (per-item losses), restored on exit.

    Losses with a `reduction` attribute are switched in place; plain functions are wrapped with
    `reduction='none'`.
    """

    def __init__(self, loss_func: Callable[..., torch.Tensor]) -> None:
        self.loss_func, self.old_reduction = loss_func, None

    def __enter__(self) -> Callable[..., torch.Tensor]:
        if hasattr(self.loss_func, "reduction"):
            self.old_reduction = self.loss_func.reduction
            self.loss_func.reduction = "none"
            return self.loss_func
        return functools.partial(self.loss_func, reduction="none")

    def __exit__(self, *exc: object) -> None:
        if self.old_reduction is not None:
            self.loss_func.reduction = self.old_reduction  # type: ignore[attr-defined]
