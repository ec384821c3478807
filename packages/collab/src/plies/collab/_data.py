"""`CollabDataLoaders`: (user, item, rating) rows as a table whose batches are `(codes, ratings)`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from plies.loaders import RandomSplitter, RegressionBlock, register_dataset
from plies.tabular import Categorify, TabularDataLoaders, TabularPandas

__all__ = ["TabularCollab", "CollabDataLoaders"]


@register_dataset
class TabularCollab(TabularPandas):
    """A TabularPandas of (user, item) codes and ratings: batches hold no continuous tensor."""

    with_cont = False


def _column(ratings: pd.DataFrame, name: str | None, position: int, role: str) -> str:
    if name is not None:
        if name not in ratings.columns:
            raise KeyError(
                f"CollabDataLoaders.from_df: {role}={name!r} is not a column of the ratings "
                f"(columns: {list(ratings.columns)})"
            )
        return name
    if len(ratings.columns) <= position:
        raise ValueError(
            f"CollabDataLoaders.from_df: no {role} given and the ratings have only {len(ratings.columns)} "
            f"columns; name it ({role}=...)"
        )
    return ratings.columns[position]


class CollabDataLoaders(TabularDataLoaders):
    """DataLoaders of ratings: the user and item columns are categorified, the rating is the target."""

    @classmethod
    def from_df(  # type: ignore[override]
        cls,
        ratings: Any,
        valid_pct: float = 0.2,
        user_name: str | None = None,
        item_name: str | None = None,
        rating_name: str | None = None,
        seed: int | None = None,
        path: str | Path = ".",
        bs: int = 64,
        val_bs: int | None = None,
        shuffle: bool = True,
        device: Any = None,
        num_workers: int = 0,
    ) -> CollabDataLoaders:
        """A random `valid_pct` of the ratings (`seed` repeats it) is the validation set. Columns
        are found by name (`user_name`, `item_name`, `rating_name`), in any order; a name left out
        is the column at its position (user first, item second, rating third, as fastai)."""
        user = _column(ratings, user_name, 0, "user_name")
        item = _column(ratings, item_name, 1, "item_name")
        rating = _column(ratings, rating_name, 2, "rating_name")
        if len({user, item, rating}) < 3:
            raise ValueError(
                f"CollabDataLoaders.from_df: user, item and rating must be three columns, got "
                f"{user!r}, {item!r}, {rating!r}"
            )
        train, valid = RandomSplitter(valid_pct, seed=seed)(range(len(ratings)))
        to = TabularCollab(
            ratings,
            [Categorify],
            cat_names=[user, item],
            y_names=[rating],
            y_block=RegressionBlock(),
            splits=[list(train), list(valid)],
            reduce_memory=False,
        )
        return to.dataloaders(
            bs=bs,
            val_bs=val_bs,
            shuffle=shuffle,
            path=path,
            device=device,
            num_workers=num_workers,
            seed=seed,
        )  # type: ignore[return-value]

    @classmethod
    def from_csv(cls, csv: str | Path, skipinitialspace: bool = True, **kwargs: Any) -> CollabDataLoaders:  # type: ignore[override]
        """`from_df` on `pd.read_csv(csv)`; keywords go to `from_df`."""
        return cls.from_df(pd.read_csv(csv, skipinitialspace=skipinitialspace), **kwargs)
