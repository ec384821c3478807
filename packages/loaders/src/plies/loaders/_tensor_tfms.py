"""Tensor transforms of the mid-level API: `ToTensor`, `IntToFloatTensor` and `Normalize`.

Each says by type dispatch (the annotation of its `encodes`/`decodes`) which semantic family it
acts on, never "any TensorBase": images (`TensorImage`) are scaled to floats and normalised,
masks (`TensorMask`) stay integer class codes, and points, boxes, texts, categories and plain
tensors pass through untouched. Their state is plain data (numbers, tensors), so a pipeline
holding them exports without pickle.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from plies.pipes import DisplayedTransform, Transform, register_transform
from plies.typecore import TensorBase, TensorImage, TensorMask

__all__ = ["ToTensor", "IntToFloatTensor", "Normalize", "broadcast_vec"]


@register_transform
class ToTensor(Transform):
    """Convert an item to a tensor: numpy arrays become `TensorBase` (apps add their types, e.g. images)."""

    order = 5

    def encodes(self, o: np.ndarray) -> TensorBase:
        return TensorBase(torch.from_numpy(o))


def _whole_div_mask(div_mask: float) -> int:
    """`div_mask` as a positive int; masks are integer class codes, so only whole divisors keep them exact."""
    if isinstance(div_mask, bool) or not isinstance(div_mask, (int, float)) or div_mask <= 0:
        raise ValueError(f"IntToFloatTensor: div_mask must be a positive whole number, got {div_mask!r}")
    if div_mask != int(div_mask):
        raise ValueError(
            f"IntToFloatTensor: div_mask must be a positive whole number (masks stay integer class codes), "
            f"got {div_mask!r}"
        )
    return int(div_mask)


@register_transform
class IntToFloatTensor(DisplayedTransform):
    """Integer images (`TensorImage`) to floats divided by `div`; masks stay integer; decode undoes it.

    Acts by type: an integer `TensorImage` (`TensorImageBW` too) becomes float32 divided by `div`
    (a float image is already scaled and passes through); a `TensorMask` stays integer class
    codes: int64, divided by `div_mask` with whole-number division (fastai's argument, default 1:
    the codes are kept; e.g. 255 maps a 0/255 mask to 0/1); a float mask raises TypeError.
    Points, boxes, texts, categories and any other tensor pass through untouched. Decoding
    mirrors it: images back to integers (`clamp(0, 1) * div`, rounded), masks times `div_mask`.
    """

    order = 10

    def __init__(self, div: float = 255.0, div_mask: int = 1) -> None:
        super().__init__()
        self.div, self.div_mask = div, _whole_div_mask(div_mask)

    _state_attrs = ("div", "div_mask")

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict()` output, `div_mask` checked (and made an int) as by the constructor."""
        super().load_state_dict(state)
        self.div_mask = _whole_div_mask(self.div_mask)

    def encodes(self, o: TensorImage):
        if o.is_floating_point():
            return o
        return o.float().div_(self.div)

    def encodes(self, o: TensorMask):  # noqa: F811 (a second implementation, dispatched by type)
        if o.is_floating_point():  # fastai truncates it; a mask of 0.5s would silently become 0s
            raise TypeError(
                f"IntToFloatTensor: a TensorMask holds integer class codes, got dtype {o.dtype}; "
                "make it an integer tensor when creating it"
            )
        o = o.long()
        return o if self.div_mask == 1 else torch.div(o, self.div_mask, rounding_mode="floor")

    def decodes(self, o: TensorImage):
        if not o.is_floating_point() or not self.div:
            return o
        # rounded, not truncated as fastai does: after Normalize's round trip 47 comes back as 46.99998
        return (o.clamp(0.0, 1.0) * self.div).round().long()

    def decodes(self, o: TensorMask):  # noqa: F811
        return o if self.div_mask == 1 or o.is_floating_point() else o * self.div_mask


def broadcast_vec(dim: int, ndim: int, *t: Any, cuda: bool = True) -> list[torch.Tensor]:
    """Make each of `t` a float tensor of `ndim` dims with its values along `dim` (e.g. per-channel stats)."""
    v = [1] * ndim
    v[dim] = -1
    return [torch.as_tensor(o, dtype=torch.float32).view(*v) for o in t]


@register_transform
class Normalize(DisplayedTransform):
    """Normalise images (`TensorImage`) by `mean`/`std` (from one training batch when not given); decodes.

    Acts on `TensorImage` only (`TensorImageBW` too): masks, points, boxes, texts, categories and
    plain tensors pass through untouched. The statistics come from the first `TensorImage` of one
    batch (over `axes`: per channel by default); a batch without one warns, and the transform then
    leaves the data as it is. Stats are kept on the CPU and moved to the batch's device when used.
    """

    order = 99

    def __init__(self, mean: Any = None, std: Any = None, axes: Sequence[int] = (0, 2, 3)) -> None:
        super().__init__()
        self.mean = None if mean is None else torch.as_tensor(mean, dtype=torch.float32)
        self.std = None if std is None else torch.as_tensor(std, dtype=torch.float32)
        self.axes = tuple(axes)

    @classmethod
    def from_stats(cls, mean: Any, std: Any, dim: int = 1, ndim: int = 4, cuda: bool = True) -> Normalize:
        """A Normalize with per-channel `mean`/`std` shaped to broadcast over `ndim`-dim batches at `dim`."""
        m, s = broadcast_vec(dim, ndim, mean, std)
        return cls(m, s)

    def setups(self, dl: Any):
        if self.mean is not None and self.std is not None:
            return
        if dl is None or not hasattr(dl, "one_batch"):
            raise ValueError(
                "Normalize: no mean/std given and nothing to compute them from; pass mean= and std= "
                "or use it in a DataLoader's after_batch (stats come from one training batch)"
            )
        b = dl.one_batch()
        fields = b if isinstance(b, (tuple, list)) else (b,)
        x = next((o for o in fields if isinstance(o, TensorImage)), None)
        if x is None:
            found = ", ".join(type(o).__name__ for o in fields)
            warnings.warn(
                f"Normalize: the batch holds no TensorImage (found {found}) and Normalize acts on images "
                "only, so it will leave this data unchanged; make the inputs TensorImage or remove Normalize",
                stacklevel=2,
            )
            return
        axes = tuple(a for a in self.axes if a < x.ndim)
        x = x.float().as_subclass(torch.Tensor).cpu()
        self.mean, self.std = x.mean(axes, keepdim=True), x.std(axes, keepdim=True) + 1e-7

    def encodes(self, x: TensorImage):
        mean, std = self.mean, self.std
        if mean is None or std is None:
            return x
        return (x - mean.to(x.device)) / std.to(x.device)

    def decodes(self, x: TensorImage):
        mean, std = self.mean, self.std
        if mean is None or std is None:
            return x
        return x * std.to(x.device) + mean.to(x.device)

    def state_dict(self) -> dict[str, Any]:
        """mean, std (plain tensors or None) and axes."""
        return {
            "split_idx": self.split_idx,
            "order": self.order,
            "mean": self.mean,
            "std": self.std,
            "axes": list(self.axes),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict()` output."""
        self.split_idx, self.order = state.get("split_idx"), state.get("order", self.order)
        self.mean, self.std, self.axes = state["mean"], state["std"], tuple(state["axes"])
