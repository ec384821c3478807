"""The paper's tabular example on the real adult sample: procs, the paper's columns, layers=[200, 100],
the last 6,500 rows as validation, 3 epochs of fit_one_cycle: at least 0.83 validation accuracy."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from plies.tabular.all import (
    Categorify,
    FillMissing,
    Normalize,
    TabularDataLoaders,
    URLs,
    accuracy,
    load_learner,
    tabular_learner,
    untar_data,
)

CAT = ["workclass", "education", "marital-status", "occupation", "relationship", "race"]
CONT = ["age", "fnlwgt", "education-num"]


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small ops: the intra-op pool only adds wake-ups (docs/tabular.md, "Speed")
    yield
    torch.set_num_threads(threads)


def test_the_papers_adult_example_reaches_083_and_exports(tmp_path, one_thread):
    path = untar_data(URLs.ADULT_SAMPLE)
    df = pd.read_csv(path / "adult.csv")
    assert len(df) == 32561
    cat_names, cont_names = list(CAT), list(CONT)
    torch.manual_seed(0)
    dls = TabularDataLoaders.from_df(
        df, tmp_path, procs=[Categorify, FillMissing, Normalize], cat_names=cat_names, cont_names=cont_names,
        y_names="salary", valid_idx=list(range(len(df) - 6500, len(df))), bs=64, device="cpu",
    )  # fmt: skip
    assert cat_names == CAT and dls.cat_names == [*CAT, "education-num_na"]  # the caller's list is kept
    assert len(dls.valid_ds) == 6500 and dls.vocab == ["<50k", ">=50k"]
    learn = tabular_learner(dls, layers=[200, 100], metrics=accuracy)
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(3)
    assert learn.recorder.values[-1][2] >= 0.83
    loaded = load_learner(learn.export())
    rows = df.iloc[-5:]
    for _, row in rows.iterrows():
        got, want = loaded.predict(row), learn.predict(row)
        assert got[0]["salary"] == want[0]["salary"] and torch.allclose(got[2], want[2], atol=1e-6)
