"""Data-parallel training on torch.distributed: `distrib_ctx` and the `DistributedTrainer` callback.

Launch one process per device with PyTorch's launcher, ``torchrun --nproc_per_node N train.py``; it
sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT, from which `setup_distrib` creates the
default process group (gloo on CPU, nccl on GPU). Inside ``with learn.distrib_ctx():`` every fit wraps
the model in `torch.nn.parallel.DistributedDataParallel` and shards the DataLoaders (``bs`` per rank,
disjoint slices of one per-epoch order whose seed comes from rank 0); validation batches are gathered
from all ranks with the padding removed, so metrics count each sample exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from .._callback import Callback, validation_only
from .._callbacks._training import GradientAccumulation
from .._utils import batch_size
from ._collectives import _comm, all_gather_tensor, all_reduce_mean, broadcast_int, gather_items
from ._process import _initialized, local_device, setup_distrib, teardown_distrib

__all__ = ["DistributedTrainer"]


def unwrap_model(model: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel / DataParallel wrapper (or `model` itself)."""
    while isinstance(model, (DistributedDataParallel, nn.DataParallel)):
        model = model.module
    return model


class _DDP(DistributedDataParallel):
    """DistributedDataParallel whose state_dict is the wrapped module's (no 'module.' prefix).

    So a state saved while the model is wrapped (LRFinder's snapshot, SaveModelCallback, learn.save)
    loads into the unwrapped model and the other way round.
    """

    def state_dict(self, *args: Any, **kwargs: Any) -> Any:
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        return self.module.load_state_dict(state_dict, strict=strict, assign=assign)


def _map_tensors(f: Callable[[torch.Tensor], torch.Tensor], o: Any) -> Any:
    if isinstance(o, torch.Tensor):
        return f(o)
    if isinstance(o, (tuple, list)):
        return type(o)(_map_tensors(f, v) for v in o)
    if isinstance(o, dict):
        return {k: _map_tensors(f, v) for k, v in o.items()}
    return o


class DistributedTrainer(Callback):
    """Train data-parallel on the default process group (see `setup_distrib`; `distrib_ctx` adds this).

    Before each fit: converts BatchNorm to SyncBatchNorm when `sync_bn`, wraps the model in
    `DistributedDataParallel` and shards the DataLoaders (`bs` per rank, one order for all ranks).
    Each batch: the recorded training loss is averaged over ranks (so every rank logs, and decides
    on, the global loss); in validation and `get_preds` the predictions, targets and inputs of all
    ranks are gathered, padding removed, so metrics see each sample exactly once. With
    `GradientAccumulation`, micro-batches that do not step skip DDP's gradient all-reduce (`no_sync`).
    After the fit the model is unwrapped and the unsharded DataLoaders put back.
    """

    order = 11  # after MixedPrecision's setup (10), before the Recorder (which logs the averaged loss)
    run_before = ("TerminateOnNaNCallback",)  # it must see the averaged loss, or ranks could stop apart

    def __init__(self, sync_bn: bool = False, find_unused_parameters: bool = False) -> None:
        super().__init__()
        self.sync_bn, self.find_unused_parameters = sync_bn, find_unused_parameters
        self._wrapped = False
        self._old_loaders: list[Any] | None = None
        self._no_sync: Any = None
        self._sharded_here = False
        self._seen = 0

    # ---- model -------------------------------------------------------------------------------
    def _wrap_model(self) -> None:
        learn = self.learn
        if isinstance(learn.model, DistributedDataParallel):
            return
        model = learn.model
        device = next(iter(model.parameters())).device
        if self.sync_bn:
            if device.type == "cpu":
                raise ValueError(
                    "DistributedTrainer(sync_bn=True): SyncBatchNorm runs on GPUs only and the model "
                    "is on the CPU; use sync_bn=False on CPU"
                )
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        ids = [device.index] if device.type == "cuda" else None
        learn.model = _DDP(
            model,
            device_ids=ids,
            output_device=ids[0] if ids else None,
            find_unused_parameters=self.find_unused_parameters,
        )
        self._wrapped = True

    def _unwrap_model(self) -> None:
        if self._wrapped:
            self.learn.model = unwrap_model(self.learn.model)
            self._wrapped = False

    # ---- data ----------------------------------------------------------------------------------
    def _shard(self, dl: Any) -> Any:
        """A copy of `dl` that loads this rank's slice, at the same position, with rank 0's seed."""
        world = dist.get_world_size()
        if getattr(dl, "world_size", 1) == world:
            return dl
        if not (hasattr(dl, "new") and hasattr(dl, "state_dict")):
            raise TypeError(
                f"DistributedTrainer: cannot shard {dl!r}; data-parallel training needs plies "
                "DataLoaders (they shard each epoch's order over the ranks)"
            )
        if getattr(dl, "n", None) is None:
            raise ValueError(
                f"DistributedTrainer: cannot shard {dl!r}: its length is unknown (a stream); "
                "give the DataLoader n= or an indexed dataset"
            )
        state = dl.state_dict()
        if state["seed"] is not None:  # None: the sharded loader draws rank 0's seed on first use
            state["seed"] = broadcast_int(int(state["seed"]))
        sharded = dl.new(rank=dist.get_rank(), world_size=world)
        sharded.load_state_dict(state)
        return sharded

    def shard_loaders(self) -> None:
        """Replace the learner's DataLoaders by sharded copies (kept until `restore_loaders`)."""
        if self._old_loaders is not None:
            return
        loaders = self.learn.dls.loaders
        self._old_loaders = list(loaders)
        for i, dl in enumerate(self._old_loaders):
            loaders[i] = self._shard(dl)

    def restore_loaders(self) -> None:
        """Put the unsharded DataLoaders back, at the position the sharded ones reached."""
        if self._old_loaders is None:
            return
        loaders = self.learn.dls.loaders
        for i, (old, cur) in enumerate(zip(self._old_loaders, list(loaders), strict=True)):
            if cur is not old:
                old.load_state_dict(cur.state_dict())  # keep seed and position for the next fit
            loaders[i] = old
        self._old_loaders = None

    # ---- events --------------------------------------------------------------------------------
    def before_fit(self) -> None:
        """Wrap the model in DDP, shard the DataLoaders (unless `distrib_ctx` did); ranks > 0 log nothing.

        A validation-only pass (validate / get_preds, maybe inside a fit) needs none of it: its batches
        are sharded and gathered by `before_validate` / `after_pred`.
        """
        if validation_only(self.learn):
            return
        self._wrap_model()
        self._sharded_here = self._old_loaders is None
        self.shard_loaders()
        if dist.get_rank() != 0:
            self._logger, self.learn.logger = self.learn.logger, _silent

    def before_train(self) -> None:
        """Shard a DataLoader the loop was given directly."""
        self.learn.dl = self._shard(self.learn.dl)

    def before_validate(self) -> None:
        """Shard the validation DataLoader (also for get_preds) and give all ranks rank 0's buffers."""
        self.learn.dl = self._shard(self.learn.dl)
        self._seen = 0
        for b in unwrap_model(self.learn.model).buffers():
            src = _comm(b.data)
            dist.broadcast(src, 0)
            if src is not b.data:
                b.data.copy_(src)

    def after_pred(self) -> None:
        """In validation: replace pred, yb and xb by the batch gathered from all ranks, padding removed."""
        learn = self.learn
        if learn.training:
            return
        local = batch_size((*learn.yb, *learn.xb))
        sizes = [int(s) for s in all_gather_tensor(_comm(torch.tensor([local])))]
        if len(set(sizes)) != 1:
            raise RuntimeError(
                f"DistributedTrainer: the ranks' validation batches have different sizes {sizes}; a sharded "
                "DataLoader gives every rank as many items (pad=True)"
            )
        n_real = max(0, min(local * len(sizes), learn.dl.n - self._seen))
        self._seen += local * len(sizes)
        learn.pred = _map_tensors(lambda t: gather_items(t, n_real), learn.pred)
        learn.yb = _map_tensors(lambda t: gather_items(t, n_real), learn.yb)
        learn.xb = _map_tensors(lambda t: gather_items(t, n_real), learn.xb)

    def before_batch(self) -> None:
        """Skip DDP's gradient all-reduce on micro-batches after which GradientAccumulation does not step.

        `no_sync` must cover the forward pass too (DDP prepares the reduction there).
        """
        learn = self.learn
        if not learn.training or not isinstance(learn.model, DistributedDataParallel):
            return
        acc = next((cb for cb in learn.cbs if isinstance(cb, GradientAccumulation)), None)
        if acc is not None and acc.count + batch_size(learn.yb) < acc.n_acc:  # GradientAccumulation's test
            self._no_sync = learn.model.no_sync()
            self._no_sync.__enter__()

    def _exit_no_sync(self) -> None:
        if self._no_sync is not None:
            ctx, self._no_sync = self._no_sync, None
            ctx.__exit__(None, None, None)

    def after_batch(self) -> None:
        """Leave `no_sync`; average the training loss over ranks (what the Recorder logs, callbacks see)."""
        self._exit_no_sync()
        if self.learn.training and isinstance(self.learn.loss, torch.Tensor):
            self.learn.loss = all_reduce_mean(self.learn.loss)

    def after_fit(self) -> None:
        """Unwrap the model and put the unsharded DataLoaders back (keeping their position)."""
        if validation_only(self.learn):  # the end of a validation pass, maybe inside a fit that goes on
            return
        self._unwrap_model()
        self._exit_no_sync()
        if self._sharded_here:
            self.restore_loaders()
        if "_logger" in self.__dict__:
            self.learn.logger = self.__dict__.pop("_logger")


def _silent(*args: Any, **kwargs: Any) -> None:
    return None


@contextmanager
def distrib_ctx(
    learn: Any,
    sync_bn: bool = False,
    backend: str | None = None,
    find_unused_parameters: bool = False,
    timeout: timedelta | None = None,
) -> Iterator[Any]:
    """Context manager: train `learn` data-parallel over the processes torchrun started.

    Creates the process group from torchrun's environment (unless one exists), moves model and data
    to this rank's device and adds a `DistributedTrainer`; on exit (or error) removes it and destroys
    the group it created. In a single process (no WORLD_SIZE > 1) it does nothing.
    """
    created = setup_distrib(backend=backend, timeout=timeout)
    if not (_initialized() and dist.get_world_size() > 1):
        yield learn
        return
    cb = DistributedTrainer(sync_bn=sync_bn, find_unused_parameters=find_unused_parameters)
    try:
        device = local_device()
        learn.dls.device = device
        learn.model.to(device)
        learn.add_cb(cb)
        cb.shard_loaders()  # bs is per rank inside the context: lr_find, get_preds and fit all see shards
        yield learn
    finally:
        cb.restore_loaders()
        learn.remove_cb(cb)
        if created:
            teardown_distrib()
