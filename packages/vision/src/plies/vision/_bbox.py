"""Bounding boxes with labels: `get_annotations` (COCO json), `BBoxLabeler`, `bb_pad`, `LabeledBBox`.

Boxes are `TensorBBox` rows (x1, y1, x2, y2): pixels when read, -1..1 once `PointScaler` has run
(the batch augmentation moves them), pixels again when decoded. Their labels are a
`TensorMultiCategory` of vocab indices, one per box, index 0 being `'#na#'` with
`BBoxLblBlock(add_na=True)`: `bb_pad` pads the labels with it, and a box emptied by a
transform gets it.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from plies.pipes import Transform, register_transform
from plies.typecore import L, TensorBBox, TensorMultiCategory
from torch import Tensor

from ._draw import draw_boxes

__all__ = ["get_annotations", "LabeledBBox", "BBoxLabeler", "clip_remove_empty", "bb_pad"]


def get_annotations(fname: str | os.PathLike, prefix: str | os.PathLike | None = None) -> tuple[list, list]:
    """Read a COCO-style json: (image file names, one `(boxes, labels)` per image), as fastai.

    Boxes are [x1, y1, x2, y2] in pixels (COCO stores x, y, width, height), labels the category
    names. Only images with at least one annotation are listed. `prefix` is prepended to the file
    names (a str as text, a path as a folder).
    """
    fname = Path(fname)
    try:
        data = json.loads(fname.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"get_annotations: no such file: {fname}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"get_annotations: {fname} is not valid json ({e})") from None
    missing = [k for k in ("images", "annotations", "categories") if k not in data]
    if missing:
        raise KeyError(
            f"get_annotations: {fname} has no {missing} entries (a COCO file has images, "
            "annotations and categories)"
        )
    classes = {o["id"]: o["name"] for o in data["categories"]}
    boxes: dict[Any, list] = defaultdict(list)
    labels: dict[Any, list] = defaultdict(list)
    for i, o in enumerate(data["annotations"]):
        x, y, w, h = o["bbox"]
        if o["category_id"] not in classes:
            raise KeyError(
                f"get_annotations: annotation {i} of {fname} has category_id {o['category_id']!r}, "
                f"not among the categories {sorted(classes)}"
            )
        boxes[o["image_id"]].append([x, y, x + w, y + h])
        labels[o["image_id"]].append(classes[o["category_id"]])
    names = {o["id"]: _with_prefix(prefix, o["file_name"]) for o in data["images"] if o["id"] in boxes}
    ids = list(names)
    return [names[k] for k in ids], [(boxes[k], labels[k]) for k in ids]


def _with_prefix(prefix: str | os.PathLike | None, name: str) -> Any:
    if prefix is None:
        return name
    return Path(prefix) / name if isinstance(prefix, os.PathLike) else f"{prefix}{name}"


class LabeledBBox(L):
    """The boxes of an item with their labels (`bbox`, `lbl`), as decoded for display; `show` draws them."""

    @property
    def bbox(self) -> Any:
        """The boxes (a `TensorBBox` of pixel rows x1, y1, x2, y2)."""
        return self[0]

    @property
    def lbl(self) -> Any:
        """The labels, one per box."""
        return self[1]

    def _new(self, items: Any, **kwargs: Any) -> L:
        return L(items, use_list=True, **kwargs)  # a slice of one is no longer (boxes, labels)

    def show(self, ctx: Any = None, color: Any = "white", **kwargs: Any) -> Any:
        """Draw each box as a rectangle with its label on `ctx` (padding and `'#na#'` boxes are skipped)."""
        return draw_boxes(ctx, self.bbox, list(self.lbl), color=color)


def _plain(o: Any) -> Any:
    return o.item() if isinstance(o, np.generic) else o


def _find(b: tuple, cls: type, exclude: type | None = None) -> int | None:
    for i, o in enumerate(b):
        if isinstance(o, cls) and not (exclude is not None and isinstance(o, exclude)):
            return i
    return None


@register_transform
class BBoxLabeler(Transform):
    """Keep the labels of an item aligned with its boxes; decode them together into a `LabeledBBox`.

    Encoding checks that an item has as many labels as boxes. Decoding (after the batch) puts a
    `LabeledBBox(boxes, label names)` in place of the boxes; the labels element stays, for the
    label pipeline to decode. The vocab is taken from the data at setup.
    """

    _state_attrs = ("vocab",)

    def __init__(self) -> None:
        super().__init__()
        self.vocab: list[Any] | None = None

    def setups(self, dl: Any) -> None:
        vocab = getattr(getattr(dl, "dataset", dl), "vocab", None)
        if vocab is not None:
            self.vocab = [_plain(o) for o in vocab]

    def __call__(self, b: Any, split_idx: int | None = None, **kwargs: Any) -> Any:
        """Check that item `b` has one label per box; return it unchanged."""
        if isinstance(b, tuple):
            ib, il = _find(b, TensorBBox), _find(b, TensorMultiCategory)
            if ib is not None and il is not None and len(b[ib].view(-1, 4)) != len(b[il]):
                raise ValueError(
                    f"BBoxLabeler: the item has {len(b[ib].view(-1, 4))} boxes but {len(b[il])} labels; "
                    "get_y must give one label per box"
                )
        return b

    def decode(self, b: Any, split_idx: int | None = None, **kwargs: Any) -> Any:
        """Item `b` with its boxes replaced by a `LabeledBBox` of the boxes and their label names."""
        if not isinstance(b, tuple):
            return b
        ib, il = _find(b, TensorBBox), _find(b, TensorMultiCategory)
        if ib is None or il is None:
            return b
        if self.vocab is None:
            raise ValueError("BBoxLabeler: no vocab to name the labels with; set it up on the data first")
        idxs = b[il].as_subclass(torch.Tensor).long().flatten().tolist()
        bad = [i for i in idxs if not 0 <= i < len(self.vocab)]
        if bad:
            raise IndexError(
                f"BBoxLabeler: label indices {bad} outside the vocab of {len(self.vocab)} labels"
            )
        res = list(b)
        res[ib] = LabeledBBox(b[ib], [self.vocab[i] for i in idxs])
        return type(b)(res) if type(b) is tuple else b.__class__(res)


def clip_remove_empty(bbox: Tensor, label: Tensor) -> tuple[Tensor, Tensor]:
    """Clip normalised boxes to -1..1 and drop those left with no area, with their labels."""
    if len(bbox) != len(label):
        raise ValueError(f"clip_remove_empty: {len(bbox)} boxes but {len(label)} labels")
    bbox = torch.clamp(bbox, -1, 1)
    empty = (bbox[..., 2] <= bbox[..., 0]) | (bbox[..., 3] <= bbox[..., 1])
    return bbox[~empty], label[~empty]


def bb_pad(samples: Sequence[Any], *, pad_idx: int = 0) -> list[tuple[Any, ...]]:
    """Pad the boxes (with zeros) and labels (with `pad_idx`) of each sample to the most boxes in the batch.

    Boxes with no area (after clipping to -1..1) are dropped first, with their labels. Each sample
    is a tuple with one `TensorBBox` and, optionally, one `TensorMultiCategory` of labels
    (`BBoxBlock`'s `before_batch`). Samples without boxes (inputs only, at inference) pass unchanged.
    """
    samples = [tuple(s) for s in samples]
    if not any(_find(s, TensorBBox) is not None for s in samples):
        return samples
    found = []
    for k, s in enumerate(samples):
        ib, il = _find(s, TensorBBox), _find(s, TensorMultiCategory)
        if ib is None:
            raise TypeError(
                f"bb_pad: sample {k} has no TensorBBox (types {[type(o).__name__ for o in s]}) while others "
                "have: every sample of a batch has its boxes (BBoxBlock)"
            )
        boxes = s[ib].view(-1, 4)
        labels = s[il] if il is not None else torch.zeros(len(boxes), dtype=torch.long)
        boxes, labels = clip_remove_empty(boxes, labels)
        found.append((s, ib, il, boxes, labels))
    max_len = max((len(f[3]) for f in found), default=0)
    res = []
    for s, ib, il, boxes, labels in found:
        extra = max_len - len(boxes)
        out = list(s)
        out[ib] = torch.cat([boxes, boxes.new_zeros(extra, 4)])
        if il is not None:
            out[il] = torch.cat([labels, labels.new_full((extra,), pad_idx)])
        res.append(tuple(out))
    return res


register_transform(bb_pad)
