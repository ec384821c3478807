"""Batch augmentation on the GPU (or CPU): every geometric transform of a batch, one interpolation.

`AffineCoordTfm` draws one 3x3 matrix per item from each of its geometry sources (flip, dihedral,
rotation, zoom, perspective warp, random resized crop), multiplies them and resamples images with
ONE `grid_sample` (bilinear), masks with one nearest-neighbour `grid_sample`, and moves points and
boxes through the inverse matrix. The single-purpose transforms (`Flip`, `Rotate`, `Zoom`,
`Warp`, `Dihedral`, `RandomResizedCropGPU`) are `AffineCoordTfm`s with one source; next to each
other in a Pipeline they fuse into one (`fuse`), so a user's list of them still costs one
interpolation. All of them run on the training split only (`split_idx = 0`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

import torch
from plies.pipes import DisplayedTransform, register_transform
from plies.typecore import TensorBBox, TensorImage, TensorMask, TensorMultiCategory, TensorPoint
from torch import Tensor

from ._geometry import (
    dihedral_mat,
    flip_mat,
    perspective_mat,
    rotate_mat,
    sample_batch,
    warp_points,
    zoom_mat,
)

__all__ = [
    "RandTransform",
    "AffineCoordTfm",
    "Flip",
    "Dihedral",
    "Rotate",
    "Zoom",
    "Warp",
    "RandomResizedCropGPU",
]


class RandTransform(DisplayedTransform):
    """A transform applied with probability `p` to a whole batch (or item), on the training split only.

    `before_call(b, split_idx)` draws the random state once per call, before `encodes` runs on
    each element of the tuple, so an image and its mask get the same draw.
    """

    split_idx: int | None = 0

    def __init__(self, p: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0 <= p <= 1:
            raise ValueError(f"{type(self).__name__}: p must be a probability in [0, 1], found {p!r}")
        self.p, self.do = p, True

    def before_call(self, b: Any, split_idx: int | None) -> None:
        """Draw whether to apply the transform this time (`self.do`)."""
        self.do = self.p == 1.0 or random.random() < self.p

    def __call__(self, b: Any, split_idx: int | None = None, **kwargs: Any) -> Any:
        """Draw the random state, then apply `encodes` element-wise when drawn (training split only)."""
        if self.split_idx is not None and split_idx != self.split_idx:
            return b
        self.before_call(b, split_idx)
        return super().__call__(b, split_idx=split_idx, **kwargs) if self.do else b


def _batch_info(b: Any) -> tuple[int, torch.device, tuple[int, int] | None]:
    """(batch size, device, image size) of the first image/mask/point tensor in the batch `b`."""
    items = b if isinstance(b, tuple) else (b,)
    for o in items:
        if isinstance(o, (TensorImage, TensorMask)):
            return o.shape[0], o.device, tuple(o.shape[-2:])
    for o in items:
        if isinstance(o, Tensor) and o.ndim > 0:
            return o.shape[0], o.device, None
    raise TypeError(
        f"batch augmentation: no tensor found in the batch (types {[type(o).__name__ for o in items]})"
    )


def _uniform(bs: int, lo: float, hi: float, device: torch.device) -> Tensor:
    return torch.empty(bs, device=device).uniform_(lo, hi)


def _applied(bs: int, p: float, device: torch.device) -> Tensor:
    """A boolean mask of the items (each with probability `p`) a random transform is applied to."""
    if p >= 1:
        return torch.ones(bs, dtype=torch.bool, device=device)
    return torch.rand(bs, device=device) < p


def _where_identity(mask: Tensor, mats: Tensor) -> Tensor:
    eye = torch.eye(3, dtype=mats.dtype, device=mats.device)
    return torch.where(mask[:, None, None], mats, eye)


_SOURCE_KINDS: dict[str, type[_Source]] = {}


class _Source:
    """A source of random parameters of a batch transform; shows as `Name(arg=value, ...)`.

    Its attributes are its constructor's arguments, plain numbers: `spec()` describes it as a dict
    (`{"kind": "Rotate", "max_deg": 10.0, "p": 0.75}`) that `_as_sources` builds it back from, so a
    fused transform records plain data and exports without pickle.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _SOURCE_KINDS[cls._kind()] = cls

    @classmethod
    def _kind(cls) -> str:
        return cls.__name__.strip("_").removesuffix("Source")

    def spec(self) -> dict[str, Any]:
        """The source as plain data: its kind and constructor arguments."""
        return {"kind": self._kind(), **vars(self)}

    @staticmethod
    def _prob(p: float, who: str) -> float:
        if not 0 <= p <= 1:
            raise ValueError(f"{who}: p must be a probability in [0, 1], found {p!r}")
        return p

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{self._kind()}({args})"


def _as_sources(items: Sequence[Any], who: str) -> list[Any]:
    """Source objects from sources or their `spec()` dicts."""
    out = []
    for i, s in enumerate(items):
        if isinstance(s, _Source):
            out.append(s)
        elif isinstance(s, dict) and s.get("kind") in _SOURCE_KINDS:
            out.append(_SOURCE_KINDS[s["kind"]](**{k: v for k, v in s.items() if k != "kind"}))
        else:
            raise TypeError(
                f"{who}: sources[{i}] must be a source or its spec dict with a 'kind' among "
                f"{sorted(_SOURCE_KINDS)}, found {s!r:.80}"
            )
    return out


class _MatSource(_Source):
    """A random geometry: `draw(bs, device, size)` returns (bs, 3, 3) output -> input matrices;
    `valid(bs, device, size)` the deterministic ones of the validation split (the identity)."""

    def valid(
        self, bs: int, device: torch.device, size: tuple[int, int] | None, out: tuple[int, int]
    ) -> Tensor:
        return torch.eye(3, device=device).expand(bs, 3, 3)

    def draw(self, bs: int, device: torch.device, size: tuple[int, int] | None) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.draw")


class _FlipSource(_MatSource):
    def __init__(self, p: float) -> None:
        self.p = self._prob(p, "Flip")

    def draw(self, bs: int, device: torch.device, size: tuple[int, int] | None) -> Tensor:
        return flip_mat(_applied(bs, self.p, device))


class _DihedralSource(_MatSource):
    def __init__(self, p: float) -> None:
        self.p = self._prob(p, "Dihedral")

    def draw(self, bs: int, device: torch.device, size: tuple[int, int] | None) -> Tensor:
        k = torch.randint(0, 8, (bs,), device=device)
        return dihedral_mat(torch.where(_applied(bs, self.p, device), k, torch.zeros_like(k)))


class _RotateSource(_MatSource):
    def __init__(self, max_deg: float, p: float) -> None:
        self.max_deg, self.p = max_deg, self._prob(p, "Rotate")

    def draw(self, bs: int, device: torch.device, size: tuple[int, int] | None) -> Tensor:
        deg = _uniform(bs, -self.max_deg, self.max_deg, device)
        mats = rotate_mat(deg)
        if size is not None and size[0] != size[1]:
            # rotate in square pixel units: normalised x and y have different scales
            h, w = size
            scale = torch.diag(torch.tensor([w / 2, h / 2, 1.0], device=device))
            mats = torch.linalg.inv(scale) @ mats @ scale
        return _where_identity(_applied(bs, self.p, device), mats)


class _ZoomSource(_MatSource):
    def __init__(self, min_zoom: float, max_zoom: float, p: float) -> None:
        self.min_zoom, self.max_zoom, self.p = min_zoom, max_zoom, self._prob(p, "Zoom")

    def draw(self, bs: int, device: torch.device, size: tuple[int, int] | None) -> Tensor:
        scale = _uniform(bs, self.min_zoom, self.max_zoom, device)
        mats = zoom_mat(scale, _uniform(bs, 0, 1, device), _uniform(bs, 0, 1, device))
        return _where_identity(_applied(bs, self.p, device), mats)


_CORNERS = ((-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0))


class _WarpSource(_MatSource):
    def __init__(self, magnitude: float, p: float) -> None:
        self.magnitude, self.p = magnitude, self._prob(p, "Warp")

    def draw(self, bs: int, device: torch.device, size: tuple[int, int] | None) -> Tensor:
        # as fastai: the two sides move towards or away from each other by up to `magnitude`
        mag_x = _uniform(bs, -self.magnitude, self.magnitude, device)
        mag_y = _uniform(bs, -self.magnitude, self.magnitude, device)
        src = torch.tensor(_CORNERS, device=device).expand(bs, 4, 2)
        dst = src.clone()
        dst[:, :, 0] = dst[:, :, 0] * (1 + mag_y[:, None] * src[:, :, 1])
        dst[:, :, 1] = dst[:, :, 1] * (1 + mag_x[:, None] * src[:, :, 0])
        return _where_identity(_applied(bs, self.p, device), perspective_mat(src, dst))


class _ResizedCropSource(_MatSource):
    def __init__(self, min_scale: float, ratio: tuple[float, float]) -> None:
        self.min_scale, self.ratio = min_scale, (float(ratio[0]), float(ratio[1]))

    def draw(self, bs: int, device: torch.device, size: tuple[int, int] | None) -> Tensor:
        area = _uniform(bs, self.min_scale, 1.0, device)
        log_r = _uniform(bs, math.log(self.ratio[0]), math.log(self.ratio[1]), device)
        ratio = log_r.exp()
        w = (area * ratio).sqrt().clamp(max=1.0)
        h = (area / ratio).sqrt().clamp(max=1.0)
        cx = (1 - w) * _uniform(bs, -1, 1, device)
        cy = (1 - h) * _uniform(bs, -1, 1, device)
        zero = torch.zeros_like(w)
        one = torch.ones_like(w)
        return torch.stack([w, zero, cx, zero, h, cy, zero, zero, one], 1).view(bs, 3, 3)

    def valid(
        self, bs: int, device: torch.device, size: tuple[int, int] | None, out: tuple[int, int]
    ) -> Tensor:
        """The centre crop of the output's aspect ratio (the largest that fits)."""
        if size is None:
            return super().valid(bs, device, size, out)
        (h, w), (oh, ow) = size, out
        r_in, r_out = w / h, ow / oh
        sx, sy = (r_out / r_in, 1.0) if r_in > r_out else (1.0, r_in / r_out)
        return torch.diag(torch.tensor([sx, sy, 1.0], device=device)).expand(bs, 3, 3)


class AffineCoordTfm(RandTransform):
    """Apply the product of the matrices of `sources` to a batch with one resampling.

    Images: `mode` (bilinear) interpolation; masks: nearest; points and boxes: exact coordinates.
    `size` (int or (h, w)) sets the output size (one resize in the same interpolation).
    Boxes are clipped to the image; a box left empty becomes padding (zeros, label 0).
    The random geometry runs on the training split only; on the others a transform with a `size`
    still resizes (a random resized crop takes the centre crop), so both splits reach the model
    at one size; without a `size` it leaves them alone.
    """

    order = 30
    split_idx = None  # draws on split 0, resizes the others (see `before_call`)

    def __init__(
        self,
        sources: Sequence[Any] = (),
        size: int | tuple[int, int] | None = None,
        mode: str = "bilinear",
        pad_mode: str = "reflection",
        mode_mask: str = "nearest",
        batch: bool = False,
        align_corners: bool = False,
    ) -> None:
        super().__init__(p=1.0)
        if mode not in ("bilinear", "nearest", "bicubic"):
            raise ValueError(
                f"{type(self).__name__}: mode must be 'bilinear', 'nearest' or 'bicubic', found {mode!r}"
            )
        if pad_mode not in ("zeros", "border", "reflection"):
            raise ValueError(
                f"{type(self).__name__}: pad_mode must be 'zeros', 'border' or 'reflection', "
                f"found {pad_mode!r}"
            )
        self.sources = _as_sources(sources, type(self).__name__)
        self.size = (size, size) if isinstance(size, int) else (None if size is None else tuple(size))
        self.mode, self.pad_mode, self.mode_mask = mode, pad_mode, mode_mask
        self.batch, self.align_corners = batch, align_corners
        self.mats: Tensor | None = None

    def fuse(self, other: Any) -> AffineCoordTfm | None:
        """One transform doing `self` then `other` (both geometric, same modes), else None."""
        settings = ("mode", "pad_mode", "mode_mask", "batch", "align_corners")
        if not isinstance(other, AffineCoordTfm) or any(
            getattr(self, k) != getattr(other, k) for k in settings
        ):
            return None
        if self.size is not None and other.size is not None and self.size != other.size:
            return None
        return AffineCoordTfm(
            [src.spec() for src in self.sources + other.sources],
            size=other.size or self.size,
            **{k: getattr(self, k) for k in settings},
        )

    def before_call(self, b: Any, split_idx: int | None) -> None:
        """Draw the batch's matrices (training split): one per item, the product of every source's.

        On the other splits: the sources' deterministic matrices when there is a `size` to reach,
        else nothing to do.
        """
        bs, device, size = _batch_info(b)
        training = split_idx == 0
        if not training and self.size is None:
            self.do = False
            return
        n = 1 if self.batch or not training else bs
        mats = torch.eye(3, device=device).expand(n, 3, 3)
        for src in self.sources:
            mats = mats @ (src.draw(n, device, size) if training else src.valid(n, device, size, self.size))
        self.mats, self.do = mats.expand(bs, 3, 3), True

    def __call__(self, b: Any, split_idx: int | None = None, **kwargs: Any) -> Any:
        """Apply to every element of `b`; boxes emptied by the transform lose their labels."""
        res = super().__call__(b, split_idx=split_idx, **kwargs)
        if isinstance(res, tuple) and res is not b:
            res = _drop_empty_box_labels(res)
        return res

    def _out_size(self, x: Tensor) -> tuple[int, int]:
        return self.size if self.size is not None else tuple(x.shape[-2:])

    # the work runs on plain views (`_plain`): no __torch_function__ dispatch per op; the return
    # annotation gives the result its type back
    def encodes(self, x: TensorImage) -> TensorImage:
        return sample_batch(
            _plain(x), self.mats, self._out_size(x), self.mode, self.pad_mode, self.align_corners
        )

    def encodes(self, x: TensorMask) -> TensorMask:
        size = self._out_size(x)
        res = sample_batch(
            _plain(x)[:, None], self.mats, size, self.mode_mask, self.pad_mode, self.align_corners
        )
        return res[:, 0]

    def encodes(self, x: TensorPoint) -> TensorPoint:
        return warp_points(self.mats, _plain(x))

    def encodes(self, x: TensorBBox) -> TensorBBox:
        return _warp_boxes(self.mats, _plain(x))


def _plain(x: Tensor) -> Tensor:
    return x.as_subclass(Tensor)


def _warp_boxes(mats: Tensor, boxes: Tensor) -> Tensor:
    """Boxes (bs, n, 4: x1, y1, x2, y2) through `mats`: the bounding box of the 4 moved corners, clipped."""
    bs, n = boxes.shape[:2]
    x1, y1, x2, y2 = boxes.unbind(-1)
    corners = torch.stack([torch.stack(c, -1) for c in ((x1, y1), (x2, y1), (x2, y2), (x1, y2))], 2)
    moved = warp_points(mats, corners.view(bs, n * 4, 2)).view(bs, n, 4, 2)
    lo, hi = moved.amin(2).clamp(-1, 1), moved.amax(2).clamp(-1, 1)
    res = torch.cat([lo, hi], -1)
    empty = ((hi - lo) <= 0).any(-1) | (boxes == 0).all(-1)
    return res.masked_fill(empty[..., None], 0.0)


def _drop_empty_box_labels(b: tuple) -> tuple:
    """Set to 0 (padding) the labels of boxes that are all zeros (emptied or padding)."""
    boxes = next((o for o in b if isinstance(o, TensorBBox)), None)
    if boxes is None:
        return b
    empty = (boxes == 0).all(-1)
    out = []
    for o in b:
        if isinstance(o, TensorMultiCategory) and o.shape == empty.shape and not o.is_floating_point():
            o = o.masked_fill(empty, 0)
        out.append(o)
    return type(b)(out) if type(b) is tuple else b.__class__(out)


class Flip(AffineCoordTfm):
    """Random horizontal flip of each item with probability `p` (vertical flips: see `Dihedral`)."""

    def __init__(self, p: float = 0.5, size: int | tuple[int, int] | None = None, **kwargs: Any) -> None:
        super().__init__([_FlipSource(p)], size=size, **kwargs)


class Dihedral(AffineCoordTfm):
    """Random dihedral symmetry (flips and quarter turns: 8 choices) of each item, probability `p`."""

    def __init__(self, p: float = 0.5, size: int | tuple[int, int] | None = None, **kwargs: Any) -> None:
        super().__init__([_DihedralSource(p)], size=size, **kwargs)


class Rotate(AffineCoordTfm):
    """Random rotation of each item by up to `max_deg` degrees either way, with probability `p`."""

    def __init__(
        self, max_deg: float = 10.0, p: float = 0.5, size: int | tuple[int, int] | None = None, **kwargs: Any
    ) -> None:
        super().__init__([_RotateSource(max_deg, p)], size=size, **kwargs)


class Zoom(AffineCoordTfm):
    """Random zoom of each item by a factor in [`min_zoom`, `max_zoom`] at a random centre, prob. `p`."""

    def __init__(
        self,
        min_zoom: float = 1.0,
        max_zoom: float = 1.1,
        p: float = 0.5,
        size: int | tuple[int, int] | None = None,
        **kwargs: Any,
    ) -> None:
        if not 0 < min_zoom <= max_zoom:
            raise ValueError(f"Zoom: need 0 < min_zoom <= max_zoom, found {min_zoom} and {max_zoom}")
        super().__init__([_ZoomSource(min_zoom, max_zoom, p)], size=size, **kwargs)


class Warp(AffineCoordTfm):
    """Random perspective warp of each item (sides moved by up to `magnitude`), probability `p`."""

    def __init__(
        self, magnitude: float = 0.2, p: float = 0.5, size: int | tuple[int, int] | None = None, **kwargs: Any
    ) -> None:
        super().__init__([_WarpSource(magnitude, p)], size=size, **kwargs)


class RandomResizedCropGPU(AffineCoordTfm):
    """Random crop of `min_scale`..1 of each item's area (aspect `ratio`), resized to `size`, on the batch."""

    def __init__(
        self,
        size: int | tuple[int, int],
        min_scale: float = 0.08,
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        **kwargs: Any,
    ) -> None:
        if not 0 < min_scale <= 1:
            raise ValueError(f"RandomResizedCropGPU: min_scale must be in (0, 1], found {min_scale}")
        super().__init__([_ResizedCropSource(min_scale, ratio)], size=size, **kwargs)


for _cls in (AffineCoordTfm, Flip, Dihedral, Rotate, Zoom, Warp, RandomResizedCropGPU):
    register_transform(_cls, name=f"plies.vision.{_cls.__name__}")
