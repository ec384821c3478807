"""Tabular procs: preprocessing fitted once on the training rows and applied to whole DataFrames.

A proc learns its state in `setup(to)` from `to.train_items` (the training rows as processed by
the procs before it), then `encodes(to)` rewrites `to.items` in place. Its state is plain data
(`state()` / `from_state`): vocabularies, fill values, statistics, so an export keeps it without
pickle. Procs run in the order of their `order` (FillMissing, Categorify, Normalize), whatever
order they are given in, so the `<col>_na` columns FillMissing adds are categorified too.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from plies.typecore import NamedRegistry, to_plain

__all__ = ["TabularProc", "Categorify", "FillStrategy", "FillMissing", "Normalize"]

PROCS = NamedRegistry("tabular proc", "subclass plies.tabular.TabularProc in a module the process imports")
NA = "#na#"


class TabularProc:
    """Base of the procs: `setup` on the training rows, `encodes` / `decodes` on a TabularPandas' frame.

    A subclass is registered by its public name when it is defined (exports name it); its state
    must be plain data returned by `state()` and read back by `from_state`.
    """

    order: ClassVar[int] = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        PROCS.register(cls)

    def setup(self, to: Any) -> None:
        """Learn the state from `to.train_items` (may add columns to `to.cat_names`/`to.cont_names`)."""

    def encodes(self, to: Any) -> None:
        """Process `to.items` in place."""

    def decodes(self, df: pd.DataFrame) -> pd.DataFrame:
        """Undo `encodes` on a copy of processed rows (what can be undone)."""
        return df

    def state(self) -> dict[str, Any]:
        """The fitted state as plain data."""
        return {}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TabularProc:
        """A fitted proc rebuilt from `state()`."""
        proc = cls.__new__(cls)
        proc.__dict__.update(state)
        return proc

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _sorted_values(values: list[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:  # mixed types (ints and strings): by type name, then value
        return sorted(values, key=lambda v: (type(v).__name__, str(v)))


def _vocab(col: pd.Series) -> list[Any]:
    """`#na#` then the values of the training rows: a categorical dtype's order, else sorted."""
    present = pd.unique(col.dropna())
    if isinstance(col.dtype, pd.CategoricalDtype):
        seen = set(np.asarray(present, dtype=object).tolist())
        values = [c for c in col.cat.categories.tolist() if c in seen]
    else:
        values = _sorted_values(to_plain(np.asarray(present, dtype=object).tolist()))
    return [NA, *to_plain(values)]


def lookup(col: pd.Series, labels: list[Any]) -> np.ndarray:
    """The position of each value of `col` in `labels` (int64), -1 for missing or unknown values."""
    values = col.astype(object) if isinstance(col.dtype, pd.CategoricalDtype) else col
    return pd.Index(labels, dtype=object).get_indexer(values).astype(np.int64)


def _codes_dtype(n: int) -> Any:
    return np.int8 if n < 2**7 else np.int16 if n < 2**15 else np.int32


class Categorify(TabularProc):
    """Replace each categorical column by codes into a vocab learned from the training rows.

    Code 0 is `#na#`: missing values, values seen only in validation rows and values unseen at
    inference all map to it (never an error). `classes` holds each column's vocab.
    """

    order = 2

    def __init__(self) -> None:
        self.classes: dict[str, list[Any]] = {}

    def setup(self, to: Any) -> None:
        train = to.train_items
        self.classes = {n: _vocab(train[n]) for n in to.cat_names}

    def encodes(self, to: Any) -> None:
        df = to.items
        for name, vocab in self.classes.items():
            codes = lookup(df[name], vocab[1:])
            df[name] = (codes + 1).astype(_codes_dtype(len(vocab)))

    def decodes(self, df: pd.DataFrame) -> pd.DataFrame:
        for name, vocab in self.classes.items():
            if name in df.columns:
                labels = np.empty(len(vocab), dtype=object)
                labels[:] = vocab
                df[name] = labels[np.asarray(df[name], dtype=np.int64)]
        return df

    def state(self) -> dict[str, Any]:
        return {"classes": self.classes}

    def __getitem__(self, name: str) -> list[Any]:
        return self.classes[name]


class FillStrategy(str, enum.Enum):
    """How FillMissing computes a column's fill value from the training rows."""

    median = "median"
    mode = "mode"
    constant = "constant"


class FillMissing(TabularProc):
    """Fill missing values of the continuous columns; add a `<col>_na` flag where training rows had any.

    The fill value of every continuous column is computed (median, mode, or `fill_vals[col]`,
    default 0, for `constant`), so a missing value at inference is filled even in a column that
    had none in training; only the columns with missing training values get a `<col>_na`
    column (`add_col`), added to the categorical names.
    """

    order = 1

    def __init__(
        self,
        fill_strategy: FillStrategy | str = FillStrategy.median,
        add_col: bool = True,
        fill_vals: Mapping[str, float] | None = None,
    ) -> None:
        try:
            self.fill_strategy = FillStrategy(fill_strategy).value
        except ValueError:
            raise ValueError(
                f"FillMissing: fill_strategy must be one of {[s.value for s in FillStrategy]}, "
                f"got {fill_strategy!r}"
            ) from None
        self.add_col = add_col
        self.fill_vals = dict(fill_vals or {})
        self.na_dict: dict[str, Any] = {}
        self.fill_values: dict[str, Any] = {}

    def _fill_value(self, col: pd.Series) -> Any:
        if self.fill_strategy == "constant":
            return self.fill_vals.get(str(col.name), 0)
        present = col.dropna()
        if present.empty:
            raise ValueError(
                f"FillMissing: column {col.name!r} has no value in the training rows, so its "
                f"{self.fill_strategy} is undefined; drop the column or use "
                f"FillMissing(fill_strategy='constant', fill_vals={{{col.name!r}: ...}})"
            )
        value = present.median() if self.fill_strategy == "median" else present.mode().iloc[0]
        return to_plain(value)

    def setup(self, to: Any) -> None:
        train = to.train_items
        self.fill_values = {n: self._fill_value(train[n]) for n in to.cont_names}
        self.na_dict = {n: v for n, v in self.fill_values.items() if bool(train[n].isna().any())}
        if self.add_col:
            for n in self.na_dict:
                if f"{n}_na" not in to.cat_names:
                    to.cat_names.append(f"{n}_na")

    def encodes(self, to: Any) -> None:
        df = to.items
        for name, value in self.fill_values.items():
            missing = df[name].isna()
            if self.add_col and name in self.na_dict:
                df[f"{name}_na"] = missing.to_numpy()
            if missing.any():
                df[name] = df[name].astype("float64" if _is_int(df[name]) else df[name].dtype).fillna(value)

    def state(self) -> dict[str, Any]:
        return {
            "fill_strategy": self.fill_strategy,
            "add_col": self.add_col,
            "fill_vals": self.fill_vals,
            "na_dict": self.na_dict,
            "fill_values": self.fill_values,
        }

    def __repr__(self) -> str:
        return f"FillMissing(fill_strategy={self.fill_strategy!r}, add_col={self.add_col})"


def _is_int(col: pd.Series) -> bool:
    return pd.api.types.is_integer_dtype(col.dtype)


class Normalize(TabularProc):
    """Standardise the continuous columns with the mean and standard deviation of the training rows.

    The population standard deviation (ddof=0); a column constant in training is only centred
    (its std is taken as 1). Values become float32; `decodes` gives them back on their scale.
    """

    order = 3

    def __init__(self) -> None:
        self.means: dict[str, float] = {}
        self.stds: dict[str, float] = {}

    def setup(self, to: Any) -> None:
        train = to.train_items
        for name in to.cont_names:
            values = train[name].astype("float64")
            self.means[name] = float(values.mean())
            std = float(values.std(ddof=0))
            self.stds[name] = std if std > 0 else 1.0

    def encodes(self, to: Any) -> None:
        df = to.items
        for name, mean in self.means.items():
            df[name] = ((df[name].astype("float64") - mean) / self.stds[name]).astype(np.float32)

    def decodes(self, df: pd.DataFrame) -> pd.DataFrame:
        for name, mean in self.means.items():
            if name in df.columns:
                df[name] = df[name].astype("float64") * self.stds[name] + mean
        return df

    def state(self) -> dict[str, Any]:
        return {"means": self.means, "stds": self.stds}


class Procs(list):
    """The fitted procs of a TabularPandas, in the order they run; `procs.categorify` (the class name
    in lower case) finds one, as in fastai."""

    def __getattr__(self, name: str) -> TabularProc:
        for proc in self:
            if type(proc).__name__.lower() == name:
                return proc
        raise AttributeError(f"procs: no {name} among {[type(p).__name__ for p in self]}")


def as_proc(proc: Any, who: str) -> TabularProc:
    """A proc instance from a proc class or instance; TypeError naming what was given otherwise."""
    if isinstance(proc, type) and issubclass(proc, TabularProc):
        return proc()
    if isinstance(proc, TabularProc):
        return proc
    hint = ""
    if getattr(proc, "__module__", "").startswith("plies.loaders") or getattr(
        type(proc), "__module__", ""
    ).startswith("plies.loaders"):
        hint = " (plies.loaders' Normalize standardises images: for tables use plies.tabular.Normalize)"
    raise TypeError(
        f"{who}: procs must be TabularProc classes or instances (Categorify, FillMissing, Normalize), "
        f"found {getattr(proc, '__qualname__', repr(proc))}{hint}"
    )


def proc_state(proc: TabularProc, who: str) -> dict[str, Any]:
    """{'type': registered name, 'state': plain data} of a fitted proc."""
    return {"type": PROCS.name_of(type(proc), who), "state": proc.state()}


def proc_from_state(state: Any, who: str) -> TabularProc:
    """The proc `proc_state` described (only registered proc classes are created)."""
    if not isinstance(state, dict) or set(state) != {"type", "state"} or not isinstance(state["state"], dict):
        raise ValueError(f"{who}: a proc state is {{'type': name, 'state': {{...}}}}, found {state!r:.80}")
    return PROCS.get(state["type"], who).from_state(state["state"])
