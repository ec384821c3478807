"""The torch side of a plies DataLoader: the torch DataLoader it drives, the IterableDataset each worker
process runs, worker seeding, and the seed broadcast that keeps every rank's shuffle order identical."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from torch.utils.data import DataLoader as TorchDataLoader
from torch.utils.data import IterableDataset, get_worker_info

if TYPE_CHECKING:
    from ._dataloader import DataLoader


class PliesStream(IterableDataset):
    """The torch-side view of a plies DataLoader: each worker yields the batches it owns."""

    def __init__(self, dl: DataLoader) -> None:
        # A weak reference in the main process: the DataLoader keeps its persistent torch loader, and a
        # cycle back to it would leave the workers to a garbage-collector pass that finds their queues
        # already closed (each worker then waits out torch's 5 s status timeout before exiting).
        self._ref: Any = weakref.ref(dl)

    @property
    def dl(self) -> DataLoader:
        dl = self._ref()
        if dl is None:
            raise RuntimeError("PliesStream: its DataLoader no longer exists")
        return dl

    def __getstate__(self) -> dict[str, Any]:
        return {"dl": self.dl}  # a spawned worker gets its own copy of the DataLoader

    def __setstate__(self, state: dict[str, Any]) -> None:
        dl = state["dl"]
        self._ref = lambda: dl

    def __iter__(self) -> Iterator[Any]:
        dl, info = self.dl, get_worker_info()
        if info is not None:
            dl.offs, dl.num_workers = info.id, info.num_workers
            plan = tuple(int(v) for v in dl._plan.tolist())
            if plan != dl._prepared:  # persistent workers keep an old copy: follow the main process's plan
                dl._base_seed = plan[0]
                dl._prepare(plan[1], plan[2])
        return dl.create_batches(dl.sample())


def identity_collate(b: Any) -> Any:
    """The collate function of the torch loader: plies' workers already return whole batches."""
    return b


def worker_init(worker_id: int) -> None:
    """Seed numpy in each worker from the seed torch gave it (torch seeds `random` and torch itself)."""
    np.random.seed(torch.initial_seed() % 2**32)
    info = get_worker_info()
    if info is not None:
        cast(PliesStream, info.dataset).dl.wif()


def broadcast_seed(seed: int, world_size: int) -> int:
    """Rank 0's `seed`, broadcast through torch.distributed so every rank shuffles alike."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        raise ValueError(
            f"DataLoader(shuffle=True, world_size={world_size}): every rank must shuffle alike; "
            "pass seed= or initialise torch.distributed so rank 0's seed is broadcast"
        )
    device = (
        torch.device("cuda", torch.cuda.current_device())
        if dist.get_backend() == "nccl"
        else torch.device("cpu")
    )
    t = torch.tensor([seed], dtype=torch.int64, device=device)
    dist.broadcast(t, src=0)
    return int(t.item())


def torch_loader(dl: DataLoader) -> TorchDataLoader:
    """The torch DataLoader running `dl.create_batches` in worker processes (kept when persistent)."""
    if dl._torch_loader is not None and dl.persistent_workers:
        return dl._torch_loader
    generator = torch.Generator().manual_seed(int(dl.generator.initial_seed()) % 2**63)
    kwargs: dict[str, Any] = {}
    if dl.num_workers > 0:
        kwargs.update(
            worker_init_fn=worker_init, persistent_workers=dl.persistent_workers, timeout=dl.timeout
        )
    loader = TorchDataLoader(
        PliesStream(dl),
        batch_size=None,
        collate_fn=identity_collate,
        num_workers=dl.num_workers,
        pin_memory=dl.pin_memory,
        generator=generator,
        **kwargs,
    )
    if dl.persistent_workers:
        dl._plan.share_memory_()
        dl._torch_loader = loader
    return loader
