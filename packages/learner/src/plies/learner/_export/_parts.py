"""Describe a learner's loss, metrics, class and inference callbacks as plain data, and rebuild them.

Everything is named through a registry: losses (`plies.layers.register_loss`), metrics, Learner
classes and inference callbacks (`plies.learner.register_metric`, `register_learner`,
`register_callback`). Constructor arguments are read back from attributes of the same names
and checked at export by rebuilding the object; a file's arguments are vetted before any call.
"""

from __future__ import annotations

import inspect
from typing import Any

from plies.typecore import get_registry
from torch import Tensor, nn

from ._codec import SpecError
from ._model import build_spec, note_builders
from ._spec import PLAIN_KW, callable_without_arguments, params_of, read_kwargs, same_config

__all__: list[str] = []  # private module of the export package


# ---------------------------------------------------------------- losses
def _factory_params(factory: Any, obj: Any) -> list[Any]:
    extra = [type(obj.func).__init__] if hasattr(obj, "func") and isinstance(obj.func, nn.Module) else []
    return [factory.__init__ if inspect.isclass(factory) else factory, *extra]


def describe_loss(loss_func: Any) -> dict[str, Any] | None:
    """Plain description of a registered loss (checked by rebuilding it), or None."""
    if loss_func is None:
        return None
    spec = getattr(loss_func, "build_spec", None)
    if isinstance(spec, dict):
        note_builders(spec)
        return {"kind": "spec", "spec": spec}
    losses = get_registry("loss")
    name = losses.find_name(loss_func)
    if name is not None:  # a registered function (or object) is the loss itself
        return {"kind": "function", "name": name}
    for name, factory in losses.items():
        if not callable_without_arguments(factory) or inspect.isfunction(loss_func):
            continue
        try:
            probe = factory()
        except (TypeError, ValueError, RuntimeError):
            continue
        if type(probe) is not type(loss_func) or type(getattr(probe, "func", None)) is not type(
            getattr(loss_func, "func", None)
        ):
            continue
        kwargs = read_kwargs(loss_func, _factory_params(factory, loss_func))
        try:
            rebuilt = factory(**kwargs)
        except (TypeError, ValueError):
            continue
        if same_config(rebuilt, loss_func):
            losses.note_used(name)
            return {"kind": "class", "name": name, "kwargs": kwargs}
    return None


def build_loss(desc: Any, where: str = "loss_func") -> Any:
    """Rebuild a loss from `describe_loss`'s description (registered losses and builders only)."""
    if desc is None:
        return None
    if not isinstance(desc, dict) or desc.get("kind") not in ("spec", "function", "class"):
        raise SpecError(
            f"{where}: expected a dict with kind 'spec', 'function' or 'class', found {desc!r:.80}"
        )
    if desc["kind"] == "spec":
        return build_spec(desc.get("spec"), where)
    losses = get_registry("loss")
    factory = losses.get(desc.get("name"), where)
    if desc["kind"] == "function":
        return factory
    kwargs = desc.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise SpecError(f"{where}: kwargs must be a dict")
    allowed = {p.name for p in params_of(factory.__init__ if inspect.isclass(factory) else factory)}
    if callable_without_arguments(factory):
        probe = factory()
        if hasattr(probe, "func") and isinstance(probe.func, nn.Module):
            allowed |= {p.name for p in params_of(type(probe.func).__init__)}
    for k, v in kwargs.items():
        if k not in allowed:
            raise SpecError(f"{where}: unexpected argument {k!r} for {desc['name']}")
        plain_tuple = isinstance(v, tuple) and all(isinstance(x, PLAIN_KW) for x in v)
        if not (isinstance(v, (*PLAIN_KW, Tensor)) or plain_tuple):
            raise SpecError(f"{where}: argument {k!r} of {desc['name']} must be plain data or a tensor")
    try:
        return factory(**kwargs)
    except (TypeError, ValueError, RuntimeError) as e:
        raise SpecError(f"{where}: cannot build {desc['name']}: {e}") from e


# ---------------------------------------------------------------- metrics
def describe_metrics(metrics: list[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """(descriptions of the registered metrics, names of the others)."""
    from .._metrics._metric import AvgMetric

    registry = get_registry("metric")
    kept, dropped = [], []
    for m in metrics:
        name = registry.find_name(m)  # a registered metric object, such as rmse
        if name is None and type(m) is AvgMetric:
            name = registry.find_name(m.func)  # a registered function the learner wrapped
        if name is not None:
            kept.append({"name": name})
            continue
        name = registry.find_name(type(m), note=False)
        kwargs = _metric_kwargs(m) if name is not None else None
        if name is None or kwargs is None:
            dropped.append(getattr(m, "name", type(m).__name__))
        else:
            registry.note_used(name)
            kept.append({"name": name, "kwargs": kwargs})
    return kept, dropped


def _metric_kwargs(m: Any) -> dict[str, Any] | None:
    """The constructor arguments of a registered Metric class read from `m`, if they rebuild it."""
    cls, factories = type(m), [type(m).__init__]
    kwargs = read_kwargs(m, factories)
    required = [p.name for p in params_of(cls.__init__) if p.default is p.empty]
    if any(r not in kwargs for r in required) or not all(isinstance(v, PLAIN_KW) for v in kwargs.values()):
        return None
    try:
        rebuilt = cls(**kwargs)
    except (TypeError, ValueError):
        return None
    return kwargs if read_kwargs(rebuilt, factories) == kwargs else None


_METRICS_1_0 = ("accuracy", "error_rate", "top_k_accuracy", "accuracy_multi", "foreground_acc", "mse", "mae",
                "msle", "rmse", "exp_rmspe", "perplexity")  # fmt: skip


def build_metrics(descs: Any, minor: int, where: str = "metrics") -> list[Any]:
    """The metrics of `describe_metrics`'s descriptions (plies 1.0 files: names of plies metrics)."""
    registry = get_registry("metric")
    if minor == 0:
        if not isinstance(descs, list) or not all(isinstance(n, str) for n in descs):
            raise SpecError(f"{where}: expected a list of metric names")
        unknown = [n for n in descs if n not in _METRICS_1_0]
        if unknown:
            raise SpecError(f"{where}: unknown metric(s) {unknown} (known: {', '.join(_METRICS_1_0)})")
        descs = [{"name": f"plies.learner.{n}"} for n in descs]
    if not isinstance(descs, list):
        raise SpecError(f"{where}: expected a list of metric descriptions")
    out = []
    for i, d in enumerate(descs):
        if not isinstance(d, dict) or not isinstance(d.get("name"), str) or set(d) - {"name", "kwargs"}:
            raise SpecError(f"{where}[{i}]: expected {{'name': ..., 'kwargs'?: {{...}}}}, found {d!r:.80}")
        obj = registry.get(d["name"], f"{where}[{i}]")
        if "kwargs" in d:
            out.append(_call_with_plain(obj, d["kwargs"], f"{where}[{i}] ({d['name']})"))
        else:
            out.append(obj)
    return out


# ---------------------------------------------------------------- Learner class, inference callbacks
def describe_learner_class(learn: Any) -> str | None:
    """The registered name of the learner's class, or None."""
    return get_registry("Learner class").find_name(type(learn))


def learner_class(name: Any, where: str) -> Any:
    return get_registry("Learner class").get(name, where)


def describe_callbacks(cbs: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """(descriptions of the registered inference callbacks in `cbs`, why others registered could not be)."""
    registry = get_registry("inference callback")
    out, problems = [], []
    for cb in cbs:
        name = registry.find_name(type(cb), note=False)
        if name is None:
            continue
        kwargs, missing = {}, []
        for p in params_of(type(cb).__init__):
            if p.name in vars(cb):  # not getattr: a callback reads missing attributes through to its learner
                kwargs[p.name] = vars(cb)[p.name]
            elif p.default is p.empty:
                missing.append(p.name)
        if missing:
            problems.append(
                f"{type(cb).__name__} (constructor arguments {missing} are not kept as attributes)"
            )
        else:
            out.append({"type": name, "kwargs": kwargs, "state": cb.state_dict()})
    return out, problems


def note_callbacks(descs: list[dict[str, Any]]) -> None:
    """Note the registered names of the callbacks an export keeps (for its `requires`)."""
    for d in descs:
        get_registry("inference callback").note_used(d["type"])


def build_callbacks(descs: Any, where: str = "callbacks") -> list[Any]:
    """The callbacks of `describe_callbacks`'s descriptions, their state loaded."""
    registry = get_registry("inference callback")
    if not isinstance(descs, list):
        raise SpecError(f"{where}: expected a list of callback descriptions")
    out = []
    for i, d in enumerate(descs):
        if (
            not isinstance(d, dict)
            or set(d) != {"type", "kwargs", "state"}
            or not isinstance(d["state"], dict)
        ):
            raise SpecError(f"{where}[{i}]: expected {{'type', 'kwargs', 'state'}}, found {d!r:.80}")
        cls = registry.get(d["type"], f"{where}[{i}]")
        cb = _call_with_plain(cls, d["kwargs"], f"{where}[{i}] ({d['type']})")
        cb.load_state_dict(d["state"])
        out.append(cb)
    return out


def _call_with_plain(factory: Any, kwargs: Any, where: str) -> Any:
    """`factory(**kwargs)` for keywords its signature accepts; errors as SpecError naming `where`."""
    if not isinstance(kwargs, dict):
        raise SpecError(f"{where}: kwargs must be a dict")
    allowed = {p.name for p in params_of(factory.__init__ if inspect.isclass(factory) else factory)}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise SpecError(f"{where}: unexpected argument(s) {unknown} (accepted: {', '.join(sorted(allowed))})")
    try:
        return factory(**kwargs)
    except (TypeError, ValueError, RuntimeError) as e:
        raise SpecError(f"{where}: cannot build it: {e}") from e
