"""The generic Optimizer: a list of stats and steppers run over parameter groups with per-group hypers."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

import torch
from torch import Tensor

from ._cbtools import defaults_of, foreach_twin, grad_of
from ._fused import FusedPlan, fused_names, fused_plan, unfusable
from ._hypers import NOT_HYPERS, HyperMixin, HyperView, is_per_group, spread

KEEP_ON_CLEAR = ("force_train", "do_wd")


def _as_groups(params: Any) -> list[dict[str, Any]]:
    """Torch-style group dicts from parameters, a list of parameter lists, or torch-style dicts."""
    if isinstance(params, Tensor):
        return [{"params": [params]}]
    items = list(params)
    if not items:
        raise ValueError("params is empty; expected tensors or a list of parameter lists")
    if not isinstance(items[0], (list, tuple, dict)):
        return [{"params": items}]
    groups = []
    for i, item in enumerate(items):
        if not isinstance(item, (list, tuple, dict)):
            raise TypeError(
                f"params mixes parameters and groups: item 0 is a group but item {i} is a "
                f"{type(item).__name__}; pass either parameters or a list of parameter lists"
            )
        group = dict(item) if isinstance(item, dict) else {"params": item}
        group["params"] = [group["params"]] if isinstance(group["params"], Tensor) else list(group["params"])
        groups.append(group)
    return groups


class Optimizer(HyperMixin, torch.optim.Optimizer):
    """A generic optimizer: runs the stats and steppers `cbs` on every parameter that has a gradient.

    `params`: tensors, or a list of parameter lists (one group each, e.g. from a splitter), or
    torch-style dicts `{'params': [...], 'lr': ...}`.
    `cbs`: functions `cb(p, **hypers, **state) -> dict | None`; a returned dict updates the parameter's
    state. `defaults`: hyper-parameters (a number, one value per group, or a slice spread over groups);
    they complete the `defaults` attached to the cbs.
    `train_bn`: in frozen groups, keep trainable the parameters flagged `state[p]['force_train']`.
    `fused`: step with torch's fused kernel where one computes the end of `cbs` (Adam/AdamW, SGD with
    or without momentum): None (the default) does so for the groups whose tensors allow it (dense
    floating point on the CPU or CUDA, gradients and state of the parameter's dtype), True requires
    it (ValueError otherwise), False never does. The state stays plies' (`grad_avg`, `sqr_avg`, `step`).
    `foreach`: for the cbs not fused, use the vectorised twin of each cb (one call per group) where it
    has one; None (the default) does so for parameters on an accelerator (on the CPU the per-tensor
    path is as fast or faster).
    A subclass of `torch.optim.Optimizer`: `param_groups`, `state`, `zero_grad`, `state_dict` are torch's.
    """

    def __init__(
        self,
        params: Iterable[Any],
        cbs: Callable[..., Any] | Iterable[Callable[..., Any]],
        train_bn: bool = True,
        *,
        foreach: bool | None = None,
        fused: bool | None = None,
        **defaults: Any,
    ) -> None:
        self.cbs = [cbs] if callable(cbs) else list(cbs)
        for i, cb in enumerate(self.cbs):
            if not callable(cb):
                raise TypeError(f"Optimizer: cbs[{i}] must be a function, got {type(cb).__name__}")
        if fused and fused_plan(self.cbs) is None:
            raise ValueError(
                f"Optimizer: fused=True but no fused kernel computes these cbs "
                f"({', '.join(_cb_name(cb) for cb in self.cbs)}); fused kernels exist for {fused_names()}"
            )
        merged: dict[str, Any] = dict(defaults)
        for cb in self.cbs:
            for k, v in defaults_of(cb).items():
                merged.setdefault(k, v)
        per_group = {k: v for k, v in merged.items() if is_per_group(v)}
        groups = _as_groups(params)
        for k, v in per_group.items():
            values = spread(k, v, len(groups))
            for group, value in zip(groups, values, strict=True):
                group.setdefault(k, value)
            merged[k] = values[-1]
        self.train_bn, self.foreach, self.fused, self.frozen_idx = train_bn, foreach, fused, 0
        super().__init__(groups, merged)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group `{'params': [...], **hypers}`; hyper-parameters not given take the defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(
                f"add_param_group: expected a dict with 'params', got {type(param_group).__name__}"
            )
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for j, p in enumerate(params):
            if isinstance(p, Tensor) and not (p.is_leaf or p.retains_grad):
                raise ValueError(f"add_param_group: item {j} is a non-leaf Tensor, which cannot be optimized")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or any(id(p) in seen for p in params):
            raise ValueError(
                "add_param_group: some parameters appear more than once (in a group or across groups)"
            )
        group = {**param_group, "params": params}
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self.param_groups.append(group)

    @property
    def param_lists(self) -> list[list[Tensor]]:
        """The parameters of each group (settable: a list with one parameter list per group)."""
        return [g["params"] for g in self.param_groups]

    @param_lists.setter
    def param_lists(self, value: list[list[Tensor]]) -> None:
        value = list(value)
        if len(value) != len(self.param_groups):
            raise ValueError(
                f"param_lists: got {len(value)} lists for {len(self.param_groups)} parameter groups"
            )
        for group, params in zip(self.param_groups, value, strict=True):
            group["params"] = list(params)

    @property
    def hypers(self) -> list[MutableMapping[str, Any]]:
        """The hyper-parameters of each group (live views of `param_groups` without 'params')."""
        return [HyperView(g) for g in self.param_groups]

    def _write_hyper(self, i: int, name: str, value: Any) -> None:
        self.param_groups[i][name] = value

    def _flags(self, p: Tensor) -> dict[str, Any]:
        return self.state.get(p, {})

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update the parameters that have a gradient, frozen ones excepted; `closure` recomputes the loss.

        A frozen parameter (an `nn.Parameter` with `requires_grad=False`) is never moved, even when
        it still holds a gradient from before it was frozen (momentum would otherwise move it).
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        plan = None if self.fused is False else fused_plan(self.cbs)
        if self.fused and plan is None:
            raise ValueError(
                f"Optimizer.step: fused=True but no fused kernel computes the cbs "
                f"({', '.join(_cb_name(cb) for cb in self.cbs)}); fused kernels exist for {fused_names()}"
            )
        for i, group in enumerate(self.param_groups):
            ps = [p for p in group["params"] if getattr(p, "grad", None) is not None and not _frozen(p)]
            if not ps:
                continue
            hyper = {k: v for k, v in group.items() if k not in NOT_HYPERS}
            if plan is None or not self._step_fused(i, plan, ps, hyper):
                self._step_group(self.cbs, ps, hyper)
        return loss

    def _step_fused(self, i: int, plan: FusedPlan, ps: list[Tensor], hyper: dict[str, Any]) -> bool:
        """Step group `i` through `plan`'s fused kernel; False (nothing done) where it cannot run exactly."""
        states = [self.state[p] for p in ps]
        why = unfusable(plan.run, ps, [grad_of(p) for p in ps], states, hyper)
        if why is not None:
            if self.fused:
                raise ValueError(
                    f"Optimizer.step: fused=True but group {i} cannot use the fused kernel: {why}"
                )
            return False
        if plan.before:
            self._step_group(plan.before, ps, hyper)
        plan.run.kernel(ps, [grad_of(p) for p in ps], states, hyper, plan.with_wd)
        return True

    def _step_group(self, cbs: list[Callable[..., Any]], ps: list[Tensor], hyper: dict[str, Any]) -> None:
        states = [self.state[p] for p in ps]
        grads = [grad_of(p) for p in ps]
        foreach = grads[0].device.type != "cpu" if self.foreach is None else self.foreach
        vectorise = foreach and not any(g.is_sparse for g in grads)
        lists: dict[str, list[Any]] | None = None
        for cb in cbs:
            twin = foreach_twin(cb) if vectorise else None
            if twin is None:
                for p, state in zip(ps, states, strict=True):
                    update = cb(p, **{**state, **hyper})
                    if update:
                        state.update(update)
                grads, lists = [grad_of(p) for p in ps], None
                continue
            if lists is None:
                keys = set().union(*states)
                lists = {k: [s.get(k) for s in states] for k in keys}
            update = twin(ps, grads=grads, **{**lists, **hyper})
            if update:
                for k, values in update.items():
                    lists[k] = values
                    for state, value in zip(states, values, strict=True):
                        state[k] = value

    def zero_grad(self, set_to_none: bool | None = None) -> None:
        """Reset the gradients to zeros in place (fastai), except frozen parameters' (set to None).

        A frozen parameter (an `nn.Parameter` with `requires_grad=False`, as `freeze_to` leaves
        it) loses its gradient so no stepper moves it through momentum or weight decay.
        `set_to_none=True` drops every gradient (torch's default); `False` zeroes every one.
        """
        zero: list[torch.Tensor] = []
        for group in self.param_groups:
            for p in group["params"]:
                grad = getattr(p, "grad", None)
                if grad is None:
                    continue
                if set_to_none or (set_to_none is None and _frozen(p)):
                    p.grad = None
                    continue
                if grad.grad_fn is not None:
                    grad.detach_()
                else:
                    grad.requires_grad_(False)
                zero.append(grad)
        if zero:
            torch._foreach_zero_(zero)

    def __getstate__(self) -> dict[str, Any]:
        # torch's version keeps only defaults/state/param_groups; a copy or pickle also needs the cbs
        return dict(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def clear_state(self) -> None:
        """Forget the stats of every parameter (keeps the `force_train` and `do_wd` flags)."""
        for params in self.param_lists:
            for p in params:
                kept = {k: v for k, v in self.state.get(p, {}).items() if k in KEEP_ON_CLEAR}
                if kept:
                    self.state[p] = kept
                else:
                    self.state.pop(p, None)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a `state_dict()` (copies its tensors, so the source stays untouched by later steps)."""
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError(
                "load_state_dict: expected a dict with 'state' and 'param_groups' (from state_dict())"
            )
        copied = {
            "state": {
                k: {n: v.clone() if isinstance(v, Tensor) else v for n, v in s.items()}
                for k, s in state_dict["state"].items()
            },
            "param_groups": state_dict["param_groups"],
        }
        super().load_state_dict(copied)


def _cb_name(cb: Callable[..., Any]) -> str:
    func = cb.func if isinstance(cb, functools.partial) else cb
    return getattr(func, "__name__", type(func).__name__)


def _frozen(p: Any) -> bool:
    """A model weight that `freeze_to` (or the user) froze: an nn.Parameter not requiring grad.

    Plain tensors handed to an Optimizer (fastai's docs step those) are never considered frozen.
    """
    return isinstance(p, torch.nn.Parameter) and not p.requires_grad
