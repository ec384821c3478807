"""Categorify, FillMissing and Normalize: what they learn from the training rows and how they apply it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from plies.tabular import Categorify, FillMissing, FillStrategy, Normalize, TabularPandas


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "color": ["red", "blue", None, "red", "green", "purple"],  # green, purple: validation only
            "size": [1.0, np.nan, 3.0, 10.0, 5.0, np.nan],
            "weight": [2.0, 4.0, 6.0, 8.0, 100.0, 200.0],
            "y": ["a", "b", "a", "b", "a", "b"],
        }
    )


SPLITS = [[0, 1, 2, 3], [4, 5]]


def test_categorify_learns_the_vocab_from_training_rows_only():
    to = TabularPandas(frame(), [Categorify], cat_names="color", y_names="y", splits=SPLITS)
    assert to.classes["color"] == ["#na#", "blue", "red"]  # sorted, from rows 0-3; None is not a value
    codes = to._tensors["cats"][:, 0].tolist()
    assert codes == [2, 1, 0, 2, 0, 0]  # missing -> 0, validation-only green/purple -> 0 (#na#)
    assert to.decode()["color"].tolist() == ["red", "blue", "#na#", "red", "#na#", "#na#"]


def test_categorify_keeps_a_categorical_dtype_order_and_unseen_values_at_inference_are_na():
    df = frame()
    df["color"] = pd.Categorical(df["color"], categories=["red", "green", "blue", "purple"], ordered=True)
    to = TabularPandas(df, [Categorify], cat_names=["color"], y_names="y", splits=SPLITS)
    assert to.classes["color"] == ["#na#", "red", "blue"]  # declared order, only values seen in training
    new = to.new(pd.DataFrame({"color": ["blue", "orange", None], "size": [1.0] * 3, "weight": [1.0] * 3}))
    assert new._tensors["cats"][:, 0].tolist() == [2, 0, 0]
    assert new._tensors["ys"] is None  # no target column: inputs only


def test_fill_missing_median_adds_na_flags_only_where_training_rows_had_missing_values():
    to = TabularPandas(frame(), [FillMissing], cont_names=["size", "weight"], y_names="y", splits=SPLITS)
    assert to.procs[0].fill_values == {"size": 3.0, "weight": 5.0}  # medians of [1, 3, 10] and [2, 4, 6, 8]
    assert to.procs[0].na_dict == {"size": 3.0}
    assert to.cat_names == ["size_na"]
    assert to.items["size"].tolist() == [1.0, 3.0, 3.0, 10.0, 5.0, 3.0]
    assert to.items["size_na"].tolist() == [False, True, False, False, False, True]
    new = to.new(pd.DataFrame({"size": [np.nan], "weight": [np.nan], "color": ["red"]}))
    assert new.items["weight"].tolist() == [5.0]  # no missing weight in training: filled all the same


@pytest.mark.parametrize(
    ("strategy", "fill_vals", "expected"),
    [
        (FillStrategy.mode, None, 1.0),
        ("constant", {"size": -1.0}, -1.0),
        (FillStrategy.median, None, 2.0),
    ],  # median of 1, 1, 3, 10,
)
def test_fill_missing_strategies(strategy, fill_vals, expected):
    df = pd.DataFrame({"size": [1.0, 1.0, 3.0, 10.0, np.nan], "y": [0.0] * 5})
    to = TabularPandas(df, [FillMissing(strategy, fill_vals=fill_vals)], cont_names="size", y_names="y")
    assert to.items["size"].iloc[-1] == expected


def test_fill_missing_refuses_an_unknown_strategy_and_an_empty_column():
    with pytest.raises(ValueError, match="fill_strategy must be one of .*'median'.*got 'mean'"):
        FillMissing("mean")
    df = pd.DataFrame({"size": [np.nan, np.nan, 1.0], "y": [0.0, 1.0, 2.0]})
    with pytest.raises(ValueError, match="column 'size' has no value in the training rows"):
        TabularPandas(df, [FillMissing], cont_names="size", y_names="y", splits=[[0, 1], [2]])


def test_normalize_uses_training_statistics_and_decodes_back():
    to = TabularPandas(frame(), [Normalize], cont_names=["weight"], y_names="y", splits=SPLITS)
    train = np.array([2.0, 4.0, 6.0, 8.0])
    mean, std = train.mean(), train.std()  # population std (ddof=0): sqrt(5)
    assert to.procs[0].means["weight"] == pytest.approx(5.0) and to.procs[0].stds["weight"] == pytest.approx(
        std
    )
    expected = (np.array([2.0, 4.0, 6.0, 8.0, 100.0, 200.0]) - mean) / std
    assert np.allclose(to._tensors["conts"][:, 0].numpy(), expected, atol=1e-6)
    assert np.allclose(to.decode()["weight"], [2.0, 4.0, 6.0, 8.0, 100.0, 200.0], atol=1e-4)


def test_procs_run_in_their_order_and_the_na_flag_is_categorified():
    to = TabularPandas(
        frame(), [Normalize, Categorify, FillMissing], cat_names=["color"], cont_names=["size"], y_names="y",
        splits=SPLITS,
    )  # fmt: skip
    assert [type(p).__name__ for p in to.procs] == ["FillMissing", "Categorify", "Normalize"]
    assert to.procs.categorify is to.procs[1] and to.procs.normalize.means == to.procs[2].means  # as fastai
    assert to.classes["size_na"] == ["#na#", False, True]
    assert to._tensors["cats"][:, 1].tolist() == [1, 2, 1, 1, 1, 2]
    filled = np.array([1.0, 3.0, 3.0, 10.0])  # Normalize sees the filled training values
    assert to.procs[2].means["size"] == pytest.approx(filled.mean())


def test_the_callers_name_lists_are_never_modified():
    cat_names, cont_names = ["color"], ["size"]
    to = TabularPandas(frame(), [FillMissing, Categorify], cat_names, cont_names, y_names="y", splits=SPLITS)
    assert cat_names == ["color"] and cont_names == ["size"]
    assert to.cat_names == ["color", "size_na"]


def test_errors_name_the_column_and_the_fix():
    df = frame()
    with pytest.raises(KeyError, match=r"cat_names names 'colour', not a column.*fix the name"):
        TabularPandas(df, [Categorify], cat_names=["colour"], y_names="y")
    bad_target = df.assign(y=["a", None, "a", "b", "a", "b"])
    with pytest.raises(ValueError, match=r"target column 'y' has 1 missing value.*dropna\(subset=\['y'\]\)"):
        TabularPandas(bad_target, [Categorify], cat_names=["color"], y_names="y")
    text = df.assign(weight=["2", "4", "x", "8", "1", "2"])
    with pytest.raises(TypeError, match=r"continuous column 'weight' holds text \(e.g. '2'\).*pd.to_numeric"):
        TabularPandas(text, [Normalize], cont_names=["weight"], y_names="y")
    with pytest.raises(TypeError, match="plies.tabular.Normalize"):
        from plies.loaders import Normalize as ImageNormalize

        TabularPandas(df, [ImageNormalize], cont_names=["weight"], y_names="y")
