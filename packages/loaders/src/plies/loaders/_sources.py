"""Reading items from sources: in-memory tensor columns (one index op per batch) and DataFrame rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from plies.typecore import L, TensorBase, retain_type
from torch.utils.data import TensorDataset

# A batch copy smaller than this is gathered by numpy on the calling thread. torch's own gather
# (`column[index]`, `index_select`) splits a copy of this size over its intra-op thread pool, and on a
# machine whose other cores are busy the copy then waits for a pool thread to be scheduled: 64 rows of
# 3x32x32 floats took ~8 ms on 2 threads against 0.04 ms on one. Above it, the copy itself is long
# enough (~1 ms or more) that torch's parallel copy is worth its wake-up.
SERIAL_GATHER_BYTES = 8 * 2**20


class Columns:
    """A tuple of equally long tensors/arrays seen as one indexable source of `(c0[i], c1[i], ...)` items."""

    def __init__(self, columns: Sequence[Any], single: bool) -> None:
        self.columns, self.single = tuple(columns), single
        self._arrays = _array_views(self.columns)

    def __len__(self) -> int:
        return len(self.columns[0])

    def __getitem__(self, i: Any) -> Any:
        if self.single:
            return self.columns[0][i]
        return tuple(c[i] for c in self.columns)

    def batch(self, idxs: Sequence[int]) -> Any:
        """The batch of rows `idxs`: one index operation per column (one numpy gather on this thread for
        CPU tensors while the batch is under `SERIAL_GATHER_BYTES`, torch's own indexing otherwise)."""
        if isinstance(idxs, range):
            positions = np.arange(idxs.start, idxs.stop, idxs.step, dtype=np.intp)
        else:
            positions = np.asarray(idxs, dtype=np.intp)
        index: torch.Tensor | None = None
        cols = []
        for c, array in zip(self.columns, self._arrays, strict=True):
            if array is not None and len(positions) * array.row_bytes < SERIAL_GATHER_BYTES:
                cols.append(array.take(positions, c))
            elif isinstance(c, np.ndarray):
                cols.append(torch.as_tensor(c[positions]))
            else:
                if index is None:
                    index = torch.from_numpy(positions).long()
                cols.append(c[index])
        return cols[0] if self.single else tuple(cols)

    def __getstate__(self) -> dict[str, Any]:
        # the numpy views would be pickled by value (a copy of each column, sent to every spawned
        # worker), while torch shares the tensors themselves: rebuild the views on arrival
        return {"columns": self.columns, "single": self.single}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.columns, self.single = state["columns"], state["single"]
        self._arrays = _array_views(self.columns)


class _ArrayView:
    """The numpy view of a CPU tensor column (sharing its memory), and how to re-type rows taken from it."""

    def __init__(self, array: np.ndarray, retype: bool) -> None:
        self.array, self.retype = array, retype
        self.row_bytes = array.itemsize * int(np.prod(array.shape[1:], dtype=np.int64))

    def take(self, positions: np.ndarray, column: torch.Tensor) -> torch.Tensor:
        """Rows `positions` as a fresh tensor of the column's type (and metadata, for a TensorBase)."""
        rows = torch.from_numpy(self.array[positions])
        return retain_type(rows, column) if self.retype else rows


def _array_views(columns: Sequence[Any]) -> list[_ArrayView | None]:
    return [_array_view(c) for c in columns]


def _array_view(column: Any) -> _ArrayView | None:
    """A numpy view for the serial gather, or None where torch's indexing must do it: other devices,
    tensors that need autograd, dtypes numpy lacks (bfloat16...), subclasses with their own handler."""
    if not isinstance(column, torch.Tensor) or not (
        type(column) is torch.Tensor or isinstance(column, TensorBase)
    ):
        return None
    if column.device.type != "cpu" or column.layout != torch.strided or column.requires_grad:
        return None
    if column.is_conj() or column.is_neg():
        return None
    try:
        array = column.as_subclass(torch.Tensor).numpy()
    except (TypeError, RuntimeError):  # no numpy dtype for it
        return None
    return _ArrayView(array, retype=type(column) is not torch.Tensor)


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
