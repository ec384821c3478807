"""`TabDataLoader` (batches gathered from a TabularPandas' tensors) and `TabularDataLoaders`.

A batch is `(cats, conts, ys)` (collab: `(cats, ys)`): one gather per tensor for the whole batch,
on the calling thread; there are no per-item transforms. `show_batch` / `show_results` return
(and print) the decoded rows as a DataFrame.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from plies.loaders import DataLoaders, RandomSplitter, TfmdDL, register_dataloader
from plies.typecore import default_device

from ._show import print_frame, results_frame
from ._tabular import TabularPandas

__all__ = ["TabDataLoader", "TabularDataLoaders"]


@register_dataloader
class TabDataLoader(TfmdDL):
    """A TfmdDL over a TabularPandas: each batch is one gather of its rows (no per-item stages).

    `after_batch` transforms run as usual; `after_item` / `before_batch` would never see an
    item, so they are refused.
    """

    def __init__(
        self,
        dataset: Any = None,
        bs: int | None = 64,
        shuffle: bool = False,
        num_workers: int = 0,
        verbose: bool = False,
        do_setup: bool = True,
        **kwargs: Any,
    ) -> None:
        if dataset is not None and not callable(getattr(dataset, "batch", None)):
            raise TypeError(
                f"TabDataLoader: the dataset must be a TabularPandas (gathers batches with .batch), "
                f"found a {type(dataset).__name__}"
            )
        super().__init__(
            dataset,
            bs=bs,
            shuffle=shuffle,
            num_workers=num_workers,
            verbose=verbose,
            do_setup=do_setup,
            **kwargs,
        )
        for name in ("after_item", "before_batch"):
            if len(getattr(self, name).fs):
                raise ValueError(
                    f"TabDataLoader: {name} transforms never run (batches are gathered from the processed "
                    f"tensors, not built item by item); use after_batch, or a proc on the DataFrame"
                )

    def create_batches(self, samps: Iterable[Any]) -> Iterator[Any]:
        """Batches of `bs` rows: one gather per tensor (the last partial one unless `drop_last`)."""
        if isinstance(samps, range):
            positions = np.arange(samps.start, samps.stop, samps.step, dtype=np.intp)
        else:
            positions = (
                np.fromiter(samps, dtype=np.intp) if not isinstance(samps, list) else np.asarray(samps)
            )
        bs = self.bs or 1
        stop = len(positions) - len(positions) % bs if self.drop_last else len(positions)
        batch = self.dataset.batch
        for i in range(0, stop, bs):
            yield batch(positions[i : i + bs])

    def decode_batch(self, b: Any, max_n: int = 9, full: bool = True) -> pd.DataFrame:
        """Batch `b` as a readable DataFrame of at most `max_n` rows."""
        return self.dataset.decode_batch(self.decode(b), max_n=max_n)

    def show_batch(
        self,
        b: Any = None,
        max_n: int = 10,
        ctxs: Any = None,
        show: bool = True,
        unique: bool = False,
        **kwargs: Any,
    ) -> pd.DataFrame:
        """The decoded rows of batch `b` (one drawn when None) as a DataFrame, printed when `show`."""
        if kwargs:
            raise TypeError(f"TabDataLoader.show_batch: unexpected keyword(s) {sorted(kwargs)}")
        if b is None:
            b = self.one_batch() if not unique else self._unique_batch()
        df = self.decode_batch(b, max_n=max_n)
        if show:
            print_frame(df)
        return df

    def show_results(
        self, b: Any, out: Any, max_n: int = 10, ctxs: Any = None, show: bool = True, **kwargs: Any
    ) -> Any:
        """Batch `b` decoded with the decoded predictions `out` beside the targets (`<target>_pred`):
        a DataFrame, printed. With `show=False`, `(inputs, targets, rows, predictions)` as DataFrames
        (what `plot_top_losses` and other displays take)."""
        if kwargs:
            raise TypeError(f"TabDataLoader.show_results: unexpected keyword(s) {sorted(kwargs)}")
        rows = self.decode_batch(b, max_n=max_n)
        ds = self.dataset
        inputs = [n for n in rows.columns if n in ds.cat_names or n in ds.cont_names]
        pred = out[0] if isinstance(out, (tuple, list)) else out
        outs = pd.DataFrame(ds.decode_targets(pred[: len(rows)], suffix="_pred"))
        x, y = rows[inputs], rows.drop(columns=inputs)
        if not show:
            return x, y, rows, outs
        df = results_frame(x, y, outs)
        print_frame(df)
        return df


class TabularDataLoaders(DataLoaders):
    """DataLoaders of a table: `from_df` / `from_csv` build the TabularPandas and its two loaders."""

    @classmethod
    def from_tabular(
        cls,
        to: TabularPandas,
        bs: int = 64,
        val_bs: int | None = None,
        shuffle: bool = True,
        drop_last: bool = True,
        path: str | Path = ".",
        device: Any = None,
        num_workers: int = 0,
        seed: int | None = None,
    ) -> TabularDataLoaders:
        """A training loader (shuffled) over `to.train` and a validation loader over `to.valid`."""
        device = default_device() if device is None else device
        common = dict(num_workers=num_workers, device=device, seed=seed)
        train = TabDataLoader(to.train, bs=bs, shuffle=shuffle, drop_last=drop_last, **common)
        valid = TabDataLoader(to.valid, bs=val_bs or bs, shuffle=False, drop_last=False, **common)
        return cls(train, valid, path=path, device=device)

    @classmethod
    def from_df(
        cls,
        df: Any,
        path: str | Path = ".",
        procs: Any = None,
        cat_names: Any = None,
        cont_names: Any = None,
        y_names: Any = None,
        y_block: Any = None,
        valid_idx: Any = None,
        valid_pct: float = 0.2,
        seed: int | None = None,
        bs: int = 64,
        val_bs: int | None = None,
        shuffle: bool = True,
        drop_last: bool | None = None,
        device: Any = None,
        num_workers: int = 0,
    ) -> TabularDataLoaders:
        """Process `df` with `procs` and split it: the rows `valid_idx` (positions), else a random
        `valid_pct` of them (`seed` repeats it), are the validation set."""
        n = len(df)
        if valid_idx is None:
            train_idx, valid_idx = RandomSplitter(valid_pct, seed=seed)(range(n))
            splits = [list(train_idx), list(valid_idx)]
        else:
            valid = np.unique(np.asarray(list(valid_idx), dtype=np.intp) % max(n, 1))
            splits = [np.setdiff1d(np.arange(n), valid).tolist(), valid.tolist()]
        to = TabularPandas(
            df, procs, cat_names, cont_names, y_names=y_names, y_block=y_block, splits=splits, device=device
        )
        return to.dataloaders(
            bs=bs,
            val_bs=val_bs,
            shuffle=shuffle,
            drop_last=drop_last,
            path=path,
            device=device,
            num_workers=num_workers,
            seed=seed,
        )

    @classmethod
    def from_csv(cls, csv: str | Path, skipinitialspace: bool = True, **kwargs: Any) -> TabularDataLoaders:
        """`from_df` on `pd.read_csv(csv)` (spaces after the commas skipped); keywords go to `from_df`."""
        return cls.from_df(pd.read_csv(csv, skipinitialspace=skipinitialspace), **kwargs)

    # ---- the table's description (from the training set) -------------------------------------
    @property
    def cat_names(self) -> list[str]:
        """The categorical columns (with FillMissing's `<col>_na` ones)."""
        return self.train_ds.cat_names

    @property
    def cont_names(self) -> list[str]:
        """The continuous columns."""
        return self.train_ds.cont_names

    @property
    def y_names(self) -> list[str]:
        """The target columns."""
        return self.train_ds.y_names

    @property
    def procs(self) -> list[Any]:
        """The fitted procs."""
        return self.train_ds.procs

    @property
    def classes(self) -> dict[str, list[Any]]:
        """Each categorical column's vocab."""
        return self.train_ds.classes

    @property
    def c(self) -> int:
        """Number of model outputs (classes, labels or regression targets)."""
        return self.train_ds.c
