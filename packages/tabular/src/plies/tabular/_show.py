"""Tables shown as DataFrames: printed (or displayed in a notebook) and returned.

`TabDataLoader.show_batch` / `show_results` build them; `plot_top_losses` (plies.learner's
dispatch) gets a view for decoded tables: the rows with their prediction, loss and probability.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from plies.learner import plot_top_losses
from torch import Tensor

__all__: list[str] = []  # private module: the displays register themselves


def print_frame(df: pd.DataFrame) -> None:
    """Display `df` as a table in a notebook, else print it."""
    try:
        from IPython import get_ipython  # type: ignore[import-not-found]
        from IPython.display import display  # type: ignore[import-not-found]

        if get_ipython() is not None:
            display(df)
            return
    except ImportError:
        pass
    print(df.to_string())


def results_frame(x: pd.DataFrame, y: pd.DataFrame, outs: pd.DataFrame) -> pd.DataFrame:
    """Decoded inputs, targets and `<target>_pred` columns side by side."""
    return pd.concat(
        [x.reset_index(drop=True), y.reset_index(drop=True), outs.reset_index(drop=True)], axis=1
    )


@plot_top_losses.register
def _plot_top_losses_table(
    x: pd.DataFrame,
    y: pd.DataFrame,
    samples: Sequence[Any],
    outs: pd.DataFrame,
    raws: Tensor,
    losses: Tensor,
    show: bool = True,
    **kwargs: Any,
) -> pd.DataFrame:
    """The rows with the largest losses as a DataFrame: inputs, target, prediction, loss, probability."""
    if kwargs:
        raise TypeError(f"plot_top_losses (tables): unexpected keyword(s) {sorted(kwargs)}")
    df = results_frame(x, y, outs)
    df["loss"] = [float(v) for v in losses]
    if raws.ndim > 1 and raws.shape[-1] > 1:
        df["probability"] = [float(r.max()) for r in raws]
    if show:
        print_frame(df)
    return df
