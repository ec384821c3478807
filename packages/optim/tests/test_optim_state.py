"""state_dict / load_state_dict round trips, resuming training, clear_state."""

from __future__ import annotations

import copy
import io

import pytest
import torch
from plies.optim import SGD, Adam, Lamb, Larc, OptimWrapper, QHAdam, RAdam, RMSProp, ranger

MAKERS = {
    "sgd_mom": lambda ps: SGD(ps, 0.1, mom=0.9, wd=0.01),
    "rmsprop": lambda ps: RMSProp(ps, 0.01, mom=0.5),
    "adam": lambda ps: Adam(ps, 0.01),
    "radam": lambda ps: RAdam(ps, 0.01),
    "qhadam": lambda ps: QHAdam(ps, 0.01),
    "larc": lambda ps: Larc(ps, 0.1),
    "lamb": lambda ps: Lamb(ps, 0.01),
    "ranger": lambda ps: ranger(ps, 0.01, k=4),
    "wrapper_adamw": lambda ps: OptimWrapper(ps, torch.optim.AdamW, lr=0.01, wd=0.1),
}


def plain(obj) -> bool:
    """True when obj holds only plain data and tensors."""
    if isinstance(obj, dict):
        return all(isinstance(k, (str, int)) and plain(v) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return all(plain(o) for o in obj)
    return obj is None or isinstance(obj, (str, int, float, bool, torch.Tensor))


@pytest.mark.parametrize("name", list(MAKERS))
def test_resume_after_load_equals_uninterrupted(name, make_model, train) -> None:
    make = MAKERS[name]
    full = make_model()
    expected = train(full, make(full.parameters()), n_steps=30)

    first = make_model()
    opt = make(first.parameters())
    train(first, opt, n_steps=13)
    buffer = io.BytesIO()
    torch.save({"model": first.state_dict(), "opt": opt.state_dict()}, buffer)
    sd = opt.state_dict()
    assert plain(sd)

    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    second = make_model()
    second.load_state_dict(saved["model"])
    opt2 = make(second.parameters())
    opt2.load_state_dict(saved["opt"])
    assert torch.equal(train(second, opt2, n_steps=17, start=13), expected)


def test_load_copies_tensors_so_the_source_is_untouched(make_model, train) -> None:
    model = make_model()
    opt = Adam(model.parameters(), 0.01)
    train(model, opt, n_steps=3)
    sd = opt.state_dict()
    snapshot = {k: v["grad_avg"].clone() for k, v in sd["state"].items()}
    model2 = make_model()
    opt2 = Adam(model2.parameters(), 0.01)
    opt2.load_state_dict(sd)
    train(model2, opt2, n_steps=3, start=3)
    assert all(torch.equal(snapshot[k], sd["state"][k]["grad_avg"]) for k in snapshot)


def test_state_dict_keeps_hypers_and_step(make_model, train) -> None:
    model = make_model()
    opt = Adam([list(model[0].parameters()), list(model[2].parameters())], lr=slice(1e-3, 1e-2))
    train(model, opt, n_steps=4)
    sd = opt.state_dict()
    assert [g["lr"] for g in sd["param_groups"]] == pytest.approx([1e-3, 1e-2])
    assert {s["step"] for s in sd["state"].values()} == {4}
    fresh = make_model()
    opt2 = Adam([list(fresh[0].parameters()), list(fresh[2].parameters())], lr=0.5)
    opt2.load_state_dict(sd)
    assert [h["lr"] for h in opt2.hypers] == pytest.approx([1e-3, 1e-2])


def test_load_wrong_shape_state_dict_raises(make_model) -> None:
    model = make_model()
    opt = Adam([list(model[0].parameters()), list(model[2].parameters())], lr=0.1)
    other = Adam(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="parameter groups"):
        other.load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="expected a dict with 'state' and 'param_groups'"):
        other.load_state_dict({"hypers": []})


def test_clear_state_keeps_flags_and_restarts(make_model, train) -> None:
    model = make_model()
    opt = Adam(model.parameters(), 0.01)
    bias = model[0].bias
    opt.state[bias]["do_wd"] = False
    train(model, opt, n_steps=5)
    assert opt.state[model[0].weight]["step"] == 5
    opt.clear_state()
    assert model[0].weight not in opt.state
    assert opt.state[bias] == {"do_wd": False}
    train(model, opt, n_steps=1)
    assert opt.state[model[0].weight]["step"] == 1


def test_lookahead_clear_state_and_wrapper_clear_state(make_model, train) -> None:
    model = make_model()
    opt = ranger(model.parameters(), 0.01)
    initial = [p.detach().clone() for p in model.parameters()]
    train(model, opt, n_steps=3)
    # no lookahead update yet (every k=6 steps): the slow weights are the weights before the first step
    assert opt.count == 3 and [len(ws) for ws in opt.slow_weights] == [len(initial)]
    assert all(torch.equal(s, w) for s, w in zip(opt.slow_weights[0], initial, strict=True))
    assert not torch.equal(opt.slow_weights[0][0], model[0].weight)  # the fast weights moved on
    opt.clear_state()
    assert (opt.count, opt.slow_weights, len(opt.state)) == (0, None, 0)
    wrapped = OptimWrapper(model.parameters(), torch.optim.Adam, lr=0.01)
    train(model, wrapped, n_steps=2)
    assert len(wrapped.opt.state) == 4
    wrapped.clear_state()
    assert len(wrapped.opt.state) == 0


def test_do_wd_false_skips_weight_decay() -> None:
    w, b = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(3))
    for fused, foreach in ((True, None), (False, True), (False, False)):
        w.data.fill_(1.0)
        b.data.fill_(1.0)
        opt = SGD([w, b], lr=0.1, wd=0.5, foreach=foreach, fused=fused)
        opt.state[b]["do_wd"] = False
        w.grad, b.grad = torch.zeros(3), torch.zeros(3)
        opt.step()
        assert (w[0].item(), b[0].item()) == (pytest.approx(0.95), 1.0)


@pytest.mark.parametrize("name", ["adam", "ranger", "wrapper_adamw"])
def test_deepcopy_of_an_optimizer_trains_identically(name, make_model, train) -> None:
    model = make_model()
    opt = MAKERS[name](model.parameters())
    train(model, opt, n_steps=3)
    model2 = copy.deepcopy(model)
    both = copy.deepcopy({"model": model, "opt": opt})  # keeps the optimizer tied to the copied model
    a = train(model, opt, n_steps=5, start=3)
    b = train(both["model"], both["opt"], n_steps=5, start=3)
    assert torch.equal(a, b) and not torch.equal(a, torch.cat([p.flatten() for p in model2.parameters()]))
