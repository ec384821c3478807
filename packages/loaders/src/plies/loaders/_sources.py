"""Reading items from sources: in-memory tensor columns (one index op per batch) and DataFrame rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from plies.typecore import L
from torch.utils.data import TensorDataset


class Columns:
    """A tuple of equally long tensors/arrays seen as one indexable source of `(c0[i], c1[i], ...)` items."""

    def __init__(self, columns: Sequence[Any], single: bool) -> None:
        self.columns, self.single = tuple(columns), single

    def __len__(self) -> int:
        return len(self.columns[0])

    def __getitem__(self, i: Any) -> Any:
        if self.single:
            return self.columns[0][i]
        return tuple(c[i] for c in self.columns)

    def batch(self, idxs: Sequence[int]) -> Any:
        """The batch of rows `idxs`: one index operation per column."""
        index = torch.as_tensor(idxs, dtype=torch.long)
        cols = [
            torch.as_tensor(c[index.numpy()]) if isinstance(c, np.ndarray) else c[index] for c in self.columns
        ]
        return cols[0] if self.single else tuple(cols)


def as_columns(dataset: Any) -> Columns | None:
    """The column view of an in-memory tensor source, or None for any other source."""
    if isinstance(dataset, (torch.Tensor, np.ndarray)):
        return Columns([dataset], single=True) if dataset.ndim > 0 else None
    if type(dataset) is TensorDataset:
        return Columns(dataset.tensors, single=False)
    if (
        isinstance(dataset, tuple)
        and dataset
        and all(isinstance(c, (torch.Tensor, np.ndarray)) for c in dataset)
    ):
        if all(c.ndim > 0 for c in dataset):
            lengths = {len(c) for c in dataset}
            if len(lengths) > 1:
                raise ValueError(
                    f"DataLoader: a tuple of tensors is read as columns of one dataset, so they need "
                    f"the same length; got lengths {[len(c) for c in dataset]}"
                )
            return Columns(dataset, single=False)
    return None


def item_at(items: Any, i: int) -> Any:
    """Item `i` of a list-like or (by position) of a DataFrame."""
    return items.iloc[i] if hasattr(items, "iloc") else items[i]


def take(items: Any, idxs: Sequence[int]) -> Any:
    """The sub-collection of `items` at `idxs` (a DataFrame stays a DataFrame)."""
    if hasattr(items, "iloc"):
        return items.iloc[list(idxs)]
    if hasattr(items, "shape") and hasattr(items, "__array__"):
        return items[list(idxs)]
    return L(item_at(items, i) for i in idxs)
