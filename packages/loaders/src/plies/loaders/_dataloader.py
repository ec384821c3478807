"""`DataLoader`: torch's DataLoader machinery driven by small, replaceable plies stages.

Every stage of loading is a short method that a constructor keyword (typecore `funcs_kwargs`)
or a subclass replaces. Underneath, a `torch.utils.data.DataLoader` over an `IterableDataset`
runs `create_batches(sample())` in each worker process (or in the main process when
`num_workers=0`); batch `i` of an epoch is built by worker `i % num_workers`, and torch hands
batches back in order. The order of epoch `k` is a pure function of `(seed, k)`, so every worker,
every rank and a resumed run compute the same order themselves.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

import torch
from plies.typecore import funcs_kwargs, is_listy, retain_types, to_cpu, to_device
from torch.utils.data import DataLoader as TorchDataLoader
from torch.utils.data import IterableDataset

from ._collate import batch_to_samples, collate_error, fa_collate, fa_convert
from ._init_record import record_init_arguments, recorded_arguments
from ._order import EpochOrder
from ._show import show_batch, show_results
from ._sources import as_columns
from ._workers import torch_loader

__all__ = ["DataLoader"]

_NOOP_METHODS = ("wif", "before_iter", "after_item", "before_batch", "after_batch", "after_iter")
_METHODS = _NOOP_METHODS + (
    "create_batches",
    "create_item",
    "create_batch",
    "retain",
    "get_idxs",
    "sample",
    "shuffle_fn",
    "randomize",
    "do_item",
    "do_batch",
)
# Stages whose default implementation allows fetching a whole batch with one index operation.
_PER_ITEM_STAGES = (
    "create_item",
    "do_item",
    "after_item",
    "before_batch",
    "create_batch",
    "retain",
    "do_batch",
)


@funcs_kwargs
class DataLoader(EpochOrder):
    """Load batches from an indexed or iterable source through replaceable stages (see the README table).

    `bs=None` (the default, as in fastai) yields items one by one without collation (e.g. a
    source of ready batches); `TfmdDL` and `dataloaders(...)` default to `bs=64`. The shuffle
    order of epoch `k` depends only on `(seed, k)`; with `seed=None` a base seed is drawn from
    torch's global RNG on first use. `rank`/`world_size` shard each epoch's order across
    data-parallel processes (`pad=True` repeats items so every rank gets as many items; `pad=False`
    drops the remainder). Iterating yields batches already moved to `device`.

    A subclass may take constructor arguments of its own: they are recorded (by name) when it is
    created, and `new()` passes them again, so the subclass survives the validation loader,
    `test_dl` and data-parallel sharding without overriding `new` (an argument computed from the
    dataset, such as per-item lengths, still needs a `new` that recomputes it for another dataset).
    """

    _methods = list(_METHODS)
    # the constructor arguments `new()` reads back from attributes (or sets itself); a subclass
    # adds those of its own it handles in `new` (TfmdDL: verbose, do_setup)
    _new_handles: ClassVar[frozenset[str]] = frozenset(
        ("dataset", "bs", "batch_size", "shuffle", "drop_last", "num_workers", "pin_memory")
        + ("persistent_workers", "device", "seed", "n", "indexed", "rank", "world_size", "pad", "timeout")
        + _METHODS
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        record_init_arguments(cls, cls._new_handles)

    def __init__(
        self,
        dataset: Any = None,
        bs: int | None = None,
        shuffle: bool = False,
        drop_last: bool = False,
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
        device: Any = None,
        seed: int | None = None,
        n: int | None = None,
        indexed: bool | None = None,
        rank: int = 0,
        world_size: int = 1,
        pad: bool = True,
        timeout: float = 0,
        batch_size: int | None = None,
    ) -> None:
        if batch_size is not None:  # torch's (and fastai's) spelling of bs
            bs = batch_size
        if bs is not None and (not isinstance(bs, int) or bs < 1):
            raise ValueError(f"DataLoader: bs must be a positive int or None (no batching), got {bs!r}")
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be an int >= 0, got {num_workers!r}")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers=True needs num_workers > 0 (got num_workers=0)")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(
                f"DataLoader: need 0 <= rank < world_size, got rank={rank}, world_size={world_size}"
            )
        self.dataset, self.bs, self.shuffle, self.drop_last = dataset, bs, shuffle, drop_last
        self.num_workers, self.pin_memory, self.persistent_workers = (
            num_workers,
            pin_memory,
            persistent_workers,
        )
        self.device, self.seed, self.timeout = device, seed, timeout
        self.rank, self.world_size, self.pad = rank, world_size, pad
        self._indexed_arg, self._n_arg = indexed, n
        self._columns = as_columns(dataset)
        if indexed is None:
            indexed = (
                dataset is not None
                and hasattr(dataset, "__getitem__")
                and not isinstance(dataset, IterableDataset)
            )
        self.indexed = indexed
        if n is None and dataset is not None:
            try:
                n = len(dataset if self._columns is None else self._columns)
            except TypeError:
                n = None
        self.n = n
        if shuffle and not indexed:
            raise ValueError(
                "DataLoader: shuffle=True needs an indexed source (one with __getitem__); "
                f"got {type(dataset).__name__}, which is read as a stream"
            )
        self.offs, self.rng = 0, random.Random(0)
        self.generator = torch.Generator()
        self.epoch, self._resume_skip = 0, 0
        self._running: list[int] | None = None
        self._base_seed: int | None = None
        self._prepared: tuple[int, int, int] | None = None
        self._plan = torch.zeros(3, dtype=torch.int64)
        self._torch_loader: TorchDataLoader | None = None

    # ---- sample creation -------------------------------------------------------------------
    def get_idxs(self) -> Iterable[Any]:
        """The epoch's samples in order: indices `0..n-1` (shuffled when `shuffle`), or stream positions."""
        idxs: Any = range(self.n) if self.n is not None else itertools.count()
        return self.shuffle_fn(idxs) if self.shuffle else idxs

    def shuffle_fn(self, idxs: Sequence[Any]) -> list[Any]:
        """A permutation of `idxs` drawn from this epoch's generator."""
        perm = torch.randperm(len(idxs), generator=self.generator).tolist()
        return perm if isinstance(idxs, range) and idxs == range(len(idxs)) else [idxs[i] for i in perm]

    def randomize(self) -> None:
        """Reseed `self.generator` and `self.rng` for the epoch being prepared (from seed and epoch)."""
        # a str seed is hashed with SHA-512 by `random`: the same on every run, process and platform
        seed = random.Random(f"plies:{self._base_seed or 0}:{self._epoch_now}").getrandbits(63)
        self.generator.manual_seed(seed)
        self.rng = random.Random(seed)

    def sample(self) -> Iterable[Any]:
        """The samples this worker builds: those of the batches `offs, offs+num_workers, ...`."""
        if self.num_workers <= 1:
            return self._idxs
        per, nw, offs = (self.bs or 1), self.num_workers, self.offs
        return (s for i, s in enumerate(self._idxs) if i // per % nw == offs)

    # ---- item creation ---------------------------------------------------------------------
    def create_item(self, s: Any) -> Any:
        """Item for sample `s`: `dataset[s]` when indexed, else the stream's item at position `s`."""
        if self.indexed:
            return (self.dataset if self._columns is None else self._columns)[s]
        return self._next_item(s)

    def do_item(self, s: Any) -> Any:
        """Create the item for sample `s` and apply `after_item` to it."""
        return self.after_item(self.create_item(s))

    def after_item(self, item: Any) -> Any:
        """Per-item processing after creation (no-op by default; a Pipeline in TfmdDL)."""
        return item

    def before_batch(self, items: list[Any]) -> list[Any]:
        """Processing of the list of items of a batch before collation (no-op by default)."""
        return items

    # ---- batch creation --------------------------------------------------------------------
    def create_batches(self, samps: Iterable[Any]) -> Iterator[Any]:
        """Turn this worker's samples into batches (chunks of `bs`, or single items when `bs=None`)."""
        if not self.indexed:
            self.it, self._stream_pos = iter(self.dataset) if self.dataset is not None else None, 0
        if self._batch_indexing():
            yield from self._indexed_batches(samps)
            return
        if self.bs is None:
            yield from map(self.do_batch, self._items(samps))
            return
        do_item, do_batch, bs = self._item_fetcher(), self.do_batch, self.bs
        chunk: list[Any] = []
        for s in samps:
            try:
                item = do_item(s)
            except StopIteration:  # a stream source ended
                break
            chunk.append(item)
            if len(chunk) == bs:
                yield do_batch(chunk)
                chunk = []
        if chunk and not self.drop_last:
            yield do_batch(chunk)

    def create_batch(self, items: list[Any]) -> Any:
        """Collate a list of items into a batch (`fa_collate`); with `bs=None` convert one (`fa_convert`)."""
        if self.bs is None:
            return fa_convert(items)
        try:
            return fa_collate(items)
        except (RuntimeError, TypeError, ValueError) as e:
            raise collate_error(e, items) from e

    def retain(self, res: Any, b: Any) -> Any:
        """Give the batch `res` the semantic types of the items `b` it was built from."""
        return retain_types(res, b[0] if is_listy(b) and self.bs is not None else b)

    def do_batch(self, b: Any) -> Any:
        """`before_batch`, `create_batch` and `retain` on a list of items (or one item when `bs=None`)."""
        return self.retain(self.create_batch(self.before_batch(b)), b)

    def after_batch(self, b: Any) -> Any:
        """Processing of a batch once it is on `device` (no-op by default; a Pipeline in TfmdDL)."""
        return b

    # ---- events ----------------------------------------------------------------------------
    def wif(self) -> None:
        """Called in each worker process once it starts (worker init function)."""

    def before_iter(self) -> None:
        """Called at the start of each iteration, in the main process."""

    def after_iter(self) -> None:
        """Called once an iteration ends, in the main process."""

    # ---- iteration -------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Any]:
        self.before_iter()
        epoch, skip = self.epoch, self._resume_skip
        self.epoch, self._resume_skip = epoch + 1, 0
        self._resolve_seed()
        self._plan.copy_(torch.tensor([self._base_seed, epoch, skip]))
        self._prepare(epoch, skip)
        loader = torch_loader(self)
        self._running = [epoch, skip]
        try:
            for b in loader:
                b = self._finish(b)
                self._running[1] += 1
                yield b
        finally:
            self._running = None
        self.after_iter()

    def _finish(self, b: Any) -> Any:
        """Move a batch to `device` and apply `after_batch` (the main-process end of every batch)."""
        if self.device is not None:
            b = to_device(b, self.device, non_blocking=True)  # blocks anyway unless pinned or to the CPU
        return self.after_batch(b)

    def one_batch(self) -> Any:
        """The first batch of the current epoch's order, built in this process (the epoch is not advanced)."""
        if self.n is not None and len(self) == 0:
            raise ValueError(
                f"DataLoader.one_batch: no batches (n={self.n}, bs={self.bs}, "
                f"drop_last={self.drop_last}, world_size={self.world_size})"
            )
        self._resolve_seed()
        self._prepare(self.epoch, 0)
        offs, nw = self.offs, self.num_workers
        self.offs, self.num_workers = 0, 1
        try:
            batches = self.create_batches(self.sample())
            b = next(batches, _EMPTY)
            getattr(batches, "close", lambda: None)()
        finally:
            self.offs, self.num_workers = offs, nw
        if b is _EMPTY:
            raise ValueError("DataLoader.one_batch: the source yielded no batch")
        return self._finish(b)

    def __len__(self) -> int:
        if self.n is None:
            raise TypeError(
                f"DataLoader: the length of a stream of {type(self.dataset).__name__} is unknown; "
                "pass n= to set it"
            )
        n = self.items_per_rank
        if self.bs is None:
            return n
        return n // self.bs if self.drop_last else math.ceil(n / self.bs)

    @property
    def prebatched(self) -> bool:
        """Whether the source yields ready batches (`bs=None`: items are not collated)."""
        return self.bs is None

    # ---- decoding and display (TfmdDL runs its Pipelines backwards; here after_batch's decode if any)
    @property
    def n_inp(self) -> int:
        """Number of inputs in a batch (the rest are targets): the dataset's `n_inp`, else all but one."""
        n = getattr(self.dataset, "n_inp", None)
        if n is not None:
            return int(n)
        b = self.one_batch()
        return 1 if not isinstance(b, (tuple, list)) or len(b) == 1 else len(b) - 1

    def decode(self, b: Any) -> Any:
        """Undo `after_batch` on batch `b` when it can decode, and move it to the CPU."""
        dec = getattr(self.after_batch, "decode", None)
        return to_cpu(dec(b) if callable(dec) else b)

    def decode_batch(self, b: Any, max_n: int = 9, full: bool = True) -> Any:
        """Decode batch `b` and split it into at most `max_n` samples (tuples with one element per field)."""
        return batch_to_samples(self.decode(b), max_n=max_n)

    def show_batch(
        self, b: Any = None, max_n: int = 9, ctxs: Any = None, show: bool = True, **kwargs: Any
    ) -> Any:
        """Show samples of batch `b` (one drawn when None) with the `show_batch` display for its types."""
        b = self.decode(self.one_batch() if b is None else b)
        fields = tuple(b) if isinstance(b, (tuple, list)) else (b,)
        samples = batch_to_samples(fields, max_n=max_n)
        n_inp = self.n_inp if len(fields) > 1 else 1
        x, y = _detuplify(fields[:n_inp]), _detuplify(fields[n_inp:])
        if not show:
            return x, y, samples
        return show_batch(x, y, samples, ctxs=ctxs, max_n=max_n, **kwargs)

    def show_results(
        self, b: Any, out: Any, max_n: int = 9, ctxs: Any = None, show: bool = True, **kwargs: Any
    ) -> Any:
        """Show the inputs and targets of batch `b` with the predictions `out` beside them."""
        x, y, samples = self.show_batch(b, max_n=max_n, show=False)
        outs = batch_to_samples(
            tuple(self.decode(out)) if isinstance(out, (tuple, list)) else (self.decode(out),), max_n=max_n
        )
        if not show:
            return x, y, samples, outs
        return show_results(x, y, samples, outs, ctxs=ctxs, max_n=max_n, **kwargs)

    # ---- construction helpers --------------------------------------------------------------
    def new(self, dataset: Any = None, cls: type | None = None, **kwargs: Any) -> DataLoader:
        """A DataLoader like this one (same class, settings, replaced stages and a subclass's own
        constructor arguments) with `kwargs` changed; `cls` builds another class instead."""
        same = dataset is None
        cur: dict[str, Any] = dict(
            dataset=self.dataset if same else dataset,
            bs=self.bs,
            shuffle=self.shuffle,
            drop_last=self.drop_last,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.persistent_workers,
            device=self.device,
            seed=self.seed,
            rank=self.rank,
            world_size=self.world_size,
            pad=self.pad,
            timeout=self.timeout,
        )
        if same:
            cur.update(n=self._n_arg, indexed=self._indexed_arg)
        if kwargs.get("num_workers") == 0 and "persistent_workers" not in kwargs:
            cur["persistent_workers"] = False
        for name in self._methods:
            if name in self.__dict__:
                cur[name] = self.__dict__[name]
        if cls is None or issubclass(cls, type(self)):
            cur = {**recorded_arguments(self), **cur}
        return (cls or type(self))(**{**cur, **kwargs})

    def to(self, device: Any) -> DataLoader:
        """Make iteration yield batches on `device`; returns self."""
        self.device = device
        return self

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_torch_loader", None)
        state.pop("it", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._torch_loader = None

    def __repr__(self) -> str:
        n = "?" if self.n is None else self.n
        return (
            f"{type(self).__name__}(n={n}, bs={self.bs}, shuffle={self.shuffle}, "
            f"num_workers={self.num_workers}, device={self.device})"
        )

    # ---- internals (the epoch order, sharding and resume state: _order.py) ---------------------
    def _batch_indexing(self) -> bool:
        """Whether batches can be fetched with one index op (in-memory columns, default item stages)."""
        if self._columns is None or not self.indexed or self.bs is None:
            return False
        return all(self._is_default(name) for name in _PER_ITEM_STAGES)

    def _indexed_batches(self, samps: Iterable[Any]) -> Iterator[Any]:
        columns, bs = self._columns, self.bs
        assert columns is not None and bs is not None
        samps = samps if isinstance(samps, (list, range)) else list(samps)
        stop = len(samps) - len(samps) % bs if self.drop_last else len(samps)
        for i in range(0, stop, bs):
            yield columns.batch(samps[i : i + bs])

    def _item_fetcher(self) -> Any:
        """`do_item`, or straight `source[s]` when the item stages are the defaults (saves calls per item)."""
        if self.indexed and all(self._is_default(name) for name in ("do_item", "create_item", "after_item")):
            return (self.dataset if self._columns is None else self._columns).__getitem__
        return self.do_item

    def _is_default(self, name: str) -> bool:
        """Whether stage `name` is DataLoader's own (not replaced by a keyword or a subclass)."""
        return name not in self.__dict__ and getattr(type(self), name) is getattr(DataLoader, name)

    def _items(self, samps: Iterable[Any]) -> Iterator[Any]:
        """Items for `samps`; a stream source ends the epoch by raising StopIteration."""
        for s in samps:
            try:
                item = self.do_item(s)
            except StopIteration:
                return
            yield item

    def _next_item(self, position: int) -> Any:
        """The stream's item at `position`, skipping the items other workers build."""
        if self.it is None:
            raise TypeError("DataLoader: no dataset to read items from; pass dataset= or replace create_item")
        while self._stream_pos < position:
            next(self.it)
            self._stream_pos += 1
        self._stream_pos += 1
        return next(self.it)


def _detuplify(x: tuple) -> Any:
    """`x[0]` for a 1-tuple, None for an empty one, else `x`."""
    return (x[0] if x else None) if len(x) <= 1 else x


class _Empty:
    """Marker for 'no batch' (a batch may legitimately be None)."""


_EMPTY = _Empty()
