"""The semantic families the apps share: images, masks, points, boxes and texts (fastai's names).

They are declared here, in the lowest layer, so that every layer can name them in type dispatch:
the data transforms of plies.loaders say by annotation which family they act on
(`IntToFloatTensor` and `Normalize` act on `TensorImage` only: masks stay integer, points, boxes,
texts and categories are left alone), and the apps build their items with these classes.

Showing: typecore draws nothing (it cannot import matplotlib). `x.show(ctx)` calls the
type-dispatched `show_tensor(x, ctx=ctx, **kwargs)`; plies.loaders registers the image display
(images, greyscale images, masks) and the apps register theirs (points, boxes, texts). With none
registered for a type, `show` raises a TypeError naming the package that draws it.
"""

from __future__ import annotations

from typing import Any

from ._dispatch import typedispatch
from ._tensors import TensorBase, tensor

__all__ = [
    "TensorImageBase",
    "TensorImage",
    "TensorImageBW",
    "TensorMask",
    "TensorPoint",
    "TensorBBox",
    "TensorText",
    "LMTensorText",
    "show_tensor",
]


@typedispatch
def show_tensor(x: object, ctx: Any = None, **kwargs: Any) -> Any:
    """Draw the semantic tensor `x` on `ctx` (dispatched on its type; packages that draw register here).

    Register a display with ``@show_tensor.register`` on a function whose first parameter is
    annotated with the tensor class. With none registered for `x`'s type this raises TypeError.
    """
    name = type(x).__name__
    where = getattr(type(x), "_shown_by", None)
    hint = f"import {where} or " if where else ""
    raise TypeError(
        f"{name}.show: no display is registered for {name}; {hint}register one with "
        "`@plies.typecore.show_tensor.register` (typecore itself draws nothing)"
    )


class TensorImageBase(TensorBase):
    """Base of the image-shaped families (images and masks): (C, H, W) items, (B, C, H, W) batches."""

    _shown_by = "plies.loaders (it registers the display of images and masks)"

    def show(self, ctx: Any = None, **kwargs: Any) -> Any:
        """Draw this tensor on `ctx` with the display registered in `show_tensor`; returns the ctx."""
        return show_tensor(self, ctx=ctx, **kwargs)


class TensorImage(TensorImageBase):
    """An image: `IntToFloatTensor` scales its integers to floats, `Normalize` normalises it."""


class TensorImageBW(TensorImage):
    """A greyscale (one-channel) image; shown with a grey colour map."""


class TensorMask(TensorImageBase):
    """A segmentation mask of integer class codes (metadata `codes` names them); never scaled nor normalised.

    Data transforms keep it integer (see `IntToFloatTensor`)."""


class TensorPoint(TensorBase):
    """Point coordinates, one (x, y) row per point; metadata `img_size`. Never scaled or normalised by data
    transforms."""

    _shown_by = "plies.vision (the vision app draws points and boxes)"

    _row: tuple[int, str] = (2, "(x, y) pairs")  # values per row, and what a row is

    @classmethod
    def create(cls, t: Any, img_size: Any = None) -> Any:
        """Rows from anything `tensor` accepts, as floats (2 values a point, 4 a box), with `img_size`."""
        res = tensor(t)
        n, what = cls._row
        if res.numel() % n:
            raise ValueError(
                f"{cls.__name__}.create: expected {what}, got {res.numel()} values "
                f"of shape {tuple(res.shape)}"
            )
        return cls(res.view(-1, n).float(), img_size=img_size)

    def show(self, ctx: Any = None, **kwargs: Any) -> Any:
        """Draw the points on `ctx` with the display registered in `show_tensor`; returns the ctx."""
        return show_tensor(self, ctx=ctx, **kwargs)


class TensorBBox(TensorPoint):
    """Bounding boxes, one (x1, y1, x2, y2) row per box; metadata `img_size`."""

    _row = (4, "(x1, y1, x2, y2) boxes")


class TensorText(TensorBase):
    """The token ids of a text."""

    _shown_by = "plies.text (the text app shows texts)"

    def show(self, ctx: Any = None, **kwargs: Any) -> Any:
        """Show the text on `ctx` with the display registered in `show_tensor`; returns the ctx."""
        return show_tensor(self, ctx=ctx, **kwargs)


class LMTensorText(TensorText):
    """The token ids of a language-model stream (the target is the input shifted by one token)."""
