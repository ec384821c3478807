"""Batch geometry: 3x3 homographies on normalised coordinates, their sampling grid and point mapping.

Every geometric augmentation of a batch is one 3x3 matrix per item acting on homogeneous
*output* coordinates and giving the *input* location to read (the direction `grid_sample`
wants). Affine transforms (flip, dihedral, rotation, zoom, translation) and perspective warps
are all such matrices, so any sequence of them composes by matrix product into ONE matrix, and
the whole batch is resampled with ONE `grid_sample` call: one interpolation, whatever the number
of transforms (the paper's point). Points and boxes go the other way (input -> output) through
the inverse matrix, which exists in closed form for every matrix built here.

Coordinates are normalised as in `grid_sample(align_corners=False)`: -1 and 1 are the outer
edges of the image, x first (width), then y (height).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "affine_mat",
    "rotate_mat",
    "zoom_mat",
    "flip_mat",
    "dihedral_mat",
    "perspective_mat",
    "homography_grid",
    "warp_points",
    "sample_batch",
]


def affine_mat(*rows: Tensor) -> Tensor:
    """A batch of 3x3 matrices from the 6 affine coefficients ``(a, b, c, d, e, f)`` (each of shape (bs,)).

    The matrix is ``[[a, b, c], [d, e, f], [0, 0, 1]]``.
    """
    if len(rows) != 6:
        raise ValueError(f"affine_mat: expected 6 coefficient tensors, found {len(rows)}")
    a = rows[0]
    zero, one = torch.zeros_like(a), torch.ones_like(a)
    return torch.stack([*rows, zero, zero, one], dim=1).view(-1, 3, 3)


def rotate_mat(degrees: Tensor) -> Tensor:
    """Rotation matrices (bs, 3, 3) about the image centre by `degrees` (counter-clockwise on screen)."""
    theta = degrees * (math.pi / 180)
    cos, sin = theta.cos(), theta.sin()
    zero = torch.zeros_like(theta)
    # output -> input: rotating the content counter-clockwise reads the input clockwise
    return affine_mat(cos, -sin, zero, sin, cos, zero)


def zoom_mat(scale: Tensor, col_pct: Tensor | None = None, row_pct: Tensor | None = None) -> Tensor:
    """Zoom-in matrices (bs, 3, 3): `scale` > 1 magnifies, centred at (`col_pct`, `row_pct`) in [0, 1].

    The centre moves so that the zoomed window stays inside the image (as fastai's Zoom).
    """
    inv = 1 / scale
    col = torch.full_like(scale, 0.5) if col_pct is None else col_pct
    row = torch.full_like(scale, 0.5) if row_pct is None else row_pct
    cx = (1 - inv) * (2 * col - 1)
    cy = (1 - inv) * (2 * row - 1)
    zero = torch.zeros_like(scale)
    return affine_mat(inv, zero, cx, zero, inv, cy)


def flip_mat(flip: Tensor) -> Tensor:
    """Horizontal-flip matrices (bs, 3, 3): a flip where `flip` is true, the identity elsewhere."""
    sign = 1 - 2 * flip.to(torch.float32)
    zero = torch.zeros_like(sign)
    return affine_mat(sign, zero, zero, zero, torch.ones_like(sign), zero)


def dihedral_mat(k: Tensor) -> Tensor:
    """The 8 symmetries of the square, `k` in 0..7 (bit 0: flip x, bit 1: flip y, bit 2: transpose)."""
    k = k.long()
    fx = 1 - 2 * (k & 1).to(torch.float32)
    fy = 1 - 2 * ((k >> 1) & 1).to(torch.float32)
    tr = ((k >> 2) & 1).to(torch.float32)
    zero = torch.zeros_like(fx)
    # transpose swaps x and y after the flips
    return affine_mat(fx * (1 - tr), fy * tr, zero, fx * tr, fy * (1 - tr), zero)


def perspective_mat(src: Tensor, dst: Tensor) -> Tensor:
    """The homographies (bs, 3, 3) mapping the 4 points `src` (bs, 4, 2) onto `dst` (bs, 4, 2)."""
    bs = src.shape[0]
    x, y = src[..., 0], src[..., 1]
    u, v = dst[..., 0], dst[..., 1]
    zero, one = torch.zeros_like(x), torch.ones_like(x)
    # two linear equations per point in the 8 unknowns h11..h32 (h33 = 1)
    rows_u = torch.stack([x, y, one, zero, zero, zero, -u * x, -u * y], dim=-1)
    rows_v = torch.stack([zero, zero, zero, x, y, one, -v * x, -v * y], dim=-1)
    a = torch.cat([rows_u, rows_v], dim=1)
    b = torch.cat([u, v], dim=1)
    h = torch.linalg.solve(a.double(), b.double()).to(src.dtype)
    return torch.cat([h, torch.ones(bs, 1, dtype=h.dtype, device=h.device)], dim=1).view(bs, 3, 3)


def _axes(
    h: int, w: int, device: torch.device, dtype: torch.dtype, align_corners: bool
) -> tuple[Tensor, Tensor]:
    """The normalised x coordinates (w,) and y coordinates (h,) of the pixel centres."""
    if align_corners:  # -1 and 1 are the centres of the corner pixels
        return (
            torch.linspace(-1, 1, w, device=device, dtype=dtype),
            torch.linspace(-1, 1, h, device=device, dtype=dtype),
        )
    # -1 and 1 are the outer edges
    xs = (torch.arange(w, device=device, dtype=dtype) * 2 + 1) / w - 1
    ys = (torch.arange(h, device=device, dtype=dtype) * 2 + 1) / h - 1
    return xs, ys


def _plane(mats: Tensor, k: int, xs: Tensor, ys: Tensor, out: Tensor | None = None) -> Tensor:
    """Row `k` of `mats` applied to every pixel centre: (bs, h, w), the sum of an x term (bs, 1, w)
    and a y term (bs, h, 1): one broadcast add (a (bs, h*w, 3) matmul costs several times more)."""
    x_term = (mats[:, k, 0, None] * xs)[:, None, :]
    y_term = (mats[:, k, 1, None] * ys + mats[:, k, 2, None])[:, :, None]
    return torch.add(x_term, y_term, out=out)


def homography_grid(mats: Tensor, size: tuple[int, int], align_corners: bool = False) -> Tensor:
    """The sampling grid (bs, h, w, 2) of `mats` (bs, 3, 3) for an output of `size` = (h, w)."""
    h, w = size
    xs, ys = _axes(h, w, mats.device, mats.dtype, align_corners)
    grid = torch.empty(mats.shape[0], h, w, 2, device=mats.device, dtype=mats.dtype)
    _plane(mats, 0, xs, ys, out=grid[..., 0])
    _plane(mats, 1, xs, ys, out=grid[..., 1])
    if not bool((mats[:, 2, :2] == 0).all()):  # a perspective: divide by the third coordinate
        grid.div_(_plane(mats, 2, xs, ys).clamp_min_(1e-6)[..., None])
    elif not bool((mats[:, 2, 2] == 1).all()):
        grid.div_(mats[:, 2, 2, None, None, None])
    return grid


def warp_points(mats: Tensor, points: Tensor) -> Tensor:
    """Move points (bs, n, 2) of the input to where the transform `mats` (output -> input) puts them."""
    inv = torch.linalg.inv(mats.double()).to(points.dtype)
    ones = torch.ones(*points.shape[:-1], 1, dtype=points.dtype, device=points.device)
    coords = torch.cat([points, ones], dim=-1) @ inv.transpose(1, 2)
    return coords[..., :2] / coords[..., 2:]


def sample_batch(
    x: Tensor,
    mats: Tensor,
    size: tuple[int, int] | None = None,
    mode: str = "bilinear",
    pad_mode: str = "reflection",
    align_corners: bool = False,
) -> Tensor:
    """Resample the batch `x` (bs, c, h, w) through `mats` with one `grid_sample` (output `size`).

    Integer inputs (masks) are sampled with `mode='nearest'` and come back with their dtype.
    """
    size = tuple(x.shape[-2:]) if size is None else size
    grid = homography_grid(mats.to(device=x.device, dtype=torch.float32), size, align_corners)
    if x.is_floating_point():
        return F.grid_sample(
            x, grid.to(x.dtype), mode=mode, padding_mode=pad_mode, align_corners=align_corners
        )
    res = F.grid_sample(x.float(), grid, mode="nearest", padding_mode=pad_mode, align_corners=align_corners)
    return res.to(x.dtype)
