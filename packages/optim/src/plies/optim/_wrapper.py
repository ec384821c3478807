"""OptimWrapper: any torch.optim optimizer behind the plies Optimizer interface, hyper names mapped."""

from __future__ import annotations

import inspect
from collections import defaultdict
from collections.abc import Callable, MutableMapping
from typing import Any

import torch
from torch import Tensor

from ._hypers import NOT_HYPERS, HyperMixin
from ._optimizer import _as_groups

# plies name -> torch name; a (name, index) pair addresses one entry of a tuple such as betas
Target = tuple[str, int | None]


def _targets(group: dict[str, Any]) -> dict[str, Target]:
    """Where each plies hyper-parameter lives in a torch param group."""
    found: dict[str, Target] = {}
    for key, value in group.items():
        if key in NOT_HYPERS:
            continue
        if key == "betas" and isinstance(value, (tuple, list)) and len(value) == 2:
            found["mom"], found["sqr_mom"] = ("betas", 0), ("betas", 1)
        elif key == "momentum":
            found["mom"] = ("momentum", None)
        elif key == "alpha" and "sqr_mom" not in found and "betas" not in group:
            found["sqr_mom"] = ("alpha", None)
        elif key == "weight_decay":
            found["wd"] = ("weight_decay", None)
        else:
            found[key] = (key, None)
    return found


def _torch_kwargs(opt: type, kwargs: dict[str, Any]) -> dict[str, Any]:
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

    def __init__(self, group: dict[str, Any]) -> None:
        self._group = group

    def __getitem__(self, key: str) -> Any:
        name, idx = _targets(self._group)[key]
        value = self._group[name]
        return value if idx is None else value[idx]

    def __setitem__(self, key: str, value: Any) -> None:
        name, idx = _targets(self._group).get(key, (key, None))
        if idx is None:
            self._group[name] = value
        else:
            items = list(self._group[name])
            items[idx] = value
            self._group[name] = tuple(items)

    def __delitem__(self, key: str) -> None:
        raise KeyError(f"cannot delete hyper-parameter {key!r} of a wrapped torch optimizer")

    def __iter__(self) -> Any:
        return iter(_targets(self._group))

    def __len__(self) -> int:
        return len(_targets(self._group))

    def __repr__(self) -> str:
        return repr(dict(self))


class OptimWrapper(HyperMixin):
    """Any torch.optim optimizer behind the plies interface (`OptimWrapper(ps, torch.optim.AdamW, lr=1e-3)`).

    `params` as for `Optimizer` (tensors, a list of parameter lists, or torch-style dicts); keyword
    arguments go to `opt`, with plies names translated: mom -> momentum or betas[0], sqr_mom -> betas[1]
    or alpha, wd -> weight_decay. `opt` may also be an already built torch optimizer (then `params=None`).
    `hypers` and `set_hyper` use plies names; `state` holds only the per-parameter flags
    (`force_train`, `do_wd`); the torch optimizer and its state are `.opt` and `.opt.state`.
    """

    def __init__(
        self,
        params: Any,
        opt: Callable[..., torch.optim.Optimizer] | torch.optim.Optimizer = torch.optim.SGD,
        train_bn: bool = True,
        **kwargs: Any,
    ) -> None:
        if isinstance(opt, torch.optim.Optimizer):
            if params is not None or kwargs:
                raise TypeError("OptimWrapper: with a built torch optimizer pass params=None and no keywords")
            self.opt = opt
        else:
            if not isinstance(opt, type) or not issubclass(opt, torch.optim.Optimizer):
                raise TypeError(
                    f"OptimWrapper: opt must be a torch.optim.Optimizer class or instance, got {opt!r}"
                )
            self.opt = opt(_as_groups(params), **_torch_kwargs(opt, kwargs))
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
        return [_WrappedHypers(g) for g in self.opt.param_groups]

    def _write_hyper(self, i: int, name: str, value: Any) -> None:
        _WrappedHypers(self.opt.param_groups[i])[name] = value

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
        self.opt.state.clear()

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
