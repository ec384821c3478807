"""Torch utilities over nested batches (tuples, lists, dicts of tensors), devices, seeds and ranks."""

from __future__ import annotations

import os
import random
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ._retain import retain_type

__all__ = [
    "apply",
    "to_device",
    "to_cpu",
    "to_detach",
    "to_float",
    "find_bs",
    "default_device",
    "set_seed",
    "rank_distrib",
    "num_distrib",
]


def apply(func: Callable[..., Any], x: Any, *args: Any, **kwargs: Any) -> Any:
    """Apply `func(leaf, *args, **kwargs)` to every leaf of `x`, recursing into tuples, lists and dicts.

    Container types are kept (namedtuples too), and a leaf's semantic type is kept when `func`
    returns its base class (e.g. a plain Tensor for a TensorImage).
    """
    if isinstance(x, dict):
        return type(x)({k: apply(func, v, *args, **kwargs) for k, v in x.items()})
    if isinstance(x, (tuple, list)):
        items = [apply(func, o, *args, **kwargs) for o in x]
        if isinstance(x, tuple) and hasattr(x, "_fields"):
            return type(x)(*items)
        return type(x)(items)
    res = func(x, *args, **kwargs)
    return res if x is None else retain_type(res, x)


def default_device(use: bool | int | None = None) -> torch.device:
    """The device to use: CUDA (or Apple MPS) when available and `use` is not False, else the CPU.

    `use=True` asks for an accelerator and warns when none is available; `use=-1` (fastai's
    default) means the same as None.
    """
    if use == -1 and not isinstance(use, bool):
        use = None
    if use is False:
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    if use:
        warnings.warn(
            "default_device(use=True): no CUDA or MPS device is available; using the CPU", stacklevel=2
        )
    return torch.device("cpu")


def to_device(b: Any, device: torch.device | str | int | None = None, non_blocking: bool = False) -> Any:
    """Move every tensor of the (nested) batch `b` to `device` (default: `default_device()`).

    Tuples (namedtuples too), lists and dicts keep their types, tensors their semantic type and
    metadata. `non_blocking` lets a copy to an accelerator overlap with the work queued there (from
    pinned memory); copies to the CPU always block, so the values are there when this returns.
    """
    target = default_device() if device is None else torch.device(device)
    return _moved(b, target, non_blocking and target.type != "cpu")


def _moved(b: Any, device: torch.device, non_blocking: bool) -> Any:
    # a plain recursion rather than `apply`: this runs for every batch of a training loop
    if isinstance(b, Tensor):
        return b.to(device, non_blocking=non_blocking)
    if isinstance(b, (tuple, list)):
        items = [_moved(o, device, non_blocking) for o in b]
        if type(b) is tuple or type(b) is list:
            return type(b)(items)
        return type(b)(*items) if hasattr(b, "_fields") else type(b)(items)
    if isinstance(b, dict):
        return type(b)({k: _moved(v, device, non_blocking) for k, v in b.items()})
    return b


def to_cpu(b: Any) -> Any:
    """Move every tensor of the (nested) batch `b` to the CPU."""
    return to_device(b, "cpu")


def _gather(x: Tensor) -> Tensor:
    """Concatenate `x` from all processes of the initialised process group along dim 0."""
    dist = torch.distributed
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return retain_type(torch.cat(parts), x)


def to_detach(b: Any, cpu: bool = True, gather: bool = True) -> Any:
    """Detach every tensor of `b` from the graph (and move it to the CPU if `cpu`).

    With `gather` in a distributed run (`num_distrib() > 1` and an initialised process group),
    each tensor is first concatenated from all processes along its first dimension.
    """
    do_gather = gather and num_distrib() > 1 and _dist_ready()

    def _detach(x: Any) -> Any:
        if not isinstance(x, Tensor):
            return x
        x = x.detach()
        if do_gather:
            x = _gather(x)
        return x.cpu() if cpu else x

    return apply(_detach, b)


def to_float(b: Any) -> Any:
    """Convert the floating-point tensors of `b` (e.g. half) to float32; other leaves unchanged."""
    return apply(lambda x: x.float() if isinstance(x, Tensor) and torch.is_floating_point(x) else x, b)


def _first_tensor(b: Any) -> Tensor | None:
    """The first tensor found in `b`, depth first (dict values in order)."""
    if isinstance(b, Tensor):
        return b
    items = b.values() if isinstance(b, dict) else b if isinstance(b, (tuple, list)) else ()
    for o in items:
        t = _first_tensor(o)
        if t is not None:
            return t
    return None


def find_bs(b: Any) -> int:
    """The batch size of `b`: the first dimension of its first tensor (searched in nested containers)."""
    t = _first_tensor(b)
    if t is None:
        raise ValueError(f"find_bs: no tensor found in the batch (a {type(b).__name__})")
    if t.dim() == 0:
        raise ValueError("find_bs: the first tensor of the batch is a scalar (0-d): no batch dimension")
    return int(t.shape[0])


def set_seed(s: int, reproducible: bool = False) -> None:
    """Seed Python's `random`, NumPy and torch (all devices); `reproducible` makes cuDNN deterministic."""
    random.seed(s)
    np.random.seed(s % (2**32 - 1))
    torch.manual_seed(s)
    if reproducible:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def _dist_ready() -> bool:
    """Whether torch.distributed is available and its process group initialised."""
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def _env_int(name: str, default: int) -> int:
    """An integer environment variable, or `default` when unset."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer, found {value!r}") from None


def rank_distrib() -> int:
    """The rank of this process: from torch.distributed when initialised, else `RANK`, else 0."""
    if _dist_ready():
        return int(torch.distributed.get_rank())
    return _env_int("RANK", 0)


def num_distrib() -> int:
    """The number of processes: from torch.distributed when initialised, else `WORLD_SIZE`, else 1."""
    if _dist_ready():
        return int(torch.distributed.get_world_size())
    return _env_int("WORLD_SIZE", 1)
