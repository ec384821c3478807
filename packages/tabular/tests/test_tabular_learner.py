"""TabularModel, tabular_learner, predict on one row, show_batch / show_results, export in a fresh process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch
from plies.learner import ClassificationInterpretation, accuracy, load_learner
from plies.loaders import MultiCategoryBlock
from plies.tabular import (
    Categorify,
    FillMissing,
    Normalize,
    TabularDataLoaders,
    TabularLearner,
    TabularModel,
    emb_sz_rule,
    get_emb_sz,
    tabular_config,
    tabular_learner,
)


def data(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """label = 'hi' when x + bonus(city) > 0: learnable from one continuous and one categorical column."""
    rng = np.random.default_rng(seed)
    city = rng.choice(["Oslo", "Lima", "Pune"], n)
    x = rng.normal(0, 1, n)
    score = x + np.select([city == "Oslo", city == "Lima"], [1.5, -1.5], 0.0)
    x[::17] = np.nan  # some missing values
    return pd.DataFrame(
        {"city": city, "x": x, "noise": rng.normal(0, 1, n), "label": np.where(score > 0, "hi", "lo")}
    )


def dls_of(df: pd.DataFrame, **kwargs) -> TabularDataLoaders:
    return TabularDataLoaders.from_df(
        df, procs=[Categorify, FillMissing, Normalize], cat_names=["city"], cont_names=["x", "noise"],
        valid_idx=range(len(df) - 100, len(df)), bs=32, device="cpu", seed=0, **kwargs,
    )  # fmt: skip


def fitted(df=None, epochs=4, **kwargs) -> TabularLearner:
    torch.manual_seed(0)
    learn = tabular_learner(dls_of(data() if df is None else df, y_names="label"), metrics=accuracy, **kwargs)
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(epochs, 1e-2)
    return learn


def test_emb_sz_rule_and_get_emb_sz():
    assert [emb_sz_rule(n) for n in (2, 10, 100, 10**6)] == [2, 6, 21, 600]  # min(600, round(1.6 n^0.56))
    dls = dls_of(data(), y_names="label")
    assert get_emb_sz(dls.train_ds) == [(4, 3), (3, 3)]  # city: #na# + 3; x_na: #na#, False, True
    assert get_emb_sz(dls.train_ds, {"city": 10}) == [(4, 10), (3, 3)]


def test_tabular_model_layout_and_output_range():
    model = TabularModel([(4, 3), (3, 2)], n_cont=2, out_sz=1, layers=[8, 4], ps=[0.1, 0.2], y_range=(0, 5))
    assert [e.weight.shape for e in model.embeds] == [(4, 3), (3, 2)] and model.bn_cont.num_features == 2
    assert model.layers[0][0].in_features == 3 + 2 + 2 and model.layers[0][0].out_features == 8
    assert [m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)] == [
        0.0,
        0.1,
        0.2,
    ]  # emb_drop first
    out = model(torch.tensor([[1, 2], [3, 0]]), torch.randn(2, 2) * 100)
    assert out.shape == (2, 1) and bool(((out > 0) & (out < 5)).all())
    with pytest.raises(ValueError, match="ps has 1 values for 2 layers"):
        TabularModel([(4, 3)], 0, 1, [8, 4], ps=[0.1])


def test_tabular_learner_trains_and_predicts_one_row():
    learn = fitted()
    assert learn.recorder.values[-1][2] > 0.9  # accuracy
    row = data().iloc[-1]
    for given in (row, row.to_dict()):
        decoded, cls, probs = learn.predict(given)
        assert decoded["label"] == ["hi", "lo"][int(cls)] and decoded["city"] == row["city"]
        assert probs.shape == (2,) and float(probs.sum()) == pytest.approx(1.0, abs=1e-5)
        assert decoded["x"] == pytest.approx(row["x"], abs=1e-4) and int(cls) == int(probs.argmax())
    preds, _ = learn.get_preds()
    assert torch.allclose(learn.predict(row)[2], preds[-1], atol=1e-5)  # the same as the batch prediction
    unseen = learn.predict({"city": "Rome", "x": None, "noise": 0.0})[0]
    assert unseen["city"] == "#na#" and unseen["x_na"] == True  # noqa: E712 (a numpy bool)


def test_show_batch_and_show_results_are_dataframes(capsys):
    learn = fitted(epochs=1)
    df = learn.dls.show_batch(max_n=4)
    assert list(df.columns) == ["city", "x_na", "x", "noise", "label"] and len(df) == 4
    assert "label" in capsys.readouterr().out
    res = learn.show_results(max_n=3)
    assert list(res.columns)[-2:] == ["label", "label_pred"] and set(res["label_pred"]) <= {"hi", "lo"}
    assert len(res) == 3 and "label_pred" in capsys.readouterr().out
    top = ClassificationInterpretation.from_learner(learn).plot_top_losses(4, show=False)
    assert len(top) == 4 and list(top.columns)[-4:] == ["label", "label_pred", "loss", "probability"]
    assert top["loss"].is_monotonic_decreasing and (top["probability"] >= 0.5).all()


def test_regression_with_y_range_and_multi_label():
    df = data()
    df["target"] = np.nan_to_num(df["x"].to_numpy()) * 2 + 3
    torch.manual_seed(0)
    learn = tabular_learner(dls_of(df, y_names="target"), y_range=(-5, 12), layers=[20])
    assert learn.model.layers[-1].low == -5 and isinstance(learn.loss_func.func, torch.nn.MSELoss)
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(5, 1e-2)
    assert learn.recorder.values[-1][1] < 0.5  # valid MSE, the target's variance is 4
    decoded, values, _ = learn.predict(df.iloc[0])
    assert decoded["target"] == pytest.approx(float(values[0])) and -5 < float(values[0]) < 12
    df = data().assign(hi=lambda d: d.label == "hi", oslo=lambda d: d.city == "Oslo")
    multi = tabular_learner(dls_of(df, y_names=["hi", "oslo"], y_block=MultiCategoryBlock(encoded=True)))
    assert isinstance(multi.loss_func.func, torch.nn.BCEWithLogitsLoss) and multi.dls.c == 2
    decoded, flags, probs = multi.predict(df.iloc[0])
    assert isinstance(decoded["labels"], list) and flags.dtype == torch.bool and probs.shape == (2,)


def test_config_and_keywords_are_checked():
    dls = dls_of(data(), y_names="label")
    assert tabular_learner(dls).opt_func.keywords == {"foreach": True}  # tabular_adam by default
    learn = tabular_learner(dls, layers=[10], config=tabular_config(ps=0.5, embed_p=0.1))
    assert learn.model.emb_drop.p == 0.1
    with pytest.raises(TypeError, match="mertics"):
        tabular_learner(dls, mertics=accuracy)


SCRIPT = """
import plies.tabular  # registers the tabular classes load_learner needs
import pandas as pd
from plies.learner import load_learner
learn = load_learner({path!r})
rows = pd.read_json({rows!r})
for _, row in rows.iterrows():
    decoded, cls, probs = learn.predict(row)
    print(decoded["label"], int(cls), ",".join(f"{{p:.6f}}" for p in probs.tolist()))
"""


@pytest.mark.slow  # a fresh Python process imports torch and plies (several seconds)
def test_export_keeps_procs_as_plain_data_and_predicts_the_same_in_a_fresh_process(tmp_path):
    learn = fitted(epochs=1)
    learn.path = tmp_path
    path = learn.export()
    loaded = load_learner(path)
    state = loaded.dls.valid_ds.inference_state()
    assert state["procs"][1]["state"]["classes"]["city"] == ["#na#", "Lima", "Oslo", "Pune"]
    rows = data().iloc[[3, 17, 500]]  # row 17 has a missing x
    (tmp_path / "rows.json").write_text(rows.to_json())
    script = textwrap.dedent(SCRIPT.format(path=str(path), rows=str(tmp_path / "rows.json")))
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    expected = []
    for _, row in rows.iterrows():
        decoded, cls, probs = learn.predict(row)
        expected.append(f"{decoded['label']} {int(cls)} " + ",".join(f"{p:.6f}" for p in probs.tolist()))
    assert run.stdout.splitlines() == expected
