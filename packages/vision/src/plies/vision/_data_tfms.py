"""Item transforms of the vision blocks: mask codes (`AddMaskCodes`) and point scaling (`PointScaler`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from plies.pipes import DisplayedTransform, Transform, register_transform
from plies.typecore import TensorBBox, TensorMask, TensorPoint

from ._core import PILMask
from ._item_tfms import _image_size

__all__ = ["AddMaskCodes", "PointScaler"]


@register_transform
class AddMaskCodes(DisplayedTransform):
    """Attach the class names `codes` to masks (metadata `codes`), so they show with a legend and decode."""

    order = 0

    def __init__(self, codes: Sequence[Any] | None = None) -> None:
        super().__init__()
        self.codes = None if codes is None else [str(c) for c in codes]
        self.c = None if codes is None else len(self.codes)

    _state_attrs = ("codes", "c")

    def decodes(self, o: TensorMask) -> TensorMask:
        if self.codes is not None:
            o.codes = self.codes
        return o

    def encodes(self, o: PILMask) -> PILMask:
        return o


@register_transform
class PointScaler(Transform):
    """Scale an item's points and boxes from pixels to -1..1 (back on decode) by the size of the item's image.

    The size is that of the image (PIL image or image tensor) in the same item: when encoding, the
    image as it was opened (so `PointScaler` runs before the item transforms that change the size,
    which move normalised points); when decoding, the image of the batch being decoded (it may have
    been resized since). A `TensorPoint` alone uses its `img_size`. `y_first`: the raw points are
    (y, x) rows (they are flipped to (x, y)); `do_scale=False`: they are already in -1..1.
    After setup, `c` is the number of coordinates of a point target (what a model predicts).
    """

    order = 1
    _state_attrs = ("c",)

    def __init__(self, do_scale: bool = True, y_first: bool = False) -> None:
        super().__init__()
        self.do_scale, self.y_first = do_scale, y_first
        self.c: int | None = None
        self._size: tuple[int, int] | None = None
        self._types: list[str] = []

    def setups(self, dl: Any) -> None:
        dataset = getattr(dl, "dataset", None)
        if dataset is None or not hasattr(dataset, "__len__") or len(dataset) == 0:
            return
        item = dataset[0]
        for o in item if isinstance(item, tuple) else (item,):
            if isinstance(o, TensorPoint) and not isinstance(o, TensorBBox):
                self.c = int(o.numel())

    def _grab_size(self, b: Any) -> None:
        self._size = _image_size(b)
        self._types = [type(o).__name__ for o in (b if isinstance(b, tuple) else (b,))]

    def __call__(self, b: Any, split_idx: int | None = None, **kwargs: Any) -> Any:
        """Scale the points of item `b` by the size of its image."""
        self._grab_size(b)
        return super().__call__(b, split_idx=split_idx, **kwargs)

    def decode(self, b: Any, split_idx: int | None = None, **kwargs: Any) -> Any:
        """Points of item `b` back to pixels of its image."""
        self._grab_size(b)
        return super().decode(b, split_idx=split_idx, **kwargs)

    def _size_for(self, x: TensorPoint, action: str) -> tuple[int, int]:
        if self._size is not None:
            return self._size
        size = getattr(x, "img_size", None)
        if size is not None:
            return int(size[0]), int(size[1])
        raise ValueError(
            f"PointScaler: cannot {action} the {type(x).__name__} without an image size: the item "
            f"({', '.join(self._types)}) holds no PIL image or image tensor and the points have no img_size; "
            "put the image block before the points in the item (blocks=(ImageBlock, PointBlock))"
        )

    def encodes(self, x: TensorPoint) -> TensorPoint:
        w, h = self._size_for(x, "scale")
        pts = x.as_subclass(torch.Tensor).float().reshape(-1, 2)
        if self.y_first:
            pts = pts.flip(1)
        if self.do_scale:
            pts = pts * 2 / torch.tensor([w, h], dtype=pts.dtype, device=pts.device) - 1
        return type(x)(pts.reshape(x.shape), img_size=(w, h))

    def decodes(self, x: TensorPoint) -> TensorPoint:
        w, h = self._size_for(x, "unscale")
        pts = x.as_subclass(torch.Tensor).float().reshape(-1, 2)
        pts = (pts + 1) * torch.tensor([w, h], dtype=pts.dtype, device=pts.device) / 2
        shape = (-1, 4) if isinstance(x, TensorBBox) else (-1, 2)
        return type(x)(pts.reshape(shape), img_size=(w, h))
