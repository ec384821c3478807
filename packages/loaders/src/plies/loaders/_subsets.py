"""Subsets of a collection: split indices (or masks) checked once, and what TfmdLists and Datasets share.

`_SplitBase` gives both `train`/`valid`/`subset`, `set_split_idx`, `overlapping_splits` and
`dataloaders`; `_RawView` is what a pipeline's setup sees (the raw items with their subsets).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from plies.typecore import L, default_device, is_listy

from ._sources import item_at, take


def type_name(t: type) -> str:
    """`module.QualName` of a class (how types are written in plain-data states and messages)."""
    return f"{t.__module__}.{t.__qualname__}"


class _RawView(Sequence):
    """Raw items with their `.train`/`.valid` subsets: what a pipeline's setup maps through its transforms."""

    def __init__(self, items: Any, splits: Sequence[Sequence[int]] | None) -> None:
        self.items, self.splits = items, splits

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: Any) -> Any:
        return item_at(self.items, i)

    def __iter__(self) -> Iterator[Any]:
        return (item_at(self.items, i) for i in range(len(self.items)))

    def _subset(self, i: int) -> _RawView:
        if self.splits is None:
            return self if i == 0 else _RawView([], None)
        return _RawView(take(self.items, self.splits[i]), None)

    @property
    def train(self) -> _RawView:
        return self._subset(0)

    @property
    def valid(self) -> _RawView:
        return self._subset(1)


class _SplitBase:
    """Shared subset logic of TfmdLists and Datasets, and `dataloaders`."""

    splits: L | None
    dl_type: type

    @property
    def n_subsets(self) -> int:
        """Number of subsets (splits)."""
        return 1 if self.splits is None else len(self.splits)

    @property
    def train(self) -> Any:
        """The training subset (split 0)."""
        return self.subset(0)

    @property
    def valid(self) -> Any:
        """The validation subset (split 1)."""
        return self.subset(1)

    def subset(self, i: int) -> Any:  # pragma: no cover - TfmdLists and Datasets define it
        """Subset `i` of the splits (each subclass builds its own)."""
        raise NotImplementedError(f"{type(self).__name__} must define subset(i)")

    def _set_split(self, split_idx: int | None) -> None:  # pragma: no cover - defined by subclasses
        raise NotImplementedError(f"{type(self).__name__} must define _set_split(split_idx)")

    @contextmanager
    def set_split_idx(self, split_idx: int | None) -> Generator[None, None, None]:
        """Within the `with` block, apply the transforms of subset `split_idx` (e.g. 1: validation ones)."""
        old = self.split_idx
        self._set_split(split_idx)
        try:
            yield
        finally:
            self._set_split(old)

    split_idx: int | None

    def overlapping_splits(self) -> L:
        """The indices that are in more than one split (empty when the splits are disjoint)."""
        if self.splits is None:
            return L()
        counts = Counter(int(i) for s in self.splits for i in s)
        return L(sorted(i for i, c in counts.items() if c > 1))

    def dataloaders(
        self,
        bs: int = 64,
        shuffle: bool = True,
        val_shuffle: bool = False,
        n: int | None = None,
        path: Any = ".",
        dl_type: type | None = None,
        dl_kwargs: Sequence[dict] | None = None,
        device: Any = None,
        drop_last: bool | None = None,
        val_bs: int | None = None,
        **kwargs: Any,
    ) -> Any:
        """A `DataLoaders` with one DataLoader per subset: the training one shuffled (and `drop_last`).

        `val_*` keywords apply to the validation loaders only; other keywords go to every DataLoader.
        """
        # DataLoaders builds on this module, so it is imported here (a top-level import would be a cycle)
        from ._dataloaders import DataLoaders

        if device is None:
            device = default_device()
        dl_kwargs = list(dl_kwargs) if dl_kwargs is not None else [{}] * self.n_subsets
        dl_type = dl_type or self.dl_type
        if drop_last is None:
            drop_last = shuffle
        val_kwargs = {k[4:]: v for k, v in kwargs.items() if k.startswith("val_")}
        kwargs = {k: v for k, v in kwargs.items() if not k.startswith("val_")}
        first = dl_type(
            self.subset(0),
            **{
                **kwargs,
                "bs": bs,
                "shuffle": shuffle,
                "drop_last": drop_last,
                "n": n,
                "device": device,
                **dl_kwargs[0],
            },
        )
        others = [
            first.new(
                self.subset(i),
                **{
                    **kwargs,
                    "bs": bs if val_bs is None else val_bs,
                    "shuffle": val_shuffle,
                    "drop_last": False,
                    "n": None,
                    **val_kwargs,
                    **dl_kwargs[i],
                },
            )
            for i in range(1, self.n_subsets)
        ]
        return DataLoaders(first, *others, path=path, device=device)


def _is_mask(idx: Any) -> bool:
    """Whether `idx` is a boolean mask (a list/tuple of bools, or a bool array/tensor)."""
    dtype = getattr(idx, "dtype", None)
    if dtype is not None:
        return dtype == torch.bool or dtype == np.bool_
    return is_listy(idx) and len(idx) > 0 and all(isinstance(o, (bool, np.bool_)) for o in idx)


def _mask_to_idxs(mask: Any, n: int, what: str) -> list[int]:
    if len(mask) != n:
        raise IndexError(f"{what}: a boolean mask of {len(mask)} entries for {n} items")
    return [i for i, m in enumerate(mask) if m]


def _check_splits(splits: Any, n: int) -> L | None:
    if splits is None:
        return None
    splits = L(
        L(_mask_to_idxs(s, n, f"splits (subset {k})") if _is_mask(s) else [int(i) for i in s])
        for k, s in enumerate(splits)
    )
    for k, s in enumerate(splits):
        bad = [i for i in s if not 0 <= i < n]
        if bad:
            raise IndexError(f"splits: subset {k} holds indices {bad[:5]} out of range for {n} items")
    return splits
