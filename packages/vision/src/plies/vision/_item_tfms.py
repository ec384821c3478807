"""Item transforms that change an image's size: `Resize`, `RandomResizedCrop`, `RandomCrop`, `CropPad`.

Each draws (or computes) one window in the original image's pixels, possibly reaching outside
it (padding), and an output size; the image is then cut and resized in ONE Pillow call (masks
with nearest neighbour), and the points and boxes of the same item move with the window. Points
and boxes are in normalised coordinates (-1..1, see `PointScaler`), so a window change is an
affine map of them. The window is drawn once per item, before any element is transformed.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from plies.pipes import DisplayedTransform, register_transform
from plies.typecore import TensorBBox, TensorImageBase, TensorMask, TensorPoint

from ._core import PILBase, PILMask

__all__ = ["Resize", "RandomResizedCrop", "RandomCrop", "CropPad", "ResizeMethod", "PadMode"]


class ResizeMethod:
    """How `Resize` fits an image to the size: crop to the aspect ratio, pad to it, or squish it."""

    Crop, Pad, Squish = "crop", "pad", "squish"


class PadMode:
    """How padding is filled: zeros, the border pixels repeated, or a reflection of the image."""

    Zeros, Border, Reflection = "zeros", "border", "reflection"


_NP_PAD = {"zeros": "constant", "border": "edge", "reflection": "reflect"}
_RESAMPLE = {"bilinear": Image.BILINEAR, "nearest": Image.NEAREST, "bicubic": Image.BICUBIC}


def _size2(size: Any, who: str) -> tuple[int, int]:
    """`size` as (height, width): an int is a square."""
    pair = (size, size) if isinstance(size, int) and not isinstance(size, bool) else size
    ok = isinstance(pair, (tuple, list)) and len(pair) == 2
    if not (ok and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in pair)):
        raise ValueError(f"{who}: size must be a positive int or (height, width), found {size!r}")
    return int(pair[0]), int(pair[1])


def _image_size(b: Any) -> tuple[int, int] | None:
    """(width, height) of the first image or mask of the item `b` (a tuple or one element)."""
    for o in b if isinstance(b, tuple) else (b,):
        if isinstance(o, Image.Image):
            return o.size
        if isinstance(o, TensorImageBase):
            return int(o.shape[-1]), int(o.shape[-2])
    return None


class _WindowTfm(DisplayedTransform):
    """Base: draw a window (x0, y0, x1, y1) in the item's pixels and an output size, then apply it."""

    order = 1
    split_idx: int | None = None

    def __init__(
        self, size: Any, pad_mode: str = "reflection", resamples: tuple[str, str] = ("bilinear", "nearest")
    ) -> None:
        super().__init__()
        self.size = _size2(size, type(self).__name__)
        if pad_mode not in _NP_PAD:
            raise ValueError(
                f"{type(self).__name__}: pad_mode must be one of {list(_NP_PAD)}, found {pad_mode!r}"
            )
        bad = [r for r in resamples if r not in _RESAMPLE]
        if bad:
            raise ValueError(f"{type(self).__name__}: resamples must be among {list(_RESAMPLE)}, found {bad}")
        self.pad_mode, self.resamples = pad_mode, tuple(resamples)
        self.window: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
        self.orig: tuple[int, int] = (1, 1)

    def window_for(self, w: int, h: int, split_idx: int | None) -> tuple[float, float, float, float]:
        """The window (x0, y0, x1, y1) in pixels of a `w` x `h` image."""
        raise NotImplementedError(f"{type(self).__name__}.window_for")

    def __call__(self, b: Any, split_idx: int | None = None, **kwargs: Any) -> Any:
        """Draw the item's window from its image's size, then apply it to every element."""
        if self.split_idx is not None and split_idx != self.split_idx:
            return b
        size = _image_size(b)
        if size is None:  # points or boxes alone: no image to size the window from
            return b
        self.orig = size
        self.window = self.window_for(size[0], size[1], split_idx)
        return super().__call__(b, split_idx=split_idx, **kwargs)

    def _out_wh(self) -> tuple[int, int]:
        return self.size[1], self.size[0]

    def encodes(self, x: PILBase) -> PILBase:
        resample = _RESAMPLE[self.resamples[1 if isinstance(x, PILMask) else 0]]
        return _cut_resize_pil(x, self.window, self._out_wh(), resample, self.pad_mode)

    def encodes(self, x: TensorImageBase):  # no return annotation: an image stays an image, a mask a mask
        mode = "nearest" if isinstance(x, TensorMask) else self.resamples[0]
        return _cut_resize_tensor(x, self.window, self._out_wh(), mode, self.pad_mode)

    def encodes(self, x: TensorPoint) -> TensorPoint:
        return _move_points(x, self.window, self.orig)

    def encodes(self, x: TensorBBox) -> TensorBBox:
        pts = _move_points(x.view(-1, 2), self.window, self.orig).view(-1, 4)
        lo = torch.minimum(pts[:, :2], pts[:, 2:]).clamp(-1, 1)
        hi = torch.maximum(pts[:, :2], pts[:, 2:]).clamp(-1, 1)
        return torch.cat([lo, hi], 1)


def _move_points(
    p: torch.Tensor, window: tuple[float, float, float, float], orig: tuple[int, int]
) -> torch.Tensor:
    """Normalised points of the original image -> normalised points of the window."""
    x0, y0, x1, y1 = window
    w, h = orig
    plain = p.as_subclass(torch.Tensor).float()
    px = (plain[..., 0] + 1) * (w / 2)
    py = (plain[..., 1] + 1) * (h / 2)
    nx = (px - x0) / (x1 - x0) * 2 - 1
    ny = (py - y0) / (y1 - y0) * 2 - 1
    return torch.stack([nx, ny], -1)


def _pad_amounts(window: tuple[float, float, float, float], w: int, h: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = window
    return (
        max(0, math.ceil(-x0)),
        max(0, math.ceil(-y0)),
        max(0, math.ceil(x1 - w)),
        max(0, math.ceil(y1 - h)),
    )


def _cut_resize_pil(
    img: Image.Image,
    window: tuple[float, float, float, float],
    out_wh: tuple[int, int],
    resample: int,
    pad_mode: str,
) -> Image.Image:
    """`img`'s window (padded where it leaves the image) resized to `out_wh`, in one resampling."""
    w, h = img.size
    left, top, right, bottom = _pad_amounts(window, w, h)
    x0, y0, x1, y1 = window
    if left or top or right or bottom:
        arr = np.asarray(img)
        pads = ((top, bottom), (left, right)) + (((0, 0),) if arr.ndim == 3 else ())
        mode = _NP_PAD[pad_mode]
        if mode == "reflect" and (max(top, bottom) >= h or max(left, right) >= w):
            mode = "edge"  # a reflection cannot be wider than the image itself
        arr = np.pad(arr, pads, mode=mode)
        padded = Image.fromarray(arr, mode=img.mode)
        x0, x1, y0, y1 = x0 + left, x1 + left, y0 + top, y1 + top
    else:
        padded = img
    res = padded.resize(out_wh, resample=resample, box=(x0, y0, x1, y1))
    res.__class__ = type(img)
    return res


def _cut_resize_tensor(
    x: torch.Tensor,
    window: tuple[float, float, float, float],
    out_wh: tuple[int, int],
    mode: str,
    pad_mode: str,
) -> torch.Tensor:
    """The tensor version of `_cut_resize_pil` for (C, H, W) images and (H, W) masks."""
    plain = x.as_subclass(torch.Tensor)
    mask = plain.ndim == 2
    t = plain[None, None] if mask else plain[None]
    h, w = t.shape[-2:]
    left, top, right, bottom = _pad_amounts(window, w, h)
    x0, y0, x1, y1 = window
    dtype = t.dtype
    t = t.float()
    if left or top or right or bottom:
        torch_mode = {"zeros": "constant", "border": "replicate", "reflection": "reflect"}[pad_mode]
        if torch_mode == "reflect" and (max(top, bottom) >= h or max(left, right) >= w):
            torch_mode = "replicate"
        t = F.pad(t, (left, right, top, bottom), mode=torch_mode)
        x0, x1, y0, y1 = x0 + left, x1 + left, y0 + top, y1 + top
    t = t[..., int(math.floor(y0)) : int(math.ceil(y1)), int(math.floor(x0)) : int(math.ceil(x1))]
    ow, oh = out_wh
    if mode == "nearest":
        t = F.interpolate(t, size=(oh, ow), mode="nearest")
    else:
        t = F.interpolate(t, size=(oh, ow), mode=mode, align_corners=False, antialias=True)
    if not dtype.is_floating_point:
        info = torch.iinfo(dtype)
        t = t.round().clamp(info.min, info.max)
    t = t.to(dtype)
    return t[0, 0] if mask else t[0]


class Resize(_WindowTfm):
    """Resize each item to `size` by cropping (random on the training set, centred otherwise), padding
    or squishing (`method`); masks use nearest neighbour; points and boxes follow."""

    def __init__(
        self,
        size: Any,
        method: str = "crop",
        pad_mode: str = "reflection",
        resamples: tuple[str, str] = ("bilinear", "nearest"),
    ) -> None:
        super().__init__(size, pad_mode, resamples)
        if method not in ("crop", "pad", "squish"):
            raise ValueError(f"Resize: method must be 'crop', 'pad' or 'squish', found {method!r}")
        self.method = method

    def window_for(self, w: int, h: int, split_idx: int | None) -> tuple[float, float, float, float]:
        """The part of the image that becomes the output (larger than the image when padding)."""
        oh, ow = self.size
        if self.method == "squish":
            return (0.0, 0.0, float(w), float(h))
        scale = min(w / ow, h / oh) if self.method == "crop" else max(w / ow, h / oh)
        cw, ch = ow * scale, oh * scale
        if self.method == "crop" and split_idx == 0:
            px, py = random.random(), random.random()
        else:
            px = py = 0.5
        x0, y0 = (w - cw) * px, (h - ch) * py
        return (x0, y0, x0 + cw, y0 + ch)


class CropPad(_WindowTfm):
    """Centre-crop or pad each item to `size` (no resizing): pixels keep their scale."""

    def window_for(self, w: int, h: int, split_idx: int | None) -> tuple[float, float, float, float]:
        """A `size` window centred on the image."""
        oh, ow = self.size
        x0, y0 = (w - ow) // 2, (h - oh) // 2
        return (float(x0), float(y0), float(x0 + ow), float(y0 + oh))


class RandomCrop(_WindowTfm):
    """A random `size` crop of each item on the training set (padded when the image is smaller); centred
    on the validation set."""

    def window_for(self, w: int, h: int, split_idx: int | None) -> tuple[float, float, float, float]:
        """A `size` window at a random position (training) or centred."""
        oh, ow = self.size
        if split_idx == 0:
            x0 = random.randint(min(0, w - ow), max(0, w - ow))
            y0 = random.randint(min(0, h - oh), max(0, h - oh))
        else:
            x0, y0 = (w - ow) // 2, (h - oh) // 2
        return (float(x0), float(y0), float(x0 + ow), float(y0 + oh))


class RandomResizedCrop(_WindowTfm):
    """A random crop of `min_scale`..1 of the area with aspect ratio in `ratio`, resized to `size`
    (training set); on the validation set the centre crop of the output's aspect ratio, less
    `val_xtra` of the size at the edges."""

    def __init__(
        self,
        size: Any,
        min_scale: float = 0.08,
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        resamples: tuple[str, str] = ("bilinear", "nearest"),
        val_xtra: float = 0.14,
        max_scale: float = 1.0,
    ) -> None:
        super().__init__(size, "reflection", resamples)
        if not 0 < min_scale <= max_scale <= 1:
            raise ValueError(
                f"RandomResizedCrop: need 0 < min_scale <= max_scale <= 1, found {min_scale}, {max_scale}"
            )
        self.min_scale, self.max_scale, self.ratio, self.val_xtra = (
            min_scale,
            max_scale,
            tuple(ratio),
            val_xtra,
        )

    def window_for(self, w: int, h: int, split_idx: int | None) -> tuple[float, float, float, float]:
        """A random window (training, up to 10 tries, else the centre) or the validation centre crop."""
        if split_idx == 0:
            for _ in range(10):
                area = random.uniform(self.min_scale, self.max_scale) * w * h
                ratio = math.exp(random.uniform(math.log(self.ratio[0]), math.log(self.ratio[1])))
                cw, ch = math.sqrt(area * ratio), math.sqrt(area / ratio)
                if cw <= w and ch <= h:
                    x0, y0 = random.uniform(0, w - cw), random.uniform(0, h - ch)
                    return (x0, y0, x0 + cw, y0 + ch)
        oh, ow = self.size
        scale = min(w / ow, h / oh) / (1 + self.val_xtra if split_idx == 1 else 1.0)
        cw, ch = ow * scale, oh * scale
        x0, y0 = (w - cw) / 2, (h - ch) / 2
        return (x0, y0, x0 + cw, y0 + ch)


# the validation split runs them too (a centre crop, a resize): an exported pipeline names them
for _cls in (Resize, CropPad, RandomCrop, RandomResizedCrop):
    register_transform(_cls)
