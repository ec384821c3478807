"""OptimWrapper: any torch.optim optimizer behind the plies Optimizer interface, hyper names mapped."""

from __future__ import annotations

import functools
import inspect
from collections import defaultdict
from collections.abc import Callable, Mapping, MutableMapping
from types import MappingProxyType
from typing import Any

import torch
from torch import Tensor

from ._hypers import NOT_HYPERS, HyperMixin
from ._optimizer import _as_groups

pytorch_hp_map: Mapping[str, str] = MappingProxyType(
    {"momentum": "mom", "weight_decay": "wd", "alpha": "sqr_mom", "betas__0": "mom", "betas__1": "sqr_mom"}
)
"""torch hyper-parameter name -> plies name; `name__i` addresses entry i of a tuple such as betas."""


def detuplify_pg(d: Mapping[str, Any]) -> dict[str, Any]:
    """The hyper-parameters of torch param group `d` with tuples split: betas -> betas__0, betas__1."""
    res: dict[str, Any] = {}
    for k, v in d.items():
        if k in NOT_HYPERS:
            continue
        if isinstance(v, (tuple, list)):
            res.update({f"{k}__{i}": item for i, item in enumerate(v)})
        else:
            res[k] = v
    return res


def set_item_pg(pg: dict[str, Any], k: str, v: Any) -> dict[str, Any]:
    """Set hyper-parameter `k` of torch param group `pg` to `v` and return `pg`.

    `name__i` sets entry i of a tuple hyper-parameter (`betas__0`).
    """
    if "__" not in k:
        pg[k] = v
        return pg
    name, idx = k.split("__")
    if name not in pg:
        raise KeyError(f"set_item_pg: the param group has no hyper-parameter {name!r} (from {k!r})")
    pg[name] = tuple(v if i == int(idx) else item for i, item in enumerate(pg[name]))
    return pg


def _targets(group: dict[str, Any], hp_map: Mapping[str, str]) -> dict[str, str]:
    """plies hyper name -> detuplified torch name, for the hyper-parameters of a torch param group."""
    found: dict[str, str] = {}
    for key in detuplify_pg(group):
        if not key.startswith("_"):
            found.setdefault(hp_map.get(key, key), key)
    return found


def _torch_kwargs(opt: Callable[..., Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Translate plies hyper names (mom, sqr_mom, wd) in `kwargs` to the names `opt` takes."""
    sig = inspect.signature(opt).parameters
    out = {k: v for k, v in kwargs.items() if k not in ("mom", "sqr_mom", "wd")}

    def put(plies_name: str, torch_name: str) -> None:
        if torch_name in out:
            raise TypeError(f"OptimWrapper: got both {plies_name!r} and {torch_name!r}; pass one of them")
        out[torch_name] = kwargs[plies_name]

    if "wd" in kwargs:
        put("wd", "weight_decay")
    if "betas" in sig and ("mom" in kwargs or "sqr_mom" in kwargs):
        if "betas" in out:
            raise TypeError("OptimWrapper: got 'betas' together with 'mom'/'sqr_mom'; pass one of them")
        default = sig["betas"].default
        b1, b2 = default if isinstance(default, tuple) else (0.9, 0.999)
        out["betas"] = (kwargs.get("mom", b1), kwargs.get("sqr_mom", b2))
    else:
        if "mom" in kwargs:
            put("mom", "momentum")
        if "sqr_mom" in kwargs:
            put("sqr_mom", "alpha")
    return out


class _WrappedHypers(MutableMapping):
    """A live view of one torch param group under plies hyper names."""

    def __init__(self, group: dict[str, Any], hp_map: Mapping[str, str]) -> None:
        self._group, self._hp_map = group, hp_map

    def __getitem__(self, key: str) -> Any:
        return detuplify_pg(self._group)[_targets(self._group, self._hp_map)[key]]

    def __setitem__(self, key: str, value: Any) -> None:
        set_item_pg(self._group, _targets(self._group, self._hp_map).get(key, key), value)

    def __delitem__(self, key: str) -> None:
        raise KeyError(f"cannot delete hyper-parameter {key!r} of a wrapped torch optimizer")

    def __iter__(self) -> Any:
        return iter(_targets(self._group, self._hp_map))

    def __len__(self) -> int:
        return len(_targets(self._group, self._hp_map))

    def __repr__(self) -> str:
        return repr(dict(self))


class OptimWrapper(HyperMixin):
    """Any torch.optim optimizer behind the plies interface (`OptimWrapper(ps, torch.optim.AdamW, lr=1e-3)`).

    `params` as for `Optimizer` (tensors, a list of parameter lists, or torch-style dicts); `opt` a
    torch optimizer class (or a functools.partial of one), or an already built torch optimizer (then
    `params=None`). Keyword arguments
    go to `opt` under torch names (`momentum=`, `betas=`, `weight_decay=`) or plies names, translated:
    mom -> momentum or betas[0], sqr_mom -> betas[1] or alpha, wd -> weight_decay.
    `hp_map`: torch name -> plies name for `hypers`/`set_hyper` (default `pytorch_hp_map`; a tuple entry
    is `name__i`, e.g. 'betas__0'). `convert_groups=False` hands `params` to `opt` unchanged.
    `state` holds only the per-parameter flags (`force_train`, `do_wd`); the torch optimizer and its
    state are `.opt` and `.opt.state`.
    """

    def __init__(
        self,
        params: Any = None,
        opt: Callable[..., torch.optim.Optimizer] | torch.optim.Optimizer | None = None,
        hp_map: Mapping[str, str] | None = None,
        convert_groups: bool = True,
        *,
        train_bn: bool = True,
        **kwargs: Any,
    ) -> None:
        if opt is None:
            raise ValueError(
                "OptimWrapper: pass opt, a torch optimizer class (with params) or a built torch optimizer"
            )
        if isinstance(opt, torch.optim.Optimizer):
            if params is not None or kwargs:
                raise TypeError("OptimWrapper: with a built torch optimizer pass params=None and no keywords")
            self.opt = opt
        else:
            cls = opt.func if isinstance(opt, functools.partial) else opt
            if not isinstance(cls, type) or not issubclass(cls, torch.optim.Optimizer):
                raise TypeError(
                    "OptimWrapper: opt must be a torch.optim.Optimizer class or instance (or a "
                    f"functools.partial of such a class), got {opt!r}"
                )
            if params is None:
                raise ValueError(f"OptimWrapper: params is None; {cls.__name__} needs parameters")
            groups = _as_groups(params) if convert_groups else params
            self.opt = opt(groups, **_torch_kwargs(opt, kwargs))
        # a plain dict copy: the instance stays picklable and deep-copyable
        self.hp_map: dict[str, str] = dict(pytorch_hp_map if hp_map is None else hp_map)
        self.train_bn, self.frozen_idx = train_bn, 0
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """The torch optimizer's param groups (torch names)."""
        return self.opt.param_groups

    @property
    def param_lists(self) -> list[list[Tensor]]:
        """The parameters of each group (settable: a list with one parameter list per group)."""
        return [g["params"] for g in self.opt.param_groups]

    @param_lists.setter
    def param_lists(self, value: list[list[Tensor]]) -> None:
        value = list(value)
        if len(value) != len(self.opt.param_groups):
            raise ValueError(
                f"param_lists: got {len(value)} lists for {len(self.opt.param_groups)} parameter groups"
            )
        for group, params in zip(self.opt.param_groups, value, strict=True):
            group["params"] = list(params)

    @property
    def hypers(self) -> list[MutableMapping[str, Any]]:
        """The hyper-parameters of each group under plies names (live views)."""
        return [_WrappedHypers(g, self.hp_map) for g in self.opt.param_groups]

    def _write_hyper(self, i: int, name: str, value: Any) -> None:
        _WrappedHypers(self.opt.param_groups[i], self.hp_map)[name] = value

    def _flags(self, p: Tensor) -> dict[str, Any]:
        return self.state.get(p, {})

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """A step of the torch optimizer."""
        return self.opt.step(closure)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients."""
        self.opt.zero_grad(set_to_none=set_to_none)

    def clear_state(self) -> None:
        """Forget the torch optimizer's state (moving averages, steps)."""
        self.opt.state = defaultdict(dict)

    def state_dict(self) -> dict[str, Any]:
        """The torch optimizer's state dict."""
        return self.opt.state_dict()

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        """Load a `state_dict()` into the torch optimizer (tensors are copied)."""
        copied = {
            "state": {
                k: {n: v.clone() if isinstance(v, Tensor) else v for n, v in s.items()}
                for k, s in sd["state"].items()
            },
            "param_groups": sd["param_groups"],
        }
        self.opt.load_state_dict(copied)

    def __repr__(self) -> str:
        return f"OptimWrapper({self.opt!r})"
