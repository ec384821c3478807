"""The generic Optimizer: a list of stats and steppers run over parameter groups with per-group hypers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

import torch
from torch import Tensor

from ._cbtools import defaults_of, foreach_twin, grad_of
from ._hypers import NOT_HYPERS, HyperMixin, HyperView, spread

KEEP_ON_CLEAR = ("force_train", "do_wd")


def _as_groups(params: Any) -> list[dict[str, Any]]:
    """Torch-style group dicts from tensors, a list of parameter lists, or torch-style dicts."""
    if isinstance(params, Tensor):
        raise TypeError(
            "Optimizer: params must be an iterable of tensors, got a single Tensor; wrap it in a list"
        )
    items = list(params)
    if not items:
        raise ValueError("Optimizer: params is empty; expected tensors or a list of parameter lists")
    if all(isinstance(o, Tensor) for o in items):
        return [{"params": items}]
    groups = []
    for i, item in enumerate(items):
        if isinstance(item, Tensor):
            raise TypeError(
                f"Optimizer: params mixes tensors and groups (item {i} is a Tensor); "
                "pass either tensors or a list of parameter lists"
            )
        group = dict(item) if isinstance(item, dict) else {"params": item}
        group["params"] = list(group["params"])
        for j, p in enumerate(group["params"]):
            if not isinstance(p, Tensor):
                raise TypeError(f"Optimizer: group {i}, item {j}: expected a Tensor, got {type(p).__name__}")
        groups.append(group)
    return groups


class Optimizer(HyperMixin, torch.optim.Optimizer):
    """A generic optimizer: runs the stats and steppers `cbs` on every parameter that has a gradient.

    `params`: tensors, or a list of parameter lists (one group each, e.g. from a splitter).
    `cbs`: functions `cb(p, **hypers, **state) -> dict | None`; a returned dict updates the parameter's
    state. `defaults`: hyper-parameters (a number, one value per group, or a slice spread over groups);
    they complete the `defaults` attached to the cbs.
    `train_bn`: in frozen groups, keep trainable the parameters flagged `state[p]['force_train']`.
    `foreach`: use the vectorised twin of each cb (one call per group) where it has one.
    A subclass of `torch.optim.Optimizer`: `param_groups`, `state`, `zero_grad`, `state_dict` are torch's.
    """

    def __init__(
        self,
        params: Iterable[Any],
        cbs: Callable[..., Any] | Iterable[Callable[..., Any]],
        train_bn: bool = True,
        *,
        foreach: bool = True,
        **defaults: Any,
    ) -> None:
        self.cbs = [cbs] if callable(cbs) else list(cbs)
        for i, cb in enumerate(self.cbs):
            if not callable(cb):
                raise TypeError(f"Optimizer: cbs[{i}] must be a function, got {type(cb).__name__}")
        merged: dict[str, Any] = dict(defaults)
        for cb in self.cbs:
            for k, v in defaults_of(cb).items():
                merged.setdefault(k, v)
        per_group = {k: v for k, v in merged.items() if isinstance(v, (slice, list, tuple))}
        groups = _as_groups(params)
        for k, v in per_group.items():
            values = spread(k, v, len(groups))
            for group, value in zip(groups, values, strict=True):
                group.setdefault(k, value)
            merged[k] = values[-1]
        self.train_bn, self.foreach, self.frozen_idx = train_bn, foreach, 0
        super().__init__(groups, merged)

    @property
    def param_lists(self) -> list[list[Tensor]]:
        """The parameters of each group."""
        return [g["params"] for g in self.param_groups]

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
        """Update the parameters that have a gradient and require one; `closure` recomputes the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            ps = [p for p in group["params"] if p.grad is not None and p.requires_grad]
            if ps:
                self._step_group(ps, {k: v for k, v in group.items() if k not in NOT_HYPERS})
        return loss

    def _step_group(self, ps: list[Tensor], hyper: dict[str, Any]) -> None:
        states = [self.state[p] for p in ps]
        grads = [grad_of(p) for p in ps]
        vectorise = self.foreach and not any(g.is_sparse for g in grads)
        lists: dict[str, list[Any]] | None = None
        for cb in self.cbs:
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
