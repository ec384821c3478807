"""Plotting helpers the apps share (matplotlib): `show_image`, `subplots`, `get_grid`.

matplotlib is imported inside the functions, so importing plies.loaders stays cheap. This module
also registers `show_image` as the display of typecore's image families with `show_tensor`, so
`TensorImage(...).show()` draws once plies.loaders is imported: images as they are (one-channel
ones with a grey colour map), `TensorImageBW` with fastai's 'Greys', masks with a qualitative
colour map ('tab20') at half opacity, spread over their `codes` when they have some.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from plies.typecore import TensorImageBase, TensorImageBW, TensorMask, show_tensor

__all__ = ["show_image", "subplots", "get_grid"]


def _fig_bound(n_pixels: int) -> int:
    """A figure side in inches for an image side of `n_pixels`: one inch per 32 pixels, 1 to 5 inches."""
    return min(5, max(1, n_pixels // 32))


def _as_hwc(im: Any) -> np.ndarray:
    """`im` (tensor, array, PIL image) as an (H, W) or (H, W, C) numpy array for `imshow`.

    Tensors are channel-first when their first dimension is below 5 (fastai's rule), arrays when
    their first dimension is below 5 and their last is not; one channel is dropped to (H, W).
    """
    if isinstance(im, torch.Tensor):
        t = im.detach().cpu().as_subclass(torch.Tensor)
        if t.is_floating_point() and t.dtype != torch.float32:
            t = t.float()  # numpy has no bfloat16; float16 images are drawn alike
        if t.ndim == 3 and t.shape[0] < 5:
            t = t.permute(1, 2, 0)
        arr = t.numpy()
    else:
        arr = np.asarray(im)
        if arr.ndim == 3 and arr.shape[0] < 5 and arr.shape[-1] >= 5:
            arr = arr.transpose(1, 2, 0)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
        raise ValueError(
            f"show_image: expected an image of shape (H, W), (C, H, W) or (H, W, C) with 1, 3 or 4 channels, "
            f"got shape {tuple(np.shape(im))}"
        )
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8)
    return arr


def show_image(
    im: Any,
    ax: Any = None,
    figsize: tuple[float, float] | None = None,
    title: str | None = None,
    ctx: Any = None,
    cmap: str | None = None,
    **kwargs: Any,
) -> Any:
    """Show an image on `ax` (or `ctx`; a new figure when both are None) and return the Axes.

    `im`: a tensor (channel-first, or channel-last when its first dimension is 5 or more), a numpy
    array or a PIL image; floats in [0, 1] or integers in [0, 255]. One-channel images use a grey
    colour map unless `cmap` is given. Extra keywords go to `Axes.imshow` (e.g. `alpha`, `vmin`).
    """
    arr = _as_hwc(im)
    ax = ctx if ax is None else ax
    if ax is not None and not hasattr(ax, "imshow"):
        raise TypeError(
            f"show_image: cannot draw on a ctx of type {type(ax).__name__}; "
            "expected a matplotlib Axes or None"
        )
    if ax is None:
        import matplotlib.pyplot as plt

        if figsize is None:
            figsize = (_fig_bound(arr.shape[1]), _fig_bound(arr.shape[0]))  # (width, height)
        _, ax = plt.subplots(figsize=figsize)
    if cmap is None and arr.ndim == 2:
        cmap = "gray"
    ax.imshow(arr, cmap=cmap, **kwargs)
    if title is not None:
        ax.set_title(title)
    ax.axis("off")
    return ax


def subplots(
    nrows: int = 1,
    ncols: int = 1,
    figsize: tuple[float, float] | None = None,
    imsize: float = 3,
    suptitle: str | None = None,
    **kwargs: Any,
) -> tuple[Any, np.ndarray]:
    """A figure and an array of `nrows` x `ncols` Axes, each `imsize` inches square unless `figsize` is given.

    As fastai: the Axes come back as a numpy array (an array of one Axes for a 1x1 grid); extra
    keywords go to `matplotlib.pyplot.subplots`.
    """
    import matplotlib.pyplot as plt

    if figsize is None:
        height = nrows * imsize if suptitle is None or imsize > 2 else nrows * imsize + 0.6
        figsize = (ncols * imsize, height)
    fig, axs = plt.subplots(nrows, ncols, figsize=figsize, **kwargs)
    if suptitle is not None:
        fig.suptitle(suptitle)
    if nrows * ncols == 1:
        axs = np.array([axs])
    return fig, axs


def get_grid(
    n: int,
    nrows: int | None = None,
    ncols: int | None = None,
    figsize: tuple[float, float] | None = None,
    double: bool = False,
    title: str | None = None,
    return_fig: bool = False,
    flatten: bool = True,
    **kwargs: Any,
) -> Any:
    """A grid of Axes for `n` images: a list of the first `n` (the extra ones hidden) when `flatten`.

    Rows and columns: from `nrows` or `ncols` when given, else about square. `double` doubles the
    columns (and the Axes returned: two per item). `title` is the figure's title; with `return_fig`
    the result is `(figure, axes)`. Extra keywords go to `subplots` (e.g. `imsize`).
    """
    if n < 1:
        raise ValueError(f"get_grid: n must be at least 1, got {n}")
    if nrows:
        ncols = ncols or math.ceil(n / nrows)
    elif ncols:
        nrows = math.ceil(n / ncols)
    else:
        nrows = int(math.sqrt(n))
        ncols = math.ceil(n / nrows)
    if double:
        ncols, n = ncols * 2, n * 2
    fig, axs = subplots(nrows, ncols, figsize=figsize, **kwargs)
    if flatten:
        flat = list(axs.flatten())
        for extra in flat[n:]:
            extra.set_axis_off()
        axs = flat[:n]
    if title is not None:
        fig.suptitle(title, weight="bold", size=14)
    return (fig, axs) if return_fig else axs


@show_tensor.register
def _show_image_tensor(x: TensorImageBase, ctx: Any = None, **kwargs: Any) -> Any:
    """Images (and image-shaped tensors): `show_image`."""
    return show_image(x, ctx=ctx, **kwargs)


@show_tensor.register
def _show_bw_image(x: TensorImageBW, ctx: Any = None, **kwargs: Any) -> Any:
    """Greyscale images: `show_image` with fastai's 'Greys' colour map (dark strokes on white)."""
    return show_image(x, ctx=ctx, **{"cmap": "Greys", **kwargs})


@show_tensor.register
def _show_mask(x: TensorMask, ctx: Any = None, **kwargs: Any) -> Any:
    """Masks: a qualitative colour map at half opacity, over `vmin=0, vmax=len(codes)` with `codes`."""
    defaults: dict[str, Any] = {"cmap": "tab20", "alpha": 0.5}
    codes = getattr(x, "codes", None)
    if codes is not None:
        defaults.update(vmin=0, vmax=len(codes))
    return show_image(x, ctx=ctx, **{**defaults, **kwargs})
