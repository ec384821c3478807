"""What users pass to the learner is checked at the call: DataLoaders, learning rates, epochs, keywords,
and freezing a model that has a single parameter group."""

from __future__ import annotations

import pytest
import torch
from plies.learner import Learner, default_split, trainable_params
from plies.loaders import CategoryBlock, DataBlock, DataLoader, DataLoaders, Datasets, RegressionBlock
from torch import nn
from torch.utils.data import TensorDataset


def dls() -> DataLoaders:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(48, 2, generator=g)
    y = x.sum(1, keepdim=True)
    return DataLoaders(
        DataLoader((x[:32], y[:32]), bs=8, shuffle=True, seed=0), DataLoader((x[32:], y[32:]), bs=8)
    )


def learner(**kwargs) -> Learner:
    torch.manual_seed(0)
    learn = Learner(dls(), nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1)), **kwargs)
    learn.remove_cb(learn.progress)
    return learn


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (
            lambda: DataBlock(blocks=(RegressionBlock, CategoryBlock)),
            r"found a DataBlock.*dblock\.dataloaders\(source\)",
        ),
        (lambda: Datasets([1, 2, 3], [[float]]), r"found a Datasets; call `dsets\.dataloaders\(bs=64\)`"),
        (
            lambda: DataLoader((torch.randn(4, 2), torch.randn(4, 1)), bs=2),
            r"found a single DataLoader.*DataLoaders\(train_dl, valid_dl\)",
        ),
        (lambda: TensorDataset(torch.randn(4, 2)), r"found a torch Dataset \(TensorDataset\); batch it"),
        (lambda: [1, 2], r"found a list of 2 items; pass DataLoaders\(train_dl, valid_dl\)"),
    ],
)
def test_learner_says_how_to_get_dataloaders_from_what_it_got(make, match):
    with pytest.raises(
        TypeError, match=r"Learner: dls must be DataLoaders \(with `train` and `valid`\), " + match
    ):
        Learner(make(), nn.Linear(2, 1), loss_func=nn.MSELoss())


def test_a_learner_without_data_needs_a_loss_function():
    with pytest.raises(TypeError, match=r"Learner: no dls and no loss_func; pass loss_func="):
        Learner(None, nn.Linear(2, 1))
    learn = Learner(None, nn.Linear(2, 1), loss_func=nn.MSELoss())  # as load_learner builds it
    x = torch.randn(6, 2)
    preds, targs = learn.get_preds(dl=DataLoader((x, x.sum(1, keepdim=True)), bs=4))
    assert torch.allclose(preds, learn.model(x).detach()) and targs.shape == (6, 1)


def test_learning_rate_weight_decay_and_epochs_are_checked_at_the_entry_point():
    learn = learner()
    with pytest.raises(
        TypeError, match=r"fit\(\): lr must be a number.*found str \('1e-3'\); write lr=1e-3 without quotes"
    ):
        learn.fit(1, lr="1e-3")
    with pytest.raises(TypeError, match=r"fit\(\): n_epoch must be an int, found float \(1\.5\)"):
        learn.fit(1.5)
    with pytest.raises(ValueError, match=r"fit\(\): n_epoch must be >= 0, found -1"):
        learn.fit(-1)
    with pytest.raises(TypeError, match=r"fit\(\): wd must be a number or None, found str"):
        learn.fit(1, wd="0.1")
    with pytest.raises(TypeError, match=r"fit_one_cycle\(\): lr_max must be a number.*found str"):
        learn.fit_one_cycle(1, "1e-3")
    with pytest.raises(TypeError, match=r"fit_flat_cos\(\): lr must be .*found slice"):
        learn.fit_flat_cos(1, slice("a", "b"))
    with pytest.raises(TypeError, match=r"fine_tune\(\): base_lr must be a number, found str"):
        learn.fine_tune(1, base_lr="2e-3")
    with pytest.raises(ValueError, match=r"fit_sgdr\(\): n_cycles must be >= 1, found 0"):
        learn.fit_sgdr(0, 1)
    with pytest.raises(TypeError, match=r"lr_find\(\): num_it must be an int, found str"):
        learn.lr_find(num_it="10")
    with pytest.raises(TypeError, match=r"Learner: lr must be a number.*found str"):
        Learner(dls(), nn.Linear(2, 1), lr="0.1")
    assert learn.opt is None or all(
        h["lr"] != "1e-3" for h in learn.opt.hypers
    )  # nothing reached the optimizer
    # what is accepted: numbers of any kind, slices, one number per group
    learn.fit(1, lr=1)
    learn.fit(1, lr=slice(1e-3))
    learn.fit(1, lr=[1e-3])
    learn.fit_one_cycle(1, lr_max=torch.tensor(1e-3).item())


def test_misspelled_keywords_suggest_the_right_name():
    learn = learner()
    cases = [
        (
            lambda: Learner(dls(), nn.Linear(2, 1), mertics=[]),
            r"Learner.__init__\(\).*'mertics' \(did you mean 'metrics'\?\)",
        ),
        (
            lambda: learn.fit(1, reset_optimizer=True),
            r"Learner.fit\(\).*'reset_optimizer' \(did you mean 'reset_opt'\?\)",
        ),
        (
            lambda: learn.fit_one_cycle(1, lr_mx=1e-3),
            r"Learner.fit_one_cycle\(\).*'lr_mx' \(did you mean 'lr_max'\?\)",
        ),
        (
            lambda: learn.fine_tune(1, freeze_epoch=1),
            r"Learner.fine_tune\(\).*'freeze_epoch' \(did you mean 'freeze_epochs'\?\)",
        ),
        (lambda: learn.lr_find(num_iter=10), r"Learner.lr_find\(\).*'num_iter' \(did you mean 'num_it'\?\)"),
        (
            lambda: learn.get_preds(with_inputs=True),
            r"Learner.get_preds\(\).*'with_inputs' \(did you mean 'with_input'\?\)",
        ),
        (lambda: learn.fit_flat_cos(1, pct_strat=0.5), r"Learner.fit_flat_cos\(\).*did you mean 'pct_start'"),
    ]
    for call, match in cases:
        with pytest.raises(TypeError, match=match):
            call()


def test_wrong_arguments_to_callback_methods_name_the_learner_method():
    # Python's own errors for a wrong call name the method as users call it, not the class it is written in
    learn = learner()
    cases = [
        (lambda: learn.add_cb(learn.recorder, 1), r"^Learner\.add_cb\(\) takes 2 positional arguments"),
        (lambda: learn.remove_cbs(cbs=[], order=1), r"^Learner\.remove_cbs\(\) got an unexpected keyword"),
        (lambda: learn.added_cbs([], []), r"^Learner\.added_cbs\(\) takes 2 positional arguments"),
        (lambda: learn.no_bar(True), r"^Learner\.no_bar\(\) takes 1 positional argument"),
        (lambda: learn("after_batch", "extra"), r"^Learner\.__call__\(\) takes 2 positional arguments"),
    ]
    for call, match in cases:
        with pytest.raises(TypeError, match=match):
            call()


def test_freeze_with_a_single_parameter_group_is_refused_naming_the_splitter():
    learn = learner()
    with pytest.raises(
        ValueError,
        match=r"Learner.freeze: the splitter trainable_params returns 1 parameter group.*default_split",
    ):
        learn.freeze()
    assert all(p.requires_grad for p in learn.model.parameters())
    learn = learner(splitter=lambda m: [list(m.parameters())])
    with pytest.raises(ValueError, match=r"the splitter .*<lambda> returns 1 parameter group"):
        learn.fine_tune(1)
    # with default_split the body is frozen and the head trains
    learn = learner(splitter=default_split)
    learn.freeze()
    assert [p.requires_grad for p in learn.model.parameters()] == [False, False, True, True]
    assert trainable_params(learn.model) == list(learn.model[2].parameters())
