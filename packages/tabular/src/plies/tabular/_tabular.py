"""`TabularPandas`: a DataFrame, its column roles, fitted procs and the model-ready arrays they give.

The procs run once over the whole frame (setup on the training rows only); the categorical
codes, continuous values and targets then sit in three in-memory tensors, and a batch is one
gather on each (`batch(positions)`), never a loop over rows in Python. The rows are kept in
split order (the training rows first), so `train` and `valid` are slices of the same tensors.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from plies.loaders import register_dataset

from ._checks import check_conts, check_targets, names_list, split_order
from ._frames import as_pandas, check_columns, rows_frame
from ._procs import Categorify, Procs, as_proc, proc_from_state, proc_state
from ._targets import target_for, target_from_state
from ._utils import df_shrink

__all__ = ["TabularPandas"]

STATE_VERSION = 1


@register_dataset
class TabularPandas:
    """A DataFrame processed for a model: `procs` fitted on the training rows of `splits`.

    `cat_names`/`cont_names`/`y_names` name the categorical, continuous and target columns (the
    lists are copied; FillMissing adds `<col>_na` columns to this object's `cat_names`). The
    target kind comes from `y_block` (CategoryBlock, RegressionBlock, MultiCategoryBlock(encoded=True))
    or from the target's dtype. `splits` are lists of row positions (training first); `train` and
    `valid` are the subsets. `new(df)` processes new rows with the fitted procs; `decode()` gives
    the readable frame back. A polars or cuDF frame is converted to pandas first. The frame is
    copied unless `inplace` (and the splits keep every row in order); `reduce_memory` shrinks the
    used columns' dtypes first (`df_shrink`, text left as it is).
    """

    with_cont: ClassVar[bool] = True  # whether batches carry the continuous tensor (collab: no)

    def __init__(
        self,
        df: Any,
        procs: Any = None,
        cat_names: Any = None,
        cont_names: Any = None,
        y_names: Any = None,
        y_block: Any = None,
        splits: Any = None,
        do_setup: bool = True,
        device: Any = None,
        inplace: bool = False,
        reduce_memory: bool = True,
    ) -> None:
        who = type(self).__name__
        df = as_pandas(df, who)
        self.cat_names = names_list(cat_names, "cat_names", who)
        self.cont_names = names_list(cont_names, "cont_names", who)
        self.y_names = names_list(y_names, "y_names", who)
        for role, names in (("cat_names", self.cat_names), ("cont_names", self.cont_names)):
            check_columns(df, names, role, who)
        check_columns(df, self.y_names, "y_names", who)
        both = (set(self.cat_names) & set(self.cont_names)) | (
            set(self.y_names) & set(self.cat_names + self.cont_names)
        )
        if both:
            raise ValueError(f"{who}: column(s) {sorted(both)} are given more than one role; give each one")
        check_targets(df, self.y_names, who)
        order, sizes = split_order(splits, len(df), who)
        identity = len(order) == len(df) and bool((order == np.arange(len(df))).all())
        if not (inplace and identity):
            df = df.iloc[order].copy()
        check_conts(df, self.cont_names, who)
        if reduce_memory:
            df = df_shrink(df, skip=[c for c in df.columns if c not in self._used], obj2cat=False)
        self.items = df
        self.split_sizes = sizes
        self.procs = Procs(sorted((as_proc(p, who) for p in (procs or [])), key=lambda p: p.order))
        self.target = target_for(y_block, df, self.y_names, who)
        self.split_idx: int | None = None
        self.device = device
        self._tensors: dict[str, torch.Tensor | None] = {}
        self._processed = False
        if do_setup:
            self.setup()

    @property
    def _used(self) -> set[str]:
        return set(self.cat_names) | set(self.cont_names) | set(self.y_names)

    # ---- processing ------------------------------------------------------------------------
    @property
    def train_items(self) -> pd.DataFrame:
        """The training rows of `items` (what the procs learn from)."""
        return self.items.iloc[: self.split_sizes[0]]

    def setup(self) -> None:
        """Fit each proc on the training rows, then process the whole frame (once)."""
        if self._processed:
            return
        for proc in self.procs:
            proc.setup(self)
            proc.encodes(self)
        if self.target is not None:
            self.target.setup(self.train_items, self.y_names)
        self._processed = True
        self._build_tensors(with_labels=self.target is not None)

    def process(self) -> None:
        """Apply the fitted procs to `items` (rows made by `new`); a no-op when already processed."""
        if self._processed:
            return
        for proc in self.procs:
            proc.encodes(self)
        self._processed = True
        self._build_tensors(with_labels=self.target is not None and set(self.y_names) <= set(self.items))

    def _build_tensors(self, with_labels: bool) -> None:
        who = type(self).__name__
        df = self.items
        for n in self.cat_names:
            if not (pd.api.types.is_integer_dtype(df[n].dtype) or pd.api.types.is_bool_dtype(df[n].dtype)):
                raise TypeError(
                    f"{who}: categorical column {n!r} holds {df[n].dtype} values, not codes; add Categorify "
                    f"to the procs (it maps each value to its index in a vocab)"
                )
        cats = (
            df[self.cat_names].to_numpy(dtype=np.int64)
            if self.cat_names
            else np.zeros((len(df), 0), np.int64)
        )
        self._tensors = {
            "cats": torch.from_numpy(np.array(cats, dtype=np.int64, order="C")),
            "conts": torch.from_numpy(df[self.cont_names].to_numpy(dtype=np.float32, copy=True)),
            "ys": self.target.encode(df, self.y_names, who)
            if with_labels and self.target is not None
            else None,
        }

    def new(self, df: Any, inplace: bool = False) -> TabularPandas:
        """New rows processed with this object's fitted procs (targets too when their columns are there)."""
        who = f"{type(self).__name__}.new"
        df = as_pandas(df, who)
        check_columns(df, self._input_names(df), "the fitted procs' columns", who)
        df = df if inplace else df.copy()
        check_conts(df, self.cont_names, who)
        res = copy.copy(self)
        res.items = df
        res.split_sizes, res.split_idx, res._processed = [len(df), 0], None, False
        res.cat_names, res.cont_names = list(self.cat_names), list(self.cont_names)
        if set(self.y_names) <= set(df.columns):
            check_targets(df, self.y_names, who)
        res.process()
        return res

    def _input_names(self, df: pd.DataFrame) -> list[str]:
        """The raw columns new rows need: the inputs, less the `<col>_na` flags FillMissing makes."""
        made = {f"{n}_na" for n in self.cont_names}
        return [n for n in self.cat_names + self.cont_names if n not in made or n in df.columns]

    # ---- subsets and items -------------------------------------------------------------------
    def subset(self, i: int) -> TabularPandas:
        """Split `i` (0: training rows, 1: validation rows): a view on the same frame and tensors."""
        if not 0 <= i < len(self.split_sizes):
            raise IndexError(
                f"{type(self).__name__}.subset: there are {len(self.split_sizes)} splits, got {i}"
            )
        start = sum(self.split_sizes[:i])
        stop = start + self.split_sizes[i]
        res = copy.copy(self)
        res.items = self.items.iloc[start:stop]
        res._tensors = {k: None if t is None else t[start:stop] for k, t in self._tensors.items()}
        res.split_sizes, res.split_idx = [stop - start, 0], i
        return res

    @property
    def train(self) -> TabularPandas:
        """The training rows."""
        return self.subset(0)

    @property
    def valid(self) -> TabularPandas:
        """The validation rows."""
        return self.subset(1)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def n_inp(self) -> int:
        """Inputs in a batch: the categorical codes and the continuous values (collab: the codes only)."""
        return 2 if self.with_cont else 1

    def _fields(self) -> list[torch.Tensor]:
        names = ["cats", "conts", "ys"] if self.with_cont else ["cats", "ys"]
        return [t for t in (self._tensors.get(n) for n in names) if t is not None]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, ...]:
        return tuple(f[i] for f in self._fields())

    def batch(self, positions: np.ndarray) -> tuple[torch.Tensor, ...]:
        """Rows `positions` of every tensor: one gather each (numpy's, on this thread)."""
        out = []
        for f in self._fields():
            rows = torch.from_numpy(f.as_subclass(torch.Tensor).numpy().take(positions, axis=0))
            out.append(rows if type(f) is torch.Tensor else rows.as_subclass(type(f)))
        return tuple(out)

    @property
    def cats(self) -> pd.DataFrame:
        """The processed categorical columns (codes)."""
        return self.items[self.cat_names]

    @property
    def conts(self) -> pd.DataFrame:
        """The processed continuous columns."""
        return self.items[self.cont_names]

    @property
    def xs(self) -> pd.DataFrame:
        """The processed input columns (categorical then continuous)."""
        return self.items[self.cat_names + self.cont_names]

    @property
    def ys(self) -> pd.DataFrame:
        """The target columns (as given: targets are encoded in the tensors only)."""
        return self.items[self.y_names]

    @property
    def classes(self) -> dict[str, list[Any]]:
        """Each categorical column's vocab (`#na#` first), from Categorify."""
        for p in self.procs:
            if isinstance(p, Categorify):
                return p.classes
        return {}

    @property
    def vocab(self) -> list[Any]:
        """The target's labels (classification or multi-label)."""
        vocab = getattr(self.target, "vocab", None)
        if vocab is None:
            raise AttributeError(f"{type(self).__name__}: the target is not categorical (no vocab)")
        return vocab

    @property
    def c(self) -> int:
        """Number of model outputs the target calls for."""
        if self.target is None:
            raise AttributeError(f"{type(self).__name__}: no target (y_names is empty)")
        return self.target.c

    # ---- decoding ----------------------------------------------------------------------------
    def decode(self) -> pd.DataFrame:
        """The processed rows back in readable form (a new frame): labels, values on their scale."""
        df = self.items.copy()
        for proc in reversed(self.procs):
            df = proc.decodes(df)
        return df

    def decode_batch(self, b: Sequence[Any], max_n: int | None = None) -> pd.DataFrame:
        """A batch (tensors: codes, values, targets) as a readable DataFrame of at most `max_n` rows."""
        b = [torch.as_tensor(t).cpu() for t in b]
        n = len(b[0]) if max_n is None else min(max_n, len(b[0]))
        cols: dict[str, Any] = {}
        for k, name in enumerate(self.cat_names):
            cols[name] = b[0][:n, k].numpy()
        if self.with_cont:
            for k, name in enumerate(self.cont_names):
                cols[name] = b[1][:n, k].numpy()
        df = pd.DataFrame(cols, columns=self.cat_names + (self.cont_names if self.with_cont else []))
        for proc in reversed(self.procs):
            df = proc.decodes(df)
        if len(b) > self.n_inp and self.target is not None:
            for name, values in self.decode_targets(b[self.n_inp][:n]).items():
                df[name] = values
        return df

    def decode_targets(self, y: Any, suffix: str = "") -> dict[str, list[Any]]:
        """Target tensors (or decoded predictions) as {column name: readable values}."""
        if self.target is None:
            return {}
        values = self.target.decode(torch.as_tensor(y).cpu())
        if self.target.kind == "regression":
            return {f"{n}{suffix}": [row[k] for row in values] for k, n in enumerate(self.y_names)}
        name = self.y_names[0] if self.target.kind == "category" else "labels"
        return {f"{name}{suffix}": values}

    def show(self, max_n: int = 10, show: bool = True) -> pd.DataFrame:
        """The first `max_n` rows decoded (printed when `show`)."""
        head = copy.copy(self)
        head.items = self.items.iloc[:max_n]
        df = head.decode()
        if show:
            print(df.to_string())
        return df

    # ---- dataloaders and inference -------------------------------------------------------------
    def dataloaders(
        self,
        bs: int = 64,
        val_bs: int | None = None,
        shuffle: bool = True,
        drop_last: bool | None = None,
        path: Any = ".",
        device: Any = None,
        num_workers: int = 0,
        seed: int | None = None,
    ) -> Any:
        """TabularDataLoaders over `train` (shuffled, last partial batch dropped) and `valid`."""
        from ._data import TabularDataLoaders

        return TabularDataLoaders.from_tabular(
            self,
            bs=bs,
            val_bs=val_bs,
            shuffle=shuffle,
            drop_last=shuffle if drop_last is None else drop_last,
            path=path,
            device=device if device is not None else self.device,
            num_workers=num_workers,
            seed=seed,
        )

    def test_set(self, items: Any, with_labels: bool = False) -> TabularPandas:
        """New rows (a DataFrame, a dict or Series for one row, a list of them) processed for inference."""
        df = rows_frame(items, f"{type(self).__name__}.test_set")
        if not with_labels:
            df = df.drop(columns=[n for n in self.y_names if n in df.columns])
        return self.new(df)

    def inference_state(self) -> dict[str, Any]:
        """The fitted column roles, procs and target as plain data (what an export keeps)."""
        who = f"{type(self).__name__}.inference_state"
        return {
            "version": STATE_VERSION,
            "cat_names": list(self.cat_names),
            "cont_names": list(self.cont_names),
            "y_names": list(self.y_names),
            "procs": [proc_state(p, who) for p in self.procs],
            "target": None if self.target is None else self.target.state(),
        }

    @classmethod
    def from_inference_state(cls, state: dict[str, Any]) -> TabularPandas:
        """An empty, fitted TabularPandas from `inference_state()`; `test_set(rows)` processes new rows."""
        who = f"{cls.__name__}.from_inference_state"
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            found = state.get("version") if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"{who}: expected a state of version {STATE_VERSION}, found {found!r}")
        res = cls.__new__(cls)
        res.cat_names, res.cont_names = list(state["cat_names"]), list(state["cont_names"])
        res.y_names = list(state["y_names"])
        res.procs = Procs(proc_from_state(p, who) for p in state["procs"])
        res.target = target_from_state(state["target"], who)
        res.items = pd.DataFrame(
            {n: pd.Series([], dtype=np.int64) for n in res.cat_names}
            | {n: pd.Series([], dtype=np.float32) for n in res.cont_names}
        )
        res.split_sizes, res.split_idx, res.device = [0, 0], None, None
        res._processed = True
        res._build_tensors(with_labels=False)
        return res

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({len(self)} rows, cat_names={self.cat_names}, "
            f"cont_names={self.cont_names}, y_names={self.y_names}, procs={self.procs})"
        )
