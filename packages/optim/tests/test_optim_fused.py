"""The fused path (torch's fused Adam/AdamW/SGD kernels on plies' state) against the unfused paths."""

from __future__ import annotations

import functools

import pytest
import torch
from plies.optim import SGD, Adam, Optimizer, RMSProp, average_grad, average_sqr_grad, step_stat
from plies.optim import adam_step as adam_stepper

SHAPES = [(6, 5), (5,), (3, 2, 2, 2), (4, 3)]

MAKERS = {
    "adamw": lambda ps, **kw: Adam(ps, 1e-2, wd=0.1, **kw),
    "adam_l2": lambda ps, **kw: Adam(ps, 1e-2, wd=0.1, decouple_wd=False, **kw),
    "adam_no_wd": lambda ps, **kw: Adam(ps, 1e-2, wd=0.0, **kw),
    "sgd_mom": lambda ps, **kw: SGD(ps, 0.1, mom=0.9, wd=0.1, **kw),
    "sgd_mom_l2": lambda ps, **kw: SGD(ps, 0.1, mom=0.9, wd=0.1, decouple_wd=False, **kw),
    "sgd": lambda ps, **kw: SGD(ps, 0.1, wd=0.1, **kw),
}
PATHS = {"fused": {"fused": True}, "foreach": {"fused": False, "foreach": True}}
UNFUSED = {"fused": False, "foreach": False}


def fresh_params(dtype: torch.dtype, device: str = "cpu") -> list[torch.nn.Parameter]:
    gen = torch.Generator().manual_seed(0)
    return [torch.nn.Parameter(torch.randn(s, generator=gen, dtype=dtype).to(device)) for s in SHAPES]


def set_grads(ps, i: int, skip=None) -> None:
    """The gradients of step `i` (random, the same for every run); parameter `skip[i]` gets none."""
    gen = torch.Generator().manual_seed(100 + i)
    for j, p in enumerate(ps):
        grad = torch.randn(p.shape, generator=gen, dtype=p.dtype).to(p.device)
        p.grad = None if skip is not None and skip[i] == j else grad


def steps(opt, ps, start: int, stop: int, skip=None) -> None:
    """Steps `start` to `stop` with lr and mom changed every step (as the one-cycle schedule does)."""
    for i in range(start, stop):
        set_grads(ps, i, skip)
        opt.set_hypers(lr=slice(1e-2 * (1 + i) / 4, 1e-2 * (1 + i)), mom=0.95 - 0.02 * i)
        opt.step()


def run(make, kwargs, n_steps=8, dtype=torch.float64, device="cpu", skip=None):
    """`n_steps` steps over two groups (per-group lrs), one parameter without weight decay, parameter
    `skip[i]` without a gradient at step i. Returns the parameters and the optimizer."""
    ps = fresh_params(dtype, device)
    opt = make([ps[:2], ps[2:]], **kwargs)
    opt.state[ps[1]]["do_wd"] = False
    steps(opt, ps, 0, n_steps, skip)
    return ps, opt


def assert_same_run(a, b, rtol: float, atol: float) -> None:
    (pa, oa), (pb, ob) = a, b
    for x, y in zip(pa, pb, strict=True):
        torch.testing.assert_close(x.detach(), y.detach(), rtol=rtol, atol=atol)
    for x, y in zip(pa, pb, strict=True):
        sa, sb = oa.state[x], ob.state[y]
        assert sorted(sa) == sorted(sb)
        for key in sa:
            if isinstance(sa[key], torch.Tensor):
                torch.testing.assert_close(sa[key], sb[key], rtol=rtol, atol=atol)
            else:
                assert sa[key] == sb[key] and type(sa[key]) is type(sb[key]), key


def ops_run(opt, ps) -> set[str]:
    """The names of the torch operators one `opt.step()` runs (the profiler's CPU events)."""
    for p in ps:
        p.grad = torch.ones_like(p)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        opt.step()
    return {e.name for e in prof.events()}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("name", list(MAKERS))
def test_fused_and_foreach_match_the_per_tensor_path(name, path, dtype) -> None:
    tol = {"rtol": 1e-12, "atol": 1e-14} if dtype == torch.float64 else {"rtol": 2e-5, "atol": 1e-6}
    expected = run(MAKERS[name], UNFUSED, dtype=dtype)
    assert not torch.allclose(expected[0][0], fresh_params(dtype)[0])  # the parameters moved
    assert_same_run(run(MAKERS[name], PATHS[path], dtype=dtype), expected, **tol)


@pytest.mark.parametrize("name", ["adamw", "sgd_mom"])
def test_parameters_skipping_steps_keep_their_own_step_count(name) -> None:
    skip = [0, 0, 2, None, 3, 0, None, None]  # parameter 0 misses three steps, 2 and 3 one each
    a = run(MAKERS[name], {"fused": True}, skip=skip)
    assert_same_run(a, run(MAKERS[name], UNFUSED, skip=skip), rtol=1e-12, atol=1e-14)
    if name == "adamw":
        ps, opt = a
        assert [opt.state[p]["step"] for p in ps] == [5, 8, 7, 7]


def test_default_runs_torch_fused_kernels_on_the_cpu() -> None:
    ps = fresh_params(torch.float32)
    assert any("_fused_adamw_" in n for n in ops_run(Adam(ps, 1e-3), ps))
    assert any("_fused_sgd_" in n for n in ops_run(SGD(ps, 0.1, mom=0.9), ps))
    unfused = ops_run(Adam(ps, 1e-3, fused=False), ps)
    assert not any("_fused_" in n for n in unfused) and any("addcdiv" in n for n in unfused)


@pytest.mark.parametrize("first,then", [("fused", "unfused"), ("unfused", "fused")])
def test_state_dict_is_plies_format_and_loads_across_paths(first, then) -> None:
    kwargs = {"fused": {"fused": True}, "unfused": UNFUSED}
    full = run(MAKERS["adamw"], kwargs[then], n_steps=7)
    ps, opt = run(MAKERS["adamw"], kwargs[first], n_steps=3)
    sd = opt.state_dict()
    assert sorted(sd["state"][0]) == ["grad_avg", "sqr_avg", "step"] and sd["state"][0]["step"] == 3
    assert sorted(sd["state"][1]) == ["do_wd", "grad_avg", "sqr_avg", "step"]
    resumed = MAKERS["adamw"]([ps[:2], ps[2:]], **kwargs[then])
    resumed.load_state_dict(sd)
    steps(resumed, ps, 3, 7)
    assert_same_run((ps, resumed), full, rtol=1e-12, atol=1e-14)


def test_frozen_parameters_never_step_on_the_fused_path() -> None:
    ps = fresh_params(torch.float32)
    opt = Adam([ps[:2], ps[2:]], 1e-2, fused=True)
    for p in ps:
        p.grad = torch.ones_like(p)
    opt.step()
    opt.freeze()  # group 0 frozen; its stale gradients must not move it (momentum would)
    before = [p.detach().clone() for p in ps]
    for p in ps:
        p.grad = torch.ones_like(p)
    opt.step()
    assert all(torch.equal(p, b) for p, b in zip(ps[:2], before[:2], strict=True))
    assert not any(torch.equal(p, b) for p, b in zip(ps[2:], before[2:], strict=True))
    assert [opt.state[p]["step"] for p in ps] == [1, 1, 2, 2]


def test_sgd_momentum_scheduled_to_zero_matches_the_per_tensor_path() -> None:
    results = []
    for kwargs in ({"fused": True}, UNFUSED):
        ps = fresh_params(torch.float64)
        opt = SGD(ps, 0.1, mom=0.9, **kwargs)
        for i, mom in enumerate((0.9, 0.0, 0.5)):
            set_grads(ps, i)
            opt.set_hyper("mom", mom)
            opt.step()
            if mom == 0:  # grad_avg = 0 * grad_avg + grad
                assert torch.equal(opt.state[ps[0]]["grad_avg"], ps[0].grad)
        results.append((ps, opt))
    assert_same_run(*results, rtol=1e-12, atol=1e-14)


def test_a_hyper_parameter_that_changes_the_stats_turns_fusion_off() -> None:
    # average_grad reads `dampening` from the group: the fused kernel, which always damps, must not run
    cbs = [functools.partial(average_grad, dampening=True), average_sqr_grad, step_stat, adam_stepper]
    results = []
    for fused in (None, False):
        ps = fresh_params(torch.float64)
        opt = Optimizer(ps, cbs, lr=0.01, mom=0.9, sqr_mom=0.99, eps=1e-5, dampening=False, fused=fused)
        for p in ps:
            p.grad = torch.ones_like(p)
        opt.step()
        results.append((ps, opt))
    assert_same_run(*results, rtol=0, atol=0)
    assert torch.equal(
        results[0][1].state[results[0][0][0]]["grad_avg"], torch.ones(SHAPES[0], dtype=torch.float64)
    )


def test_fused_none_falls_back_where_the_tensors_do_not_allow_it() -> None:
    # sparse gradients (an nn.Embedding(sparse=True)): the fused kernels refuse them, the stats do not
    results = []
    for fused in (None, False):
        torch.manual_seed(0)
        emb = torch.nn.Embedding(5, 3, sparse=True)
        opt = SGD(emb.parameters(), 0.1, fused=fused)
        for idx in ([1, 2], [2, 4]):
            emb(torch.tensor(idx)).pow(2).sum().backward()
            opt.step()
            opt.zero_grad()
        results.append(emb.weight.detach())
    assert torch.equal(*results)
    torch.manual_seed(0)
    assert not torch.equal(results[0], torch.nn.Embedding(5, 3).weight.detach())  # it moved


def test_state_in_another_memory_layout_than_the_parameter_is_stepped_unfused() -> None:
    # e.g. a model moved to channels_last after its optimizer state was made: torch's fused kernels
    # would pair up the wrong entries, so the stats step it
    results = []
    for fused in (None, False):
        w = torch.nn.Parameter(fresh_params(torch.float64)[2].detach().clone())
        opt = Adam([w], 1e-2, fused=fused)
        set_grads([w], 0)
        opt.step()
        w.data = w.data.to(memory_format=torch.channels_last)
        set_grads([w], 1)
        w.grad = w.grad.to(memory_format=torch.channels_last)
        opt.step()
        assert not opt.state[w]["grad_avg"].is_contiguous(memory_format=torch.channels_last)
        results.append(([w], opt))
    assert_same_run(*results, rtol=0, atol=0)
    with pytest.raises(
        ValueError, match=r"parameter 0 has strides \(8, 1, 4, 2\) but its state 'grad_avg' \(8, 4, 2, 1\)"
    ):
        results[0][1].fused = True
        results[0][1].step()


def test_fused_true_refuses_what_it_cannot_fuse() -> None:
    ps = fresh_params(torch.float32)
    with pytest.raises(ValueError, match=r"fused=True but no fused kernel computes these cbs.*rms_prop_step"):
        Optimizer(ps, RMSProp(ps, 1e-3).cbs, lr=1e-3, fused=True)
    opt = Adam(ps, 1e-2, fused=True)
    opt.state[ps[0]]["grad_avg"] = torch.zeros(SHAPES[0], dtype=torch.float64)
    for p in ps:
        p.grad = torch.ones_like(p)
    with pytest.raises(
        ValueError, match=r"group 0 .*parameter 0 is torch.float32.*state 'grad_avg' is torch.float64"
    ):
        opt.step()
    emb = torch.nn.Embedding(5, 3, sparse=True)
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(ValueError, match="parameter 0 has a sparse gradient"):
        SGD(emb.parameters(), 0.1, mom=0.9, fused=True).step()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", list(MAKERS))
def test_fused_on_cuda_matches_the_per_tensor_path(name) -> None:
    expected = run(MAKERS[name], UNFUSED, dtype=torch.float32, device="cuda")
    ps, opt = run(MAKERS[name], {"fused": None}, dtype=torch.float32, device="cuda")
    assert_same_run((ps, opt), expected, rtol=2e-5, atol=1e-6)
    assert all(type(opt.state[p].get("step", 0)) is int for p in ps)
