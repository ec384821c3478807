"""The process group: created from torchrun's environment, this process's rank and device, barriers."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import torch
import torch.distributed as dist

__all__ = ["setup_distrib", "teardown_distrib", "distrib_barrier", "rank0_first"]

T = TypeVar("T")


def _initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def _rank() -> int:
    return dist.get_rank() if _initialized() else int(os.environ.get("RANK", "0"))


def _world() -> int:
    return dist.get_world_size() if _initialized() else int(os.environ.get("WORLD_SIZE", "1"))


def local_device() -> torch.device:
    """The device of this process: ``cuda:LOCAL_RANK`` when CUDA is available, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def setup_distrib(backend: str | None = None, timeout: timedelta | None = None) -> bool:
    """Create the default process group from torchrun's environment; True when this call created it.

    Does nothing (returns False) when a group already exists or WORLD_SIZE is unset or 1.
    `backend` defaults to ``'nccl'`` when CUDA is available, else ``'gloo'``.
    """
    if _initialized() or int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    if not dist.is_available():
        raise RuntimeError("setup_distrib: this PyTorch build has no torch.distributed support")
    missing = [k for k in ("RANK", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
    if missing:
        raise RuntimeError(
            f"setup_distrib: WORLD_SIZE={os.environ['WORLD_SIZE']} but {', '.join(missing)} not set; launch "
            "the script with `torchrun --nproc_per_node N script.py` (or set RANK, LOCAL_RANK, MASTER_ADDR, "
            "MASTER_PORT)"
        )
    device = local_device()
    if backend is None:
        backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    kwargs: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    dist.init_process_group(backend=backend, init_method="env://", **kwargs)
    return True


def teardown_distrib() -> None:
    """Destroy the default process group if there is one."""
    if _initialized():
        dist.destroy_process_group()


def distrib_barrier() -> None:
    """Wait until every rank reaches this point (no-op outside a process group)."""
    if _initialized() and dist.get_world_size() > 1:
        dist.barrier()


def rank0_first(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `func` on rank 0 first, then on the other ranks (e.g. to download or cache data once)."""
    if _rank() == 0:
        result = func(*args, **kwargs)
        distrib_barrier()
        return result
    distrib_barrier()
    return func(*args, **kwargs)
