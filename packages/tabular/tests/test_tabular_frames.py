"""add_datepart, add_elapsed_times, cont_cat_split and df_shrink on hand-computed frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from plies.tabular import add_datepart, add_elapsed_times, cont_cat_split, df_shrink, df_shrink_dtypes


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_add_datepart_elapsed_is_in_seconds_whatever_the_unit(unit):
    dates = pd.Series(pd.to_datetime(["2020-02-29 00:00:00", "1970-01-02 00:00:01"])).astype(
        f"datetime64[{unit}]"
    )
    df = add_datepart(pd.DataFrame({"saleDate": dates}), "saleDate")
    assert "saleDate" not in df.columns
    assert df["saleElapsed"].tolist() == [1582934400, 86401]  # 18321 days * 86400; one day and a second
    row = df.iloc[0]
    assert (row.saleYear, row.saleMonth, row.saleWeek, row.saleDay, row.saleDayofweek) == (2020, 2, 9, 29, 5)
    assert (row.saleDayofyear, row.saleIs_month_end, row.saleIs_month_start) == (60, True, False)


def test_add_datepart_keeps_missing_dates_missing():
    df = add_datepart(
        pd.DataFrame({"date": ["2021-01-01", None]}), "date", prefix="d_", drop=False, time=True
    )
    assert df["d_Elapsed"].iloc[0] == 1609459200 and np.isnan(df["d_Elapsed"].iloc[1])
    assert "date" in df.columns and df["d_Hour"].iloc[0] == 0


def test_add_elapsed_times_per_group():
    df = pd.DataFrame(
        {
            "store": [1, 1, 1, 1, 2, 2],
            "date": pd.to_datetime(
                ["2020-01-01", "2020-01-03", "2020-01-06", "2020-01-10", "2020-01-01", "2020-01-02"]
            ),
            "holiday": [False, True, False, True, False, False],
        }
    )
    res = add_elapsed_times(df.iloc[::-1], "holiday", "date", "store")  # any row order
    res = res.sort_index()
    assert res["Afterholiday"].tolist() == [0, 0, 3, 0, 0, 0]  # days since the last holiday of the store
    assert res["Beforeholiday"].tolist() == [-2, 0, -4, 0, 0, 0]  # days to the next (negative)
    assert res["holiday_bw"].tolist() == [0, 1, 1, 2, 0, 0]  # holidays in the 7 rows up to this one
    assert res["holiday_fw"].tolist() == [2, 2, 1, 1, 0, 0]  # holidays in the 7 rows from this one


def test_cont_cat_split():
    df = pd.DataFrame(
        {"a": np.arange(30), "b": np.arange(30) % 3, "c": np.linspace(0, 1, 30), "d": ["x"] * 30, "y": 0.0}
    )
    assert cont_cat_split(df, max_card=20, dep_var="y") == (["a", "c"], ["b", "d"])


def test_df_shrink():
    df = pd.DataFrame(
        {"i": [1, 2, 300], "u": [0, 1, 2], "f": [0.5, 1.5, 2.5], "s": ["a", "a", "a"], "t": ["p", "q", "r"]}
    )
    dtypes = df_shrink_dtypes(df, int2uint=True)
    assert dtypes == {
        "i": np.dtype("uint16"),
        "u": np.dtype("uint8"),
        "f": np.dtype("float32"),
        "s": "category",
    }
    small = df_shrink(df)
    assert small["i"].dtype == np.int16 and small["u"].dtype == np.int8 and small["t"].dtype == df["t"].dtype
    assert small["f"].tolist() == [0.5, 1.5, 2.5]
