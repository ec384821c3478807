"""Displays of vision data (registered at import; matplotlib is imported only when drawing).

- `TensorPoint.show` scatters the points, `TensorBBox.show` draws the boxes (typecore's `show_tensor`).
- `show_batch` for image inputs: one image per cell of a grid (`get_grid`), with what its targets
  draw on it: a category as the title, a mask overlaid (alpha), points, labelled boxes. Image
  targets (image to image) go in a second column.
- `show_results` for image inputs: classification titles `target/prediction` in green when right,
  red when wrong; masks, points and boxes as two columns, the target on the left and the
  prediction on the right of each image.
"""

from __future__ import annotations

from typing import Any

from plies.loaders import MultiCategory, get_grid, show_batch, show_results
from plies.typecore import (
    TensorBBox,
    TensorCategory,
    TensorImage,
    TensorImageBase,
    TensorPoint,
    show_tensor,
)

from ._bbox import LabeledBBox
from ._draw import draw_boxes, draw_points

__all__: list[str] = []  # registrations only


@show_tensor.register
def _show_points(
    x: TensorPoint, ctx: Any = None, size: float = 10, marker: str = ".", color: Any = "r", **kwargs: Any
) -> Any:
    """Points (pixel (x, y) rows) as a scatter on `ctx` (over the image drawn there)."""
    return draw_points(ctx, x, size=size, marker=marker, color=color)


@show_tensor.register
def _show_boxes(x: TensorBBox, ctx: Any = None, color: Any = "white", **kwargs: Any) -> Any:
    """Boxes (pixel (x1, y1, x2, y2) rows) as rectangles on `ctx`; boxes with no area (padding) skipped."""
    return draw_boxes(ctx, x, color=color)


def _drawn(sample: Any) -> list[Any]:
    """The elements of a decoded sample that draw on its Axes (labels drawn with their boxes left out)."""
    items = list(sample) if isinstance(sample, tuple) else [sample]
    boxed = any(isinstance(o, LabeledBBox) for o in items)
    return [o for o in items if hasattr(o, "show") and not (boxed and isinstance(o, MultiCategory))]


def _draw_sample(sample: Any, ctx: Any, **kwargs: Any) -> Any:
    for o in _drawn(sample):
        ctx = o.show(ctx=ctx, **kwargs)
    return ctx


def _grid(n: int, nrows: int | None, ncols: int | None, figsize: Any, **kwargs: Any) -> list[Any]:
    return get_grid(n, nrows=nrows, ncols=ncols, figsize=figsize, **kwargs)


@show_batch.register
def _show_batch_images(
    x: TensorImage,
    y: object,
    samples: Any,
    ctxs: Any = None,
    max_n: int = 9,
    nrows: int | None = None,
    ncols: int | None = None,
    figsize: Any = None,
    **kwargs: Any,
) -> Any:
    """Images in a grid, each with what its targets draw on it (title, mask, points, boxes)."""
    n = min(len(samples), max_n)
    if ctxs is None:
        ctxs = _grid(n, nrows, ncols, figsize)
    return [_draw_sample(s, c, **kwargs) for s, c in zip(samples[:n], ctxs, strict=False)]


@show_batch.register
def _show_batch_image_pairs(
    x: TensorImage,
    y: TensorImage,
    samples: Any,
    ctxs: Any = None,
    max_n: int = 9,
    nrows: int | None = None,
    ncols: int | None = None,
    figsize: Any = None,
    **kwargs: Any,
) -> Any:
    """Image-to-image samples: input and target side by side."""
    n = min(len(samples), max_n)
    if ctxs is None:
        ctxs = _grid(n, nrows, ncols, figsize, double=True)
    for i in range(2):
        ctxs[i::2] = [s[i].show(ctx=c, **kwargs) for s, c in zip(samples[:n], ctxs[i::2], strict=False)]
    return ctxs


def _label(o: Any) -> str:
    return ";".join(str(v) for v in o) if isinstance(o, MultiCategory) else str(o)


def _same(target: Any, pred: Any) -> bool:
    if isinstance(target, MultiCategory) or isinstance(pred, MultiCategory):
        return {str(v) for v in target} == {str(v) for v in pred}
    return str(target) == str(pred)


@show_results.register
def _show_results_classes(
    x: TensorImage,
    y: TensorCategory,
    samples: Any,
    outs: Any,
    ctxs: Any = None,
    max_n: int = 9,
    nrows: int | None = None,
    ncols: int | None = None,
    figsize: Any = None,
    **kwargs: Any,
) -> Any:
    """Images titled `target/prediction`, green when the prediction is right, red when wrong."""
    n = min(len(samples), max_n)
    if ctxs is None:
        ctxs = _grid(n, nrows, ncols, figsize)
    res = []
    for s, o, ctx in zip(samples[:n], outs[:n], ctxs, strict=False):
        ctx = s[0].show(ctx=ctx, **kwargs)
        target, pred = s[1], o[0]
        ctx.set_title(f"{_label(target)}/{_label(pred)}", color="green" if _same(target, pred) else "red")
        res.append(ctx)
    return res


def _overlays(y: Any) -> bool:
    """Whether the targets `y` draw over their image (masks, images, points, boxes)."""
    ys = y if isinstance(y, tuple) else (y,)
    return any(isinstance(o, (TensorImageBase, TensorPoint)) for o in ys)


@show_results.register
def _show_results_images(
    x: TensorImage,
    y: object,
    samples: Any,
    outs: Any,
    ctxs: Any = None,
    max_n: int = 9,
    nrows: int | None = None,
    ncols: int | None = None,
    figsize: Any = None,
    **kwargs: Any,
) -> Any:
    """Masks, points, boxes (targets drawn over the image): target on the left, prediction on the right.

    Other targets: the image with the target and the prediction (labelled `pred`) drawn in turn.
    """
    n = min(len(samples), max_n)
    if not _overlays(y):
        ctxs = _grid(n, nrows, ncols, figsize) if ctxs is None else ctxs
        res = []
        for s, o, ctx in zip(samples[:n], outs[:n], ctxs, strict=False):
            ctx = _draw_sample(s, ctx, **kwargs)
            for p in _drawn(o):
                ctx = p.show(ctx=ctx, label="pred", **kwargs)
            res.append(ctx)
        return res
    if ctxs is None:
        ctxs = _grid(
            n, nrows, ncols if ncols is not None else 1, figsize, double=True, title="Target/Prediction"
        )
    ctxs = list(ctxs)
    ctxs[0::2] = [_draw_sample(s, c, **kwargs) for s, c in zip(samples[:n], ctxs[0::2], strict=False)]
    right = []
    for s, o, ctx in zip(samples[:n], outs[:n], ctxs[1::2], strict=False):
        ctx = s[0].show(ctx=ctx, **kwargs)
        right.append(_draw_sample(tuple(o), ctx, **kwargs))
    ctxs[1::2] = right
    return ctxs
