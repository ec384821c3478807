"""Image views of the learner's interpretation: `plot_top_losses` for images, `SegmentationInterpretation`.

`Interpretation.plot_top_losses` (plies.learner) dispatches on the decoded input and target types;
this module registers the views for `TensorImage` inputs: a classifier's items titled
``prediction/actual / loss / probability``, and a segmentation's items as three panels per row
(input, target mask, predicted mask with the loss). `SegmentationInterpretation` adds the pixel
confusion matrix over the mask codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from plies.learner import Interpretation, plot_top_losses
from plies.loaders import get_grid
from plies.typecore import TensorImage, TensorMask
from torch import Tensor

__all__ = ["SegmentationInterpretation"]


def _label(o: Any) -> str:
    """A decoded element as a title fragment (a category, a tuple of them, a number)."""
    if isinstance(o, (tuple, list)):
        return ";".join(_label(e) for e in o)
    if isinstance(o, Tensor) and o.numel() == 1:
        v = o.item()
        return f"{v:.3g}" if isinstance(v, float) else str(v)
    return str(o)


@plot_top_losses.register
def _plot_top_losses_images(
    x: TensorImage,
    y: object,
    samples: Sequence[Any],
    outs: Sequence[Any],
    raws: Tensor,
    losses: Tensor,
    nrows: int | None = None,
    ncols: int | None = None,
    figsize: tuple[float, float] | None = None,
    **kwargs: Any,
) -> Any:
    """Images with the title ``prediction/actual / loss / probability of the prediction``."""
    axs = get_grid(
        len(samples), nrows=nrows, ncols=ncols, figsize=figsize, title="Prediction/Actual/Loss/Probability"
    )
    for ax, sample, out, raw, loss in zip(axs, samples, outs, raws, losses, strict=False):
        sample[0].show(ctx=ax, **kwargs)
        prob = f" / {float(raw.max()):.2f}" if isinstance(raw, Tensor) and raw.numel() > 1 else ""
        ax.set_title(
            f"{_label(out[0] if len(out) == 1 else out)}/{_label(sample[1:])} / {float(loss):.2f}{prob}"
        )
    return axs


@plot_top_losses.register
def _plot_top_losses_masks(
    x: TensorImage,
    y: TensorMask,
    samples: Sequence[Any],
    outs: Sequence[Any],
    raws: Tensor,
    losses: Tensor,
    nrows: int | None = None,
    ncols: int | None = None,
    figsize: tuple[float, float] | None = None,
    **kwargs: Any,
) -> Any:
    """One row per image: the input, the target mask and the predicted mask (titled with the loss)."""
    n = len(samples)
    axs = get_grid(n * 3, nrows=n, ncols=3, figsize=figsize, title="Input | Target | Prediction")
    for i, (sample, out, loss) in enumerate(zip(samples, outs, losses, strict=False)):
        row = axs[3 * i : 3 * i + 3]
        for ax, im, title in zip(
            row, (sample[0], sample[1], out[0]), ("input", "target", "pred"), strict=True
        ):
            if title != "input":
                sample[0].show(ctx=ax)  # the mask over its image
            im.show(ctx=ax, **kwargs)
            ax.set_title(f"pred; loss = {float(loss):.4f}" if title == "pred" else title)
    return axs


class SegmentationInterpretation(Interpretation):
    """`Interpretation` of a segmentation model: items ranked by their mean pixel loss, shown as masks,
    and the confusion matrix of the pixels over the mask codes.

    ``codes`` are the class names of the masks (``MaskBlock(codes)``), else the class indices.
    """

    def __init__(
        self, learn: Any, dl: Any, inputs: Any, preds: Any, targs: Any, decoded: Any, losses: Tensor
    ) -> None:
        super().__init__(learn, dl, inputs, preds, targs, decoded, losses)
        if not isinstance(decoded, Tensor) or decoded.ndim != 3 or decoded.is_floating_point():
            found = (
                type(decoded).__name__ if not isinstance(decoded, Tensor) else f"shape {tuple(decoded.shape)}"
            )
            raise TypeError(
                "SegmentationInterpretation: expected decoded predictions that are masks (one class index "
                f"per pixel, items x height x width), found {found}"
            )
        n_classes = preds.shape[1]
        codes = _mask_codes(dl)
        self.codes: list[Any] = list(codes) if codes is not None else list(range(n_classes))

    def confusion_matrix(self) -> np.ndarray:
        """Pixel counts of (actual class, predicted class) over the whole dataset: row `i` is class `i`."""
        n = len(self.codes)
        targs = torch.as_tensor(self.targs).as_subclass(Tensor).flatten().long()
        decoded = torch.as_tensor(self.decoded).as_subclass(Tensor).flatten().long()
        cm = torch.zeros(n, n, dtype=torch.long)
        cm.index_put_((targs, decoded), torch.ones_like(targs), accumulate=True)
        return cm.numpy()

    def per_class_accuracy(self) -> dict[Any, float]:
        """The fraction of each class's pixels predicted right (classes absent from the targets left out)."""
        cm = self.confusion_matrix()
        totals = cm.sum(axis=1)
        return {self.codes[i]: float(cm[i, i] / totals[i]) for i in range(len(cm)) if totals[i] > 0}


def _mask_codes(dl: Any) -> Any:
    """The codes of the masks: those of `MaskBlock`'s item transform (`AddMaskCodes`), if any."""
    for f in getattr(getattr(dl, "after_item", None), "fs", []):
        codes = getattr(f, "codes", None)
        if codes is not None:
            return codes
    return None
