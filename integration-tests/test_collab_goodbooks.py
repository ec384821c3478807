"""collab_learner on the real goodbooks sample: the validation RMSE is clearly below predicting the
training mean; predictions stay inside y_range."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from plies.collab.all import CollabDataLoaders, URLs, collab_learner, untar_data


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small ops: the intra-op pool only adds wake-ups (docs/tabular.md, "Speed")
    yield
    torch.set_num_threads(threads)


def test_goodbooks_rmse_is_clearly_below_the_training_mean(one_thread):
    ratings = pd.read_csv(untar_data(URLs.GOODBOOKS_SAMPLE) / "ratings.csv")
    torch.manual_seed(0)
    dls = CollabDataLoaders.from_df(ratings, bs=64, seed=42, device="cpu")
    train_y, valid_y = dls.train_ds.ys["rating"].to_numpy(), dls.valid_ds.ys["rating"].to_numpy()
    mean_rmse = float(((valid_y - train_y.mean()) ** 2).mean() ** 0.5)  # predicting the training mean: ~1.03
    learn = collab_learner(dls, n_factors=50, y_range=(0, 5.5))
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(5, 5e-3, wd=0.1)
    preds, targs = learn.get_preds()
    rmse = float(((preds.view(-1) - targs.view(-1)) ** 2).mean().sqrt())
    assert rmse < 0.95 * mean_rmse, (rmse, mean_rmse)  # ~0.95 against ~1.03
    assert float(preds.min()) > 0 and float(preds.max()) < 5.5
