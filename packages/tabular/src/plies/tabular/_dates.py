"""Features from dates: their parts (`add_datepart`) and the time to and from events (`add_elapsed_times`).

Elapsed times are computed from timedeltas, never from the raw integers of a datetime column,
so they are the same whatever unit pandas stores (pandas 3 parses to microseconds).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["make_date", "add_datepart", "add_elapsed_times"]

_PARTS = (
    "Year",
    "Month",
    "Week",
    "Day",
    "Dayofweek",
    "Dayofyear",
    "Is_month_end",
    "Is_month_start",
    "Is_quarter_end",
    "Is_quarter_start",
    "Is_year_end",
    "Is_year_start",
)
_TIME_PARTS = ("Hour", "Minute", "Second")
_ATTRS = {"Dayofweek": "day_of_week", "Dayofyear": "day_of_year"}  # pandas' current spellings


def make_date(df: pd.DataFrame, date_field: str) -> None:
    """Make `df[date_field]` a datetime column in place (parsing text; timezones are kept)."""
    if date_field not in df.columns:
        raise KeyError(f"make_date: {date_field!r} is not a column of the DataFrame")
    col = df[date_field]
    if isinstance(col.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(col.dtype):
        return
    try:
        df[date_field] = pd.to_datetime(col)
    except (ValueError, TypeError) as e:
        raise ValueError(f"make_date: column {date_field!r} cannot be parsed as dates ({e})") from None


def _seconds_since_epoch(col: pd.Series) -> pd.Series:
    epoch = pd.Timestamp("1970-01-01", tz=getattr(col.dt, "tz", None))
    return (col - epoch) / pd.Timedelta(seconds=1)


def add_datepart(
    df: pd.DataFrame, field_name: str, prefix: str | None = None, drop: bool = True, time: bool = False
) -> pd.DataFrame:
    """Add the parts of date column `field_name` (Year, Month, Week, Day, Dayofweek, Dayofyear, the
    Is_* flags, with `time` Hour/Minute/Second, and Elapsed: seconds since 1970) as `<prefix><Part>`
    columns; `prefix` defaults to the name less a trailing 'Date'/'date'. Drops the column when `drop`."""
    make_date(df, field_name)
    col = df[field_name]
    prefix = re.sub("[Dd]ate$", "", field_name) if prefix is None else prefix
    for part in _PARTS + (_TIME_PARTS if time else ()):
        if part == "Week":
            values = col.dt.isocalendar().week.astype("float64" if col.isna().any() else "int64")
        else:
            values = getattr(col.dt, _ATTRS.get(part, part.lower()))
        df[prefix + part] = values.to_numpy()
    elapsed = _seconds_since_epoch(col)
    df[prefix + "Elapsed"] = elapsed.astype("int64") if not elapsed.isna().any() else elapsed
    if drop:
        del df[field_name]
    return df


def add_elapsed_times(
    df: pd.DataFrame, field_names: str | Sequence[str], date_field: str, base_field: str
) -> pd.DataFrame:
    """For each event column `f` (truthy on the days it happens), per `base_field` group (e.g. a store)
    in date order: `After<f>` days since the last event (0 on its day and before the first one),
    `Before<f>` days until the next one (negative, 0 after the last), and `<f>_bw` / `<f>_fw` the
    number of events in the 7 rows up to / from each row. Returns a new frame (rows in `df`'s order).
    """
    names = [field_names] if isinstance(field_names, str) else list(field_names)
    df = df.copy()
    make_date(df, date_field)
    for n in names:
        df[n] = df[n].astype(bool)
    day = pd.Timedelta(days=1)
    ordered = df.sort_values([base_field, date_field], kind="stable")
    original_index = ordered.index
    ordered = ordered.reset_index(drop=True)
    base, date = ordered[base_field], ordered[date_field]
    for n in names:
        event_date = date.where(ordered[n])
        last = event_date.groupby(base, sort=False).ffill()
        following = event_date.groupby(base, sort=False).bfill()
        ordered["After" + n] = ((date - last) / day).fillna(0).astype(np.int64)
        ordered["Before" + n] = ((date - following) / day).fillna(0).astype(np.int64)
        flags = ordered[n].astype(np.int64).groupby(base, sort=False)
        ordered[n + "_bw"] = flags.transform(lambda s: s.rolling(7, min_periods=1).sum())
        ordered[n + "_fw"] = flags.transform(lambda s: s[::-1].rolling(7, min_periods=1).sum()[::-1])
    ordered.index = original_index
    return ordered.loc[df.index] if df.index.is_unique else ordered
