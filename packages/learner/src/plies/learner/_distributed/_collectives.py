"""Collectives across ranks: broadcast an int, average a tensor, any-rank flag, gather objects and batches."""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist

from ._process import _initialized


def _comm(t: torch.Tensor) -> torch.Tensor:
    # nccl moves CUDA tensors only; gloo handles CPU tensors in every collective
    if dist.get_backend() == "nccl":
        return t.to(torch.device("cuda", torch.cuda.current_device()))
    return t.cpu()


def broadcast_int(value: int, src: int = 0) -> int:
    """`value` as held by rank `src`, on every rank."""
    if not _initialized() or dist.get_world_size() == 1:
        return value
    t = _comm(torch.tensor([value], dtype=torch.int64))
    dist.broadcast(t, src)
    return int(t.item())


def all_reduce_mean(t: torch.Tensor) -> torch.Tensor:
    """The mean of `t` over all ranks (a detached copy, on `t`'s device)."""
    out = _comm(t.detach().clone().float())
    dist.all_reduce(out)
    return (out / dist.get_world_size()).to(device=t.device, dtype=t.dtype)


def all_reduce_max_flag(flag: bool) -> bool:
    """True on every rank when `flag` is True on any rank."""
    if not _initialized() or dist.get_world_size() == 1:
        return flag
    t = _comm(torch.tensor([int(flag)], dtype=torch.int64))
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def all_gather_objects(obj: Any) -> list[Any]:
    """`obj` from every rank, in rank order (in-memory only; used for small plain-data states)."""
    if not _initialized() or dist.get_world_size() == 1:
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def gather_items(t: torch.Tensor, n_real: int) -> torch.Tensor:
    """Gather a sharded batch from all ranks into the order of the unsharded one, dropping padding.

    Rank r holds items r, r+W, r+2W... of the global batch (W = world size; this is how the
    DataLoader slices an epoch), every rank as many. `n_real` is how many of the global batch's items
    are real data (the rest, at the end, is padding repeated to give every rank the same number).
    """
    parts = all_gather_tensor(t)
    merged = torch.stack(parts, dim=1).reshape(len(parts) * t.shape[0], *t.shape[1:])
    return merged[:n_real]


def all_gather_tensor(t: torch.Tensor) -> list[torch.Tensor]:
    """`t` from every rank (same shape everywhere), in rank order, on `t`'s device."""
    src = _comm(t.detach().contiguous())
    out = [torch.empty_like(src) for _ in range(dist.get_world_size())]
    dist.all_gather(out, src)
    return [o.to(t.device) for o in out]
