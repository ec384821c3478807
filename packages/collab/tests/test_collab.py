"""CollabDataLoaders, EmbeddingDotBias / EmbeddingNN and collab_learner: values, ranges, names, export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from plies.collab import CollabDataLoaders, EmbeddingDotBias, EmbeddingNN, TabularCollab, collab_learner
from plies.learner import load_learner


def synthetic(n_users=120, n_items=120, rank=3, p=0.9, noise=0.3, seed=0) -> pd.DataFrame:
    """Ratings from a known low-rank model plus biases, with Gaussian noise of std `noise`."""
    rng = np.random.default_rng(seed)
    u, v = rng.normal(0, 1, (n_users, rank)), rng.normal(0, 1, (n_items, rank))
    bu, bi = rng.normal(0, 0.5, n_users), rng.normal(0, 0.5, n_items)
    users, items = np.nonzero(rng.random((n_users, n_items)) < p)
    clean = (u[users] * v[items]).sum(1) / np.sqrt(rank) + bu[users] + bi[items] + 3
    return pd.DataFrame({"user": users, "item": items, "rating": clean + rng.normal(0, noise, len(users))})


def small() -> pd.DataFrame:
    users, movies = ["ann", "bob", "ann", "cy", "bob", "cy"], ["m1", "m2", "m2", "m1", "m3", "m3"]
    return pd.DataFrame({"user": users * 5, "movie": movies * 5, "stars": [5.0, 3.0, 4.0, 1.0, 2.0, 4.0] * 5})


def test_columns_are_found_by_name_in_any_order_or_by_position():
    df = small()
    by_position = CollabDataLoaders.from_df(df, seed=0, bs=4, device="cpu")
    shuffled = df[["stars", "movie", "user"]]
    by_name = CollabDataLoaders.from_df(
        shuffled, user_name="user", item_name="movie", rating_name="stars", seed=0, bs=4, device="cpu"
    )
    for dls in (by_position, by_name):
        assert dls.cat_names == ["user", "movie"] and dls.y_names == ["stars"]
        assert dls.classes == {"user": ["#na#", "ann", "bob", "cy"], "movie": ["#na#", "m1", "m2", "m3"]}
        assert type(dls.train_ds) is TabularCollab and dls.n_inp == 1
    x, y = by_name.valid.one_batch()
    assert x.shape == (4, 2) and y.shape == (4, 1) and y.dtype == torch.float32
    assert torch.equal(by_name.valid.one_batch()[0], by_position.valid.one_batch()[0])
    with pytest.raises(KeyError, match="item_name='film' is not a column"):
        CollabDataLoaders.from_df(df, item_name="film")


def test_embedding_dot_bias_computes_a_biased_dot_product_inside_y_range():
    model = EmbeddingDotBias(2, n_users=3, n_items=2, y_range=(0, 5))
    with torch.no_grad():
        model.u_weight.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, -1.0]]))
        model.i_weight.weight.copy_(torch.tensor([[0.0, 0.0], [0.5, 0.5]]))
        model.u_bias.weight.fill_(0.25)
        model.i_bias.weight.fill_(-0.5)
    out = model(torch.tensor([[1, 1], [2, 1]]))
    raw = torch.tensor([1.0 * 0.5 + 2.0 * 0.5 + 0.25 - 0.5, 3.0 * 0.5 - 1.0 * 0.5 + 0.25 - 0.5])
    assert torch.allclose(out, torch.sigmoid(raw) * 5)
    squashed = EmbeddingDotBias(2, 3, 2, y_range=(1, 2))
    with torch.no_grad():
        squashed.u_weight.weight.fill_(100.0)
        squashed.i_weight.weight.fill_(-100.0)
    assert torch.equal(squashed(torch.tensor([[1, 1], [2, 1]])), torch.tensor([1.0, 1.0]))  # saturated at low


def test_bias_and_weight_by_name_and_unknown_names_are_refused():
    dls = CollabDataLoaders.from_df(small(), seed=0, bs=4, device="cpu")
    learn = collab_learner(dls, n_factors=3, y_range=(0, 5.5))
    model = learn.model
    assert torch.equal(model.bias(["m3", "m1"]), model.i_bias.weight[[3, 1], 0].detach())
    assert torch.equal(model.weight(["bob"], is_item=False), model.u_weight.weight[[2]].detach())
    with pytest.raises(KeyError, match=r"1 movie value\(s\) not seen in training: \['m9'\]"):
        model.bias(["m1", "m9"])


def test_learns_a_low_rank_model_to_within_ten_percent_of_the_noise_floor():
    torch.manual_seed(0)
    dls = CollabDataLoaders.from_df(synthetic(noise=0.3), bs=128, seed=0, device="cpu")
    learn = collab_learner(dls, n_factors=5)
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(15, 0.05, wd=0.02)
    rmse = learn.recorder.values[-1][1] ** 0.5
    assert rmse < 0.3 * 1.1, rmse  # the noise's std is the best any model can do


def test_use_nn_predict_one_row_stays_in_y_range_and_round_trips_through_export(tmp_path):
    torch.manual_seed(0)
    dls = CollabDataLoaders.from_df(synthetic(40, 40), bs=64, seed=0, device="cpu", path=tmp_path)
    learn = collab_learner(dls, use_nn=True, layers=[16], y_range=(0.5, 5.5))
    assert isinstance(learn.model, EmbeddingNN) and learn.model.embeds[0].num_embeddings == 41
    assert learn.opt_func.keywords == {"foreach": True} and learn.loss_func.func.__class__ is torch.nn.MSELoss
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(1, 1e-2)
    row = {"user": 3, "item": 7}
    decoded, value, act = learn.predict(row)
    assert 0.5 < float(value[0]) < 5.5 and decoded["rating"] == pytest.approx(float(value[0]))
    loaded = load_learner(learn.export())
    assert torch.allclose(loaded.predict(row)[1], value)
    unknown = loaded.predict({"user": 999, "item": 7})[0]  # an unseen user: its #na# embedding
    assert unknown["user"] == "#na#" and 0.5 < unknown["rating"] < 5.5
