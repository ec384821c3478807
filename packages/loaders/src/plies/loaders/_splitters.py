"""Splitters: functions of the items that return `(train_idxs, valid_idxs)` as two `L`s of indices."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from plies.typecore import L, mask2idxs

__all__ = [
    "RandomSplitter",
    "RandomSubsetSplitter",
    "IndexSplitter",
    "GrandparentSplitter",
    "FuncSplitter",
    "MaskSplitter",
    "ColSplitter",
    "TrainTestSplitter",
    "EndSplitter",
    "FileSplitter",
]

Splitter = Callable[[Sequence[Any]], tuple[L, L]]


def _require_items(name: str, items: Sequence[Any]) -> int:
    n = len(items)
    if n == 0:
        raise ValueError(f"{name}: no items to split (got an empty {type(items).__name__})")
    return n


def _complement(idxs: Sequence[int], n: int) -> L:
    """The indices of `range(n)` not in `idxs`, in order."""
    taken = set(int(i) for i in idxs)
    return L(i for i in range(n) if i not in taken)


def RandomSplitter(valid_pct: float = 0.2, seed: int | None = None) -> Splitter:
    """Split items at random: `valid_pct` of them (rounded down) go to validation; `seed` repeats it."""
    if not 0 <= valid_pct <= 1:
        raise ValueError(f"RandomSplitter: valid_pct must be in [0, 1], got {valid_pct}")

    def _inner(items: Sequence[Any]) -> tuple[L, L]:
        n = _require_items("RandomSplitter", items)
        g = torch.Generator()
        if seed is not None:
            g.manual_seed(seed)
        else:
            g.manual_seed(int(torch.randint(0, 2**62, (1,)).item()))
        perm = torch.randperm(n, generator=g).tolist()
        cut = int(valid_pct * n)
        return L(perm[cut:]), L(perm[:cut])

    return _inner


def RandomSubsetSplitter(train_sz: float, valid_sz: float, seed: int | None = None) -> Splitter:
    """Random disjoint subsets of `train_sz` and `valid_sz` of the items (fractions; the rest unused)."""
    if not (0 < train_sz < 1 and 0 < valid_sz < 1 and train_sz + valid_sz <= 1):
        raise ValueError(
            f"RandomSubsetSplitter: need 0 < train_sz, valid_sz < 1 with a sum <= 1, "
            f"got train_sz={train_sz}, valid_sz={valid_sz}"
        )

    def _inner(items: Sequence[Any]) -> tuple[L, L]:
        n = _require_items("RandomSubsetSplitter", items)
        g = torch.Generator()
        g.manual_seed(seed if seed is not None else int(torch.randint(0, 2**62, (1,)).item()))
        perm = torch.randperm(n, generator=g).tolist()
        n_train, n_valid = int(n * train_sz), int(n * valid_sz)
        return L(perm[:n_train]), L(perm[n_train : n_train + n_valid])

    return _inner


def IndexSplitter(valid_idx: Sequence[int]) -> Splitter:
    """Split items so that `valid_idx` are the validation set and the rest the training set."""
    valid = [int(i) for i in valid_idx]

    def _inner(items: Sequence[Any]) -> tuple[L, L]:
        n = _require_items("IndexSplitter", items)
        bad = [i for i in valid if not 0 <= i < n]
        if bad:
            raise IndexError(f"IndexSplitter: validation indices {bad[:5]} out of range for {n} items")
        return _complement(valid, n), L(valid)

    return _inner


def EndSplitter(valid_pct: float = 0.2, valid_last: bool = True) -> Splitter:
    """Split off the last (or first, `valid_last=False`) `valid_pct` of the items for validation."""

    def _inner(items: Sequence[Any]) -> tuple[L, L]:
        n = _require_items("EndSplitter", items)
        cut = int(valid_pct * n)
        idxs = list(range(n))
        if valid_last:
            return L(idxs[: n - cut]), L(idxs[n - cut :])
        return L(idxs[cut:]), L(idxs[:cut])

    return _inner


def FuncSplitter(func: Callable[[Any], bool]) -> Splitter:
    """Split items by `func(item)`: true goes to validation."""

    def _inner(items: Sequence[Any]) -> tuple[L, L]:
        _require_items("FuncSplitter", items)
        mask = [bool(func(o)) for o in items]
        return L(i for i, m in enumerate(mask) if not m), L(i for i, m in enumerate(mask) if m)

    return _inner


def MaskSplitter(mask: Sequence[bool]) -> Splitter:
    """Split items by a boolean `mask`: true goes to validation."""

    def _inner(items: Sequence[Any]) -> tuple[L, L]:
        n = _require_items("MaskSplitter", items)
        if len(mask) != n:
            raise ValueError(f"MaskSplitter: mask has {len(mask)} entries for {n} items")
        valid = list(mask2idxs(mask))
        return _complement(valid, n), L(valid)

    return _inner


def _grandparent_idxs(items: Sequence[Any], name: str | Sequence[str]) -> list[int]:
    """Indices of the items under grandparent folder `name` (or each of several names, in turn)."""
    names = [name] if isinstance(name, str) else list(name)
    return [i for n in names for i, o in enumerate(items) if Path(o).parent.parent.name == n]


def GrandparentSplitter(
    train_name: str | Sequence[str] = "train", valid_name: str | Sequence[str] = "valid"
) -> Splitter:
    """Split file paths by the name of their grandparent folder (`train/3/x.png` vs `valid/3/y.png`).

    Each name may be a list of folder names (e.g. `train_name=('train', 'valid')`), taken in turn.
    """

    def _inner(items: Sequence[Any]) -> tuple[L, L]:
        _require_items("GrandparentSplitter", items)
        train, valid = _grandparent_idxs(items, train_name), _grandparent_idxs(items, valid_name)
        if not train and not valid:
            raise ValueError(
                f"GrandparentSplitter: no item lies under a '{train_name}' or '{valid_name}' folder "
                f"(first item: {items[0]!r})"
            )
        return L(train), L(valid)

    return _inner


def FileSplitter(fname: str | Path) -> Splitter:
    """Split file paths: those whose names are listed (one per line) in `fname` go to validation."""
    names = {line.strip() for line in Path(fname).read_text().splitlines() if line.strip()}

    def _inner(items: Sequence[Any]) -> tuple[L, L]:
        _require_items("FileSplitter", items)
        return FuncSplitter(lambda o: Path(o).name in names)(items)

    return _inner


def ColSplitter(col: Any = "is_valid", on: Any = None) -> Splitter:
    """Split DataFrame rows by column `col`: rows where it is true (or equals/is in `on`) are validation."""

    def _inner(df: Any) -> tuple[L, L]:
        if not hasattr(df, "iloc"):
            raise TypeError(f"ColSplitter: expected a pandas DataFrame, got {type(df).__name__}")
        _require_items("ColSplitter", df)
        if col not in df.columns if not isinstance(col, int) else col >= len(df.columns):
            raise KeyError(f"ColSplitter: no column {col!r}; columns are {list(df.columns)}")
        c = df.iloc[:, col] if isinstance(col, int) else df[col]
        if on is None:
            mask = c.values.astype(bool)
        elif isinstance(on, (list, tuple, set)):
            mask = c.isin(on).values
        else:
            mask = (c == on).values
        return MaskSplitter(list(mask))(df)

    return _inner


def TrainTestSplitter(
    test_size: float = 0.2,
    random_state: int | None = None,
    stratify: Any = None,
    train_size: float | None = None,
    shuffle: bool = True,
) -> Splitter:
    """Split with scikit-learn's `train_test_split` (stratified when `stratify` holds the labels)."""

    def _inner(items: Sequence[Any]) -> tuple[L, L]:
        from sklearn.model_selection import train_test_split

        n = _require_items("TrainTestSplitter", items)
        train, valid = train_test_split(
            np.arange(n),
            test_size=test_size,
            random_state=random_state,
            stratify=stratify,
            train_size=train_size,
            shuffle=shuffle,
        )
        return L(int(i) for i in train), L(int(i) for i in valid)

    return _inner
