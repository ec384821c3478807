"""`aug_transforms`: the paper's default batch augmentation, fused into one geometric and one lighting
pass."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from plies.pipes import Pipeline

from ._augment import AffineCoordTfm, Dihedral, Flip, RandomResizedCropGPU, Rotate, Warp, Zoom
from ._lighting import Brightness, Contrast

__all__ = ["aug_transforms", "setup_aug_tfms"]


def setup_aug_tfms(tfms: Iterable[Any]) -> list[Any]:
    """Sort `tfms` by order and fuse neighbours that can run as one (`a.fuse(b)`), as a Pipeline does.

    Geometric transforms become one `AffineCoordTfm` (one interpolation); lighting transforms one
    `LightingTfm` (two passes over the batch).
    """
    return list(Pipeline(list(tfms)).fs)


def aug_transforms(
    mult: float = 1.0,
    do_flip: bool = True,
    flip_vert: bool = False,
    max_rotate: float = 10.0,
    min_zoom: float = 1.0,
    max_zoom: float = 1.1,
    max_lighting: float = 0.2,
    max_warp: float = 0.2,
    p_affine: float = 0.75,
    p_lighting: float = 0.75,
    xtra_tfms: Iterable[Any] | None = None,
    size: int | tuple[int, int] | None = None,
    mode: str = "bilinear",
    pad_mode: str = "reflection",
    align_corners: bool = False,
    batch: bool = False,
    min_scale: float = 1.0,
) -> list[Any]:
    """The paper's default augmentation (fastai's `aug_transforms`): flips, rotation, zoom, warp, lighting.

    `mult` scales `max_rotate`, `max_lighting` and `max_warp`. `size` resizes in the same
    interpolation; `min_scale` < 1 adds a `RandomResizedCropGPU` to `size`. `batch=True` draws one
    set of random values for the whole batch. The result is one `AffineCoordTfm` and one
    `LightingTfm` (plus `xtra_tfms`), training split only.
    """
    max_rotate, max_lighting, max_warp = max_rotate * mult, max_lighting * mult, max_warp * mult
    geo: dict[str, Any] = {
        "size": size if min_scale == 1.0 else None,
        "mode": mode,
        "pad_mode": pad_mode,
        "batch": batch,
        "align_corners": align_corners,
    }
    res: list[Any] = []
    if do_flip:
        res.append(Dihedral(p=0.5, **geo) if flip_vert else Flip(p=0.5, **geo))
    if max_warp:
        res.append(Warp(magnitude=max_warp, p=p_affine, **geo))
    if max_rotate:
        res.append(Rotate(max_deg=max_rotate, p=p_affine, **geo))
    if min_zoom < 1 or max_zoom > 1:
        res.append(Zoom(min_zoom=min_zoom, max_zoom=max_zoom, p=p_affine, **geo))
    if min_scale != 1.0:
        if size is None:
            raise ValueError("aug_transforms: min_scale < 1 crops at random and needs the output size=")
        res.append(RandomResizedCropGPU(size, min_scale=min_scale, ratio=(1.0, 1.0), **_but_size(geo)))
    if not res and size is not None:  # a resize alone still happens on the batch
        res.append(AffineCoordTfm(size=size, **_but_size(geo)))
    if max_lighting:
        res.append(Brightness(max_lighting=max_lighting, p=p_lighting, batch=batch))
        res.append(Contrast(max_lighting=max_lighting, p=p_lighting, batch=batch))
    return setup_aug_tfms([*res, *(xtra_tfms or [])])


def _but_size(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if k != "size"}
