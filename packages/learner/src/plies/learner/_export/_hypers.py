"""The optimizer (a plies optimizer, or a partial of one with plain keywords) and the learner's
hyper-parameters as plain data, and their checked rebuild."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from ._archive import refuse

__all__: list[str] = []  # private module of the export package

_OPTIMIZERS = ("SGD", "RMSProp", "Adam", "RAdam", "QHAdam", "Larc", "Lamb", "ranger")


def _optimizer_table() -> dict[str, Any]:
    from plies import optim

    return {name: getattr(optim, name) for name in _OPTIMIZERS if hasattr(optim, name)}


def describe_opt(opt_func: Any) -> dict[str, Any] | None:
    """{'name', 'kwargs'} for a plies optimizer (or a functools.partial of one with plain keywords)."""
    func, kwargs = getattr(opt_func, "func", opt_func), dict(getattr(opt_func, "keywords", {}) or {})
    if getattr(opt_func, "args", ()):
        return None
    name = next((n for n, f in _optimizer_table().items() if f is func), None)
    plain = all(isinstance(v, (bool, int, float, str, type(None))) for v in kwargs.values())
    return {"name": name, "kwargs": kwargs} if name is not None and plain else None


def build_opt(desc: Any, fname: Path) -> Any:
    if not (isinstance(desc, dict) and set(desc) == {"name", "kwargs"} and isinstance(desc["kwargs"], dict)):
        raise refuse(
            fname, f"opt_func must be {{'name': ..., 'kwargs': {{...}}}} or null, found {desc!r:.80}"
        )
    table = _optimizer_table()
    if desc["name"] not in table:
        raise refuse(fname, f"unknown optimizer {desc['name']!r} (plies rebuilds {', '.join(table)})")
    kwargs = desc["kwargs"]
    if not all(
        isinstance(k, str) and isinstance(v, (bool, int, float, str, type(None))) for k, v in kwargs.items()
    ):
        raise refuse(fname, "opt_func kwargs must be plain numbers, strings, booleans or null")
    return functools.partial(table[desc["name"]], **kwargs) if kwargs else table[desc["name"]]


def plain_hypers(learn: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in ("lr", "wd", "wd_bn_bias", "train_bn", "moms"):
        v = getattr(learn, k, None)
        if (
            v is None
            or isinstance(v, (bool, int, float))
            or (isinstance(v, tuple) and all(isinstance(x, (int, float)) for x in v))
        ):
            out[k] = v
    return out


def checked_hypers(hypers: Any, fname: Path) -> dict[str, Any]:
    """The exported hyper-parameters, each of the type the Learner expects (None values dropped)."""
    number: tuple[type, ...] = (int, float)
    expected: dict[str, tuple[type, ...]] = {
        "lr": number, "wd": number, "wd_bn_bias": (bool,), "train_bn": (bool,), "moms": (tuple,),
    }  # fmt: skip
    if not isinstance(hypers, dict) or set(hypers) - set(expected):
        raise refuse(fname, f"hypers must be a dict with keys among {sorted(expected)}, found {hypers!r:.80}")
    out: dict[str, Any] = {k: v for k, v in hypers.items() if v is not None}
    for k, v in out.items():
        ok = isinstance(v, expected[k]) and not (expected[k] is number and isinstance(v, bool))
        if ok and k == "moms":
            ok = all(isinstance(m, number) and not isinstance(m, bool) for m in tuple(v))
        if not ok:
            raise refuse(fname, f"hyper-parameter {k!r} has an unexpected value {v!r:.60}")
    return out
