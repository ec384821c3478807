"""The order of a DataLoader's epochs: the base seed, each rank's share, and resuming mid-epoch.

The order of epoch `k` is a pure function of `(seed, k)` (the `randomize`/`get_idxs` stages of
`DataLoader` draw it); this module fixes the seed, cuts the order into the shares of
data-parallel ranks, skips the batches a resumed run has already seen, and saves/loads that
position as plain data.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from typing import Any

import torch

from ._workers import broadcast_seed


class EpochOrder:
    """Mixin of `DataLoader`: seeding, sharding across ranks and the resumable position in the data."""

    # set by DataLoader.__init__
    n: int | None
    bs: int | None
    shuffle: bool
    seed: int | None
    rank: int
    world_size: int
    pad: bool
    epoch: int
    _base_seed: int | None
    _resume_skip: int
    _running: list[int] | None
    _prepared: tuple[int, int, int] | None
    _idxs: Iterable[Any]
    _epoch_now: int
    # and the stages `randomize` and `get_idxs`, defined (and replaceable) on DataLoader

    @property
    def items_per_rank(self) -> int:
        """Number of items this rank loads in one epoch (padding included; `n` when not sharded)."""
        if self.n is None:
            raise TypeError("DataLoader.items_per_rank: the source length is unknown; pass n=")
        if self.world_size == 1:
            return self.n
        return math.ceil(self.n / self.world_size) if self.pad else self.n // self.world_size

    @property
    def sharded_pad_count(self) -> int:
        """How many trailing items of this rank's epoch are padding (repeats added so ranks step equally)."""
        if self.world_size == 1 or not self.pad or self.n is None:
            return 0
        total = math.ceil(self.n / self.world_size) * self.world_size
        return int(total - self.world_size + self.rank >= self.n)

    def state_dict(self) -> dict[str, Any]:
        """Position in the data as plain data: `{seed, epoch, batches_done, bs, n, rank, world_size}`.

        During an iteration `epoch` is the running epoch and `batches_done` counts the batches
        handed out so far (the one being processed included); between epochs it is the next epoch.
        `seed` is None while a loader built with `seed=None` has not drawn its seed yet: asking for
        the state does not draw it (that would shift torch's RNG stream and break an exact resume).
        """
        if self._base_seed is None and self.seed is not None:
            self._base_seed = int(self.seed)
        epoch, done = self._running if self._running is not None else (self.epoch, self._resume_skip)
        return {
            "seed": self._base_seed,
            "epoch": epoch,
            "batches_done": done,
            "bs": self.bs,
            "n": self.n,
            "rank": self.rank,
            "world_size": self.world_size,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Make the next iteration replay epoch `state['epoch']` in its exact order, after `batches_done`."""
        missing = {"seed", "epoch", "batches_done"} - set(state)
        if missing:
            raise KeyError(
                f"DataLoader.load_state_dict: state lacks {sorted(missing)}; got keys {sorted(state)}"
            )
        self._base_seed, self.epoch, self._resume_skip = (
            None if state["seed"] is None else int(state["seed"]),
            int(state["epoch"]),
            int(state["batches_done"]),
        )

    def _resolve_seed(self) -> None:
        """Fix the base seed: the given one, or one drawn from torch's RNG (rank 0's when distributed)."""
        if self._base_seed is not None:
            return
        if self.seed is not None:
            self._base_seed = int(self.seed)
            return
        seed = int(torch.randint(0, 2**62, (1,)).item())
        if self.world_size > 1 and self.shuffle:
            seed = broadcast_seed(seed, self.world_size)
        self._base_seed = seed

    def _prepare(self, epoch: int, skip: int) -> None:
        """Compute this rank's order for `epoch`, starting after `skip` batches, into `self._idxs`."""
        self._epoch_now = epoch
        self.randomize()
        idxs = self.get_idxs()
        if self.world_size > 1:
            idxs = self._shard(list(idxs))
        if skip:
            start = skip * (self.bs or 1)
            idxs = idxs[start:] if isinstance(idxs, (list, range)) else itertools.islice(idxs, start, None)
        self._idxs = idxs
        self._prepared = (int(self._base_seed or 0), epoch, skip)

    def _shard(self, idxs: list[Any]) -> list[Any]:
        """This rank's slice of the order, padded (repeating items) or cut to a multiple of ranks."""
        ws, n = self.world_size, len(idxs)
        if self.pad:
            total = math.ceil(n / ws) * ws
            idxs = idxs + [idxs[i % n] for i in range(total - n)] if n else idxs
        else:
            total = n // ws * ws
            idxs = idxs[:total]
        return idxs[self.rank : total : ws]
