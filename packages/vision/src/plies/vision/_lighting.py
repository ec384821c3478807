"""Batch colour augmentation: brightness and contrast in logit space, saturation and hue as one colour matrix.

`LightingTfm` applies, per item, ``sigmoid(contrast * (logit(x) + logit(brightness)))`` (fastai's
lighting space: changes never push values out of [0, 1]) and then one 3x3 colour matrix that
holds the saturation and hue changes (both are linear maps of RGB), so a full lighting
augmentation is two passes over the batch whatever the number of changes. Several lighting
transforms next to each other fuse into one (`fuse`). Images must be floats in [0, 1]
(after `IntToFloatTensor`, before `Normalize`). Training split only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from plies.pipes import register_transform
from plies.typecore import TensorImage
from torch import Tensor

from ._augment import RandTransform, _applied, _as_sources, _batch_info, _Source, _uniform

__all__ = ["LightingTfm", "Brightness", "Contrast", "Saturation", "Hue", "RandomErasing"]

# ITU-R BT.601 luma weights (the grey a saturation change moves towards)
_LUMA = (0.299, 0.587, 0.114)
_EPS = 1e-3


class _LightSource(_Source):
    """A random colour change: draws per-item logit shift/scale or a colour matrix."""

    kind = "logit"

    def __init__(self, max_lighting: float, p: float) -> None:
        if not 0 <= max_lighting < 1:
            raise ValueError(f"{self._kind()}: max_lighting must be in [0, 1), found {max_lighting}")
        self.max_lighting, self.p = max_lighting, self._prob(p, self._kind())


class _BrightnessSource(_LightSource):
    def draw(self, bs: int, device: torch.device) -> tuple[Tensor, Tensor]:
        change = _uniform(bs, 0.5 * (1 - self.max_lighting), 0.5 * (1 + self.max_lighting), device)
        shift = torch.logit(change) * _applied(bs, self.p, device)
        return torch.ones_like(shift), shift


class _ContrastSource(_LightSource):
    def draw(self, bs: int, device: torch.device) -> tuple[Tensor, Tensor]:
        lo = math.log(1 - self.max_lighting)
        scale = _uniform(bs, lo, -lo, device).exp()
        scale = torch.where(_applied(bs, self.p, device), scale, torch.ones_like(scale))
        return scale, torch.zeros_like(scale)


def _saturation_matrix(s: Tensor) -> Tensor:
    """(bs, 3, 3): move each colour towards (s < 1) or away from (s > 1) its luma."""
    luma = torch.tensor(_LUMA, device=s.device)
    grey = luma.expand(3, 3)  # every output channel = luma . rgb
    eye = torch.eye(3, device=s.device)
    return s[:, None, None] * eye + (1 - s)[:, None, None] * grey


def _hue_matrix(theta: Tensor) -> Tensor:
    """(bs, 3, 3): rotate the hue by `theta` radians (rotation about the grey axis in YIQ space)."""
    rgb2yiq = torch.tensor(
        [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], device=theta.device
    )
    yiq2rgb = torch.linalg.inv(rgb2yiq)
    cos, sin = theta.cos(), theta.sin()
    zero, one = torch.zeros_like(cos), torch.ones_like(cos)
    rot = torch.stack([one, zero, zero, zero, cos, -sin, zero, sin, cos], 1).view(-1, 3, 3)
    return yiq2rgb @ rot @ rgb2yiq


class _SaturationSource(_LightSource):
    kind = "matrix"

    def draw(self, bs: int, device: torch.device) -> Tensor:
        lo = math.log(1 - self.max_lighting)
        s = _uniform(bs, lo, -lo, device).exp()
        s = torch.where(_applied(bs, self.p, device), s, torch.ones_like(s))
        return _saturation_matrix(s)


class _HueSource(_LightSource):
    kind = "matrix"

    def draw(self, bs: int, device: torch.device) -> Tensor:
        # max_lighting is the largest hue turn as a fraction of half a turn
        theta = _uniform(bs, -math.pi * self.max_lighting, math.pi * self.max_lighting, device)
        return _hue_matrix(theta * _applied(bs, self.p, device))


class LightingTfm(RandTransform):
    """Apply the colour changes of `sources` to a batch of float images in [0, 1] in two passes."""

    order = 40

    def __init__(self, sources: Sequence[Any] = (), batch: bool = False) -> None:
        super().__init__(p=1.0)
        self.sources, self.batch = _as_sources(sources, type(self).__name__), batch
        self.logit_ab: tuple[Tensor, Tensor] | None = None
        self.color: Tensor | None = None

    def fuse(self, other: Any) -> LightingTfm | None:
        """One transform doing `self` then `other` (both lighting transforms), else None."""
        if not isinstance(other, LightingTfm) or other.batch != self.batch:
            return None
        return LightingTfm([src.spec() for src in self.sources + other.sources], batch=self.batch)

    def before_call(self, b: Any, split_idx: int | None) -> None:
        """Draw the batch's logit scale/shift and colour matrix (the product of every source's)."""
        bs, device, _ = _batch_info(b)
        bs = 1 if self.batch else bs
        scale, shift = torch.ones(bs, device=device), torch.zeros(bs, device=device)
        color = None
        for src in self.sources:
            if src.kind == "logit":
                a, c = src.draw(bs, device)
                # x -> a * (x + c) after the previous (scale, shift): compose into one affine map
                scale, shift = scale * a, (shift + c) * a
            else:
                m = src.draw(bs, device)
                color = m if color is None else m @ color
        has_logit = any(s.kind == "logit" for s in self.sources)
        self.logit_ab = (scale, shift) if has_logit else None
        self.color, self.do = color, True

    def encodes(self, x: TensorImage) -> TensorImage:
        if not x.is_floating_point():
            raise TypeError(
                f"{type(self).__name__}: expected float images in [0, 1] (put IntToFloatTensor before it), "
                f"found {x.dtype}"
            )
        plain = x.as_subclass(Tensor)
        if self.logit_ab is not None:
            scale, shift = (v.to(plain.dtype)[:, None, None, None] for v in self.logit_ab)
            plain = torch.logit(plain, eps=_EPS).mul_(scale).add_(shift).sigmoid_()  # one new tensor
        if self.color is not None and plain.shape[1] == 3:
            bs, c, h, w = plain.shape
            color = self.color.to(plain.dtype).expand(bs, 3, 3)
            plain = torch.bmm(color, plain.reshape(bs, c, h * w)).view(bs, c, h, w)
            plain = plain.clamp_(0.0, 1.0)
        return plain


class Brightness(LightingTfm):
    """Random brightness change of up to `max_lighting` (0.2: 40%..60% grey) per item, probability `p`."""

    def __init__(self, max_lighting: float = 0.2, p: float = 0.75, batch: bool = False) -> None:
        super().__init__([_BrightnessSource(max_lighting, p)], batch=batch)


class Contrast(LightingTfm):
    """Random contrast scaling in [1 - `max_lighting`, 1 / (1 - `max_lighting`)] per item, probability `p`."""

    def __init__(self, max_lighting: float = 0.2, p: float = 0.75, batch: bool = False) -> None:
        super().__init__([_ContrastSource(max_lighting, p)], batch=batch)


class Saturation(LightingTfm):
    """Random saturation scaling in [1 - `max_lighting`, 1 / (1 - `max_lighting`)] per item (RGB only)."""

    def __init__(self, max_lighting: float = 0.2, p: float = 0.75, batch: bool = False) -> None:
        super().__init__([_SaturationSource(max_lighting, p)], batch=batch)


class Hue(LightingTfm):
    """Random hue rotation of up to `max_hue` half-turns per item, probability `p` (RGB only)."""

    def __init__(self, max_hue: float = 0.1, p: float = 0.75, batch: bool = False) -> None:
        super().__init__([_HueSource(max_hue, p)], batch=batch)


class RandomErasing(RandTransform):
    """Erase up to `max_count` random rectangles (`sl`..`sh` of the area, aspect >= `min_aspect`) per item.

    Runs after `Normalize` (order 100): erased pixels get standard-normal noise, as fastai.
    Each item is erased with probability `p`.
    """

    order = 100

    def __init__(
        self, p: float = 0.5, sl: float = 0.0, sh: float = 0.3, min_aspect: float = 0.3, max_count: int = 1
    ) -> None:
        super().__init__(p=1.0)
        if not 0 <= sl <= sh <= 1:
            raise ValueError(f"RandomErasing: need 0 <= sl <= sh <= 1, found sl={sl}, sh={sh}")
        self.item_p, self.sl, self.sh, self.min_aspect, self.max_count = p, sl, sh, min_aspect, max_count

    def encodes(self, x: TensorImage) -> TensorImage:
        plain = x.as_subclass(Tensor).clone()
        bs, c, h, w = plain.shape
        todo = torch.rand(bs) < self.item_p
        log_ratio = math.log(self.min_aspect)
        for i in torch.nonzero(todo).flatten().tolist():
            for _ in range(int(torch.randint(1, self.max_count + 1, ()))):
                area = float(torch.empty(()).uniform_(self.sl, self.sh)) * h * w
                aspect = math.exp(float(torch.empty(()).uniform_(log_ratio, -log_ratio)))
                eh = min(h, int(round(math.sqrt(area / aspect))))
                ew = min(w, int(round(math.sqrt(area * aspect))))
                if eh == 0 or ew == 0:
                    continue
                top = int(torch.randint(0, h - eh + 1, ()))
                left = int(torch.randint(0, w - ew + 1, ()))
                plain[i, :, top : top + eh, left : left + ew] = torch.randn(c, eh, ew, device=plain.device)
        return plain


for _cls in (LightingTfm, Brightness, Contrast, Saturation, Hue, RandomErasing):
    register_transform(_cls, name=f"plies.vision.{_cls.__name__}")
