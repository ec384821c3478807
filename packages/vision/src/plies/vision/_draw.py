"""Drawing points and boxes on a matplotlib Axes (matplotlib is imported only when something is drawn)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

__all__: list[str] = []  # private helpers of the displays


def axes_for(ctx: Any, figsize: tuple[float, float] | None = None) -> Any:
    """`ctx` when it is an Axes, a new one when None; TypeError naming what it is otherwise."""
    if ctx is None:
        import matplotlib.pyplot as plt

        _, ctx = plt.subplots(figsize=figsize or (3, 3))
        return ctx
    if not hasattr(ctx, "add_patch"):
        raise TypeError(
            f"cannot draw on a ctx of type {type(ctx).__name__}; expected a matplotlib Axes or None"
        )
    return ctx


class _KeepImageLimits:
    """Restore the Axes' limits after drawing when it shows an image (drawn marks never widen the view)."""

    def __init__(self, ax: Any) -> None:
        self.ax = ax

    def __enter__(self) -> None:
        self.limits = (self.ax.get_xlim(), self.ax.get_ylim()) if self.ax.images else None

    def __exit__(self, *exc: Any) -> None:
        if self.limits is not None:
            self.ax.set_xlim(*self.limits[0])
            self.ax.set_ylim(*self.limits[1])


def draw_points(ctx: Any, points: torch.Tensor, size: float = 10, marker: str = ".", color: Any = "r") -> Any:
    """Scatter the (x, y) pixel rows of `points` on `ctx`; returns the Axes."""
    ax = axes_for(ctx)
    pts = points.detach().cpu().as_subclass(torch.Tensor).float().reshape(-1, 2)
    with _KeepImageLimits(ax):
        ax.scatter(pts[:, 0].numpy(), pts[:, 1].numpy(), s=size, marker=marker, c=color)
    return ax


def _outlined(artist: Any, lw: float) -> None:
    from matplotlib import patheffects

    artist.set_path_effects([patheffects.Stroke(linewidth=lw, foreground="black"), patheffects.Normal()])


def draw_boxes(
    ctx: Any,
    boxes: torch.Tensor,
    labels: Sequence[Any] | None = None,
    color: Any = "white",
    lw: float = 2,
    skip: Sequence[Any] = ("#na#",),
) -> Any:
    """Draw the (x1, y1, x2, y2) pixel rows of `boxes` as rectangles, each with its label when given.

    Boxes with no area (padding) and boxes labelled with a value in `skip` are not drawn.
    """
    from matplotlib import patches

    ax = axes_for(ctx)
    rows = boxes.detach().cpu().as_subclass(torch.Tensor).float().reshape(-1, 4).tolist()
    if labels is not None and len(labels) != len(rows):
        raise ValueError(f"draw_boxes: {len(rows)} boxes but {len(labels)} labels")
    with _KeepImageLimits(ax):
        for i, (x1, y1, x2, y2) in enumerate(rows):
            label = None if labels is None else labels[i]
            if x2 <= x1 or y2 <= y1 or (label is not None and label in skip):
                continue
            rect = ax.add_patch(
                patches.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=color, lw=lw)
            )
            _outlined(rect, lw + 2)
            if label is not None:
                text = ax.text(x1, y1, str(label), va="top", color=color, fontsize=10, weight="bold")
                _outlined(text, 1)
    return ax
