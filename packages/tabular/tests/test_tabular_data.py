"""TabularPandas' splits, tensors and targets; TabDataLoader's one-gather batches; other DataFrames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from plies.loaders import CategoryBlock, MultiCategoryBlock
from plies.tabular import Categorify, FillMissing, Normalize, TabDataLoader, TabularDataLoaders, TabularPandas
from plies.typecore import TensorCategory, TensorMultiCategory


def table(n: int = 50) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "city": rng.choice(["Oslo", "Lima", "Pune"], n),
            "age": rng.integers(18, 80, n).astype(float),
            "income": rng.normal(50, 10, n),
            "label": rng.choice(["no", "yes"], n),
        }
    )


def test_rows_follow_the_splits_and_train_valid_are_views_of_the_same_tensors():
    df = table(10)
    to = TabularPandas(df, [Categorify], ["city"], ["age"], y_names="label", splits=[[9, 0, 3], [5, 1]])
    assert list(to.items.index) == [9, 0, 3, 5, 1] and len(to.train) == 3 and len(to.valid) == 2
    assert to.valid.items["age"].tolist() == df["age"].iloc[[5, 1]].tolist()
    cats, conts, ys = to.valid[1]
    assert conts.tolist() == [df["age"].iloc[1]] and to.vocab[int(ys)] == df["label"].iloc[1]
    assert to.valid._tensors["conts"].data_ptr() == to._tensors["conts"][3:].data_ptr()  # a view, no copy


def test_batch_gathers_rows_with_their_types():
    to = TabularPandas(table(), [Categorify, Normalize], ["city"], ["age", "income"], y_names="label")
    cats, conts, ys = to.batch(np.array([4, 0, 7]))
    assert type(ys) is TensorCategory and type(cats) is torch.Tensor and conts.dtype == torch.float32
    assert torch.equal(conts, to._tensors["conts"][[4, 0, 7]]) and torch.equal(
        cats, to._tensors["cats"][[4, 0, 7]]
    )


def test_loader_batches_are_one_gather_each_and_cover_every_row():
    to = TabularPandas(table(50), [Categorify], ["city"], ["age"], y_names="label")
    calls = []
    batch = to.batch
    to.batch = lambda positions: calls.append(len(positions)) or batch(positions)
    dl = TabDataLoader(to, bs=16, shuffle=True, seed=0)
    ages = torch.cat([b[1][:, 0] for b in dl])
    assert calls == [16, 16, 16, 2] and len(dl) == 4
    assert sorted(ages.tolist()) == sorted(table(50)["age"].tolist())
    dropped = TabDataLoader(to, bs=16, drop_last=True)
    assert [len(b[0]) for b in dropped] == [16, 16, 16]


def test_loader_refuses_item_transforms_and_datasets_that_cannot_gather():
    to = TabularPandas(table(), [Categorify], ["city"], ["age"], y_names="label")
    with pytest.raises(ValueError, match="after_item transforms never run.*use after_batch"):
        TabDataLoader(to, after_item=[lambda x: x])
    with pytest.raises(TypeError, match="must be a TabularPandas.*found a list"):
        TabDataLoader([1, 2, 3])


def test_from_df_valid_idx_and_properties():
    df = table(40)
    dls = TabularDataLoaders.from_df(
        df, procs=[Categorify, FillMissing, Normalize], cat_names=["city"], cont_names=["age", "income"],
        y_names="label", valid_idx=range(30, 40), bs=8, device="cpu",
    )  # fmt: skip
    assert len(dls.train_ds) == 30 and dls.valid_ds.items.index.tolist() == list(range(30, 40))
    assert (
        dls.c == 2 and dls.vocab == ["no", "yes"] and dls.classes["city"] == ["#na#", "Lima", "Oslo", "Pune"]
    )
    assert len(dls.train) == 3  # 30 rows, bs 8, last partial batch dropped
    random = TabularDataLoaders.from_df(df, cat_names=["city"], y_names="label", valid_pct=0.25, seed=1,
                                        procs=[Categorify])  # fmt: skip
    assert len(random.valid_ds) == 10
    with pytest.raises(TypeError, match="categorical column 'city' holds .* not codes; add Categorify"):
        TabularDataLoaders.from_df(df, cat_names=["city"], y_names="label")


def test_from_csv_skips_initial_spaces(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("city,age,label\n Oslo,30, no\n Lima,40, yes\n Oslo,50, no\n Pune,20, yes\n")
    dls = TabularDataLoaders.from_csv(csv, procs=[Categorify], cat_names="city", cont_names="age",
                                      y_names="label", valid_idx=[3], bs=2)  # fmt: skip
    assert dls.classes["city"] == ["#na#", "Lima", "Oslo"] and dls.vocab == ["no", "yes"]


def test_regression_and_multi_label_targets():
    df = table(20).assign(price=np.arange(20.0), tax=np.arange(20.0) / 10)
    reg = TabularPandas(df, [Categorify], ["city"], y_names=["price", "tax"])
    assert (
        reg.c == 2
        and reg._tensors["ys"].dtype == torch.float32
        and reg._tensors["ys"][3].tolist() == pytest.approx([3.0, 0.3])
    )
    df = df.assign(red=np.arange(20) % 2 == 0, big=np.arange(20) > 9)
    multi = TabularPandas(
        df, [Categorify], ["city"], y_names=["red", "big"], y_block=MultiCategoryBlock(encoded=True)
    )
    ys = multi._tensors["ys"]
    assert type(ys) is TensorMultiCategory and ys[11].tolist() == [0.0, 1.0] and multi.vocab == ["red", "big"]
    assert multi.decode_targets(ys[10:12]) == {"labels": [["red", "big"], ["big"]]}
    ints = TabularPandas(df.assign(grade=np.arange(20) % 3), [], y_names="grade", y_block=CategoryBlock())
    assert ints.vocab == [0, 1, 2] and ints._tensors["ys"][:4].tolist() == [0, 1, 2, 0]


def test_a_target_label_only_in_validation_is_named():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": ["a", "a", "b"]})
    with pytest.raises(
        ValueError, match=r"target 'y' holds 1 label\(s\) not in the vocab.*'b'.*CategoryBlock\(vocab"
    ):
        TabularPandas(df, [], cont_names="x", y_names="y", splits=[[0, 1], [2]])


def test_new_rows_dicts_and_series_are_processed_like_training_rows():
    df = table(30)
    to = TabularPandas(df, [Categorify, FillMissing, Normalize], ["city"], ["age", "income"], y_names="label")
    one = to.test_set({"city": "Lima", "age": df.age[3], "income": df.income[3], "label": "yes"})
    assert torch.allclose(one._tensors["conts"][0], to._tensors["conts"][3]) and one._tensors["ys"] is None
    series = to.test_set(df.iloc[3])
    assert torch.equal(series._tensors["cats"], to._tensors["cats"][3:4])
    with_labels = to.test_set(df.iloc[:2], with_labels=True)
    assert torch.equal(with_labels._tensors["ys"], to._tensors["ys"][:2])
    with pytest.raises(KeyError, match="'income', not a column"):
        to.new(df.drop(columns="income"))


def test_polars_frames_are_accepted():
    pl = pytest.importorskip("polars")
    df = table(20)
    to_pl = TabularPandas(
        pl.DataFrame({c: df[c].tolist() for c in df.columns}),
        [Categorify, Normalize],
        ["city"],
        ["age"],
        y_names="label",
    )
    to_pd = TabularPandas(df, [Categorify, Normalize], ["city"], ["age"], y_names="label")
    assert torch.equal(to_pl._tensors["cats"], to_pd._tensors["cats"])
    assert torch.allclose(to_pl._tensors["conts"], to_pd._tensors["conts"])


def test_cudf_frames_are_accepted():
    cudf = pytest.importorskip("cudf")
    df = table(20)
    to = TabularPandas(cudf.from_pandas(df), [Categorify], ["city"], ["age"], y_names="label")
    assert to.classes["city"] == ["#na#", "Lima", "Oslo", "Pune"]
