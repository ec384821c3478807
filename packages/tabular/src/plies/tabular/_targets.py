"""The target columns of a table: single-label classes, regression values, or multi-label flags.

`target_for(y_block, df, y_names)` picks the kind from `y_block` (plies.loaders' CategoryBlock,
RegressionBlock, MultiCategoryBlock(encoded=True)) or, when None, from the column's dtype:
text, categorical or bool -> classes; numbers -> regression (as fastai; pass
`y_block=CategoryBlock()` for integer class labels).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from plies.loaders import Categorize, EncodedMultiCategorize, MultiCategorize, RegressionSetup
from plies.typecore import TensorCategory, TensorMultiCategory, to_plain

from ._procs import _sorted_values, lookup

__all__: list[str] = []  # private module: TabularPandas holds a target


class CategoryTarget:
    """One column of class labels, encoded as indices into a vocab learned from the training rows."""

    kind = "category"

    def __init__(self, vocab: list[Any] | None = None, sort: bool = True) -> None:
        self.vocab, self.sort = (None if vocab is None else list(vocab)), sort

    def setup(self, train: pd.DataFrame, y_names: list[str]) -> None:
        if self.vocab is None:
            labels = to_plain(np.asarray(pd.unique(train[y_names[0]]), dtype=object).tolist())
            self.vocab = _sorted_values(labels) if self.sort else labels

    @property
    def c(self) -> int:
        return len(self.vocab or [])

    def encode(self, df: pd.DataFrame, y_names: list[str], who: str) -> torch.Tensor:
        col = df[y_names[0]]
        codes = lookup(col, self.vocab or [])
        bad = codes < 0
        if bad.any():
            unknown = list(dict.fromkeys(col[bad].tolist()))
            vocab = (self.vocab or [])[:10]
            raise ValueError(
                f"{who}: target {y_names[0]!r} holds {len(unknown)} label(s) not in the vocab learned from "
                f"the training rows ({', '.join(map(repr, unknown[:5]))}; vocab: {vocab!r}); "
                f"give every label with y_block=CategoryBlock(vocab=[...]) or drop those rows"
            )
        return torch.from_numpy(codes.astype(np.int64)).as_subclass(TensorCategory)

    def decode(self, codes: Any) -> list[Any]:
        vocab = self.vocab or []
        return [vocab[int(i)] for i in np.asarray(codes).reshape(-1)]

    def state(self) -> dict[str, Any]:
        return {"kind": self.kind, "vocab": self.vocab}


class RegressionTarget:
    """One or more float columns, predicted as they are."""

    kind = "regression"
    vocab = None

    def __init__(self, n_out: int | None = None) -> None:
        self.n_out = n_out

    def setup(self, train: pd.DataFrame, y_names: list[str]) -> None:
        self.n_out = len(y_names)

    @property
    def c(self) -> int:
        return int(self.n_out or 1)

    def encode(self, df: pd.DataFrame, y_names: list[str], who: str) -> torch.Tensor:
        for n in y_names:
            if not (pd.api.types.is_numeric_dtype(df[n].dtype) or pd.api.types.is_bool_dtype(df[n].dtype)):
                raise TypeError(
                    f"{who}: regression target {n!r} holds {df[n].dtype} values, not numbers; "
                    f"for class labels pass y_block=CategoryBlock()"
                )
        return torch.from_numpy(df[y_names].to_numpy(dtype=np.float32, copy=True))

    def decode(self, values: Any) -> list[Any]:
        return np.asarray(values, dtype=np.float64).reshape(len(values), -1).tolist()

    def state(self) -> dict[str, Any]:
        return {"kind": self.kind, "n_out": self.n_out}


class MultiTarget:
    """Several bool (0/1) columns, one per label: a multi-hot float tensor; decodes to the labels set."""

    kind = "multi"

    def __init__(self, vocab: list[Any] | None = None) -> None:
        self.vocab = None if vocab is None else list(vocab)

    def setup(self, train: pd.DataFrame, y_names: list[str]) -> None:
        if self.vocab is None:
            self.vocab = list(y_names)

    @property
    def c(self) -> int:
        return len(self.vocab or [])

    def encode(self, df: pd.DataFrame, y_names: list[str], who: str) -> torch.Tensor:
        values = df[y_names].to_numpy(dtype=np.float32, copy=True)
        return torch.from_numpy(values).as_subclass(TensorMultiCategory)

    def decode(self, flags: Any) -> list[Any]:
        vocab = self.vocab or []
        rows = np.asarray(flags).reshape(len(flags), -1)
        return [[v for v, f in zip(vocab, row, strict=True) if f > 0.5] for row in rows]

    def state(self) -> dict[str, Any]:
        return {"kind": self.kind, "vocab": self.vocab}


_KINDS = {"category": CategoryTarget, "regression": RegressionTarget, "multi": MultiTarget}


def target_for(y_block: Any, df: pd.DataFrame, y_names: list[str], who: str) -> Any:
    """The target for `y_block` (a block or its class), or from the dtype of the column when None."""
    if not y_names:
        return None
    if y_block is None:
        col = df[y_names[0]]
        numeric = pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype)
        if len(y_names) > 1 or numeric:
            return RegressionTarget()
        return CategoryTarget()
    block = y_block() if callable(y_block) and not hasattr(y_block, "type_tfms") else y_block
    tfms = list(getattr(block, "type_tfms", []))
    for t in tfms:
        if isinstance(t, Categorize):
            vocab = None if t.vocab is None else list(t.vocab)
            return CategoryTarget(vocab, sort=t.sort)
        if isinstance(t, RegressionSetup):
            return RegressionTarget(t.c)
        if isinstance(t, EncodedMultiCategorize):
            return MultiTarget(None if t.vocab is None else list(t.vocab))
        if isinstance(t, MultiCategorize):
            raise ValueError(
                f"{who}: a table's multi-label target is one bool column per label: pass "
                f"y_names=[those columns], y_block=MultiCategoryBlock(encoded=True)"
            )
    raise TypeError(
        f"{who}: y_block must be CategoryBlock, RegressionBlock or MultiCategoryBlock(encoded=True) "
        f"(from plies.loaders), found {y_block!r}"
    )


def target_from_state(state: Any, who: str) -> Any:
    if state is None:
        return None
    if not isinstance(state, dict) or state.get("kind") not in _KINDS:
        raise ValueError(
            f"{who}: a target state has kind 'category', 'regression' or 'multi', found {state!r:.80}"
        )
    kind = _KINDS[state["kind"]]
    target: Any = object.__new__(kind)
    target.__dict__.update({k: v for k, v in state.items() if k != "kind"})
    if kind is CategoryTarget:
        target.sort = True
    return target
