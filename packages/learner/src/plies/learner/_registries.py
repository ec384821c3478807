"""The registries of Learner classes, inference callbacks and metrics an export may name.

`load_learner` rebuilds a registered `Learner` subclass, re-adds the registered callbacks the
exported learner had (with their plain-data state), and restores registered metrics; nothing
named in a file is created unless it is registered here (or in the lower packages' registries).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

from plies.typecore import NamedRegistry

__all__ = ["register_learner", "register_callback", "register_metric"]

T = TypeVar("T")

LEARNERS = NamedRegistry("Learner class", "decorate the class with @plies.learner.register_learner")
CALLBACKS = NamedRegistry("inference callback", "decorate the class with @plies.learner.register_callback")
METRICS = NamedRegistry("metric", "decorate the metric function or class with @plies.learner.register_metric")


def register_learner(cls: T) -> T:
    """Class decorator: register a `Learner` subclass so `load_learner` returns an instance of it.

    It is rebuilt with the Learner's arguments (dls, model, loss_func, opt_func, metrics, path,
    model_dir and the hyper-parameters), so its constructor must accept them.
    """
    from ._learner import _learner

    base = getattr(_learner, "Learner", None)  # None while `Learner` itself is being registered
    if not (inspect.isclass(cls) and (base is None or issubclass(cls, base))):
        raise TypeError(f"register_learner: expected a Learner subclass, found {_label(cls)}")
    LEARNERS.register(cls)
    return cls


def register_callback(cls: T) -> T:
    """Class decorator: a callback that inference needs (e.g. a model resetter for RNNs).

    An export records each such callback on the learner: its constructor arguments read from the
    attributes of the same names (plain data) and its `state_dict()`; `load_learner` re-adds it.
    """
    from ._callback import Callback

    if not (inspect.isclass(cls) and issubclass(cls, Callback)):
        raise TypeError(f"register_callback: expected a Callback subclass, found {_label(cls)}")
    CALLBACKS.register(cls)
    return cls


@overload
def register_metric(obj: T, *, name: str | None = None) -> T: ...
@overload
def register_metric(obj: None = None, *, name: str | None = None) -> Callable[[T], T]: ...
def register_metric(obj: Any = None, *, name: str | None = None) -> Any:
    """Register a metric so exports keep it (a decorator, or a call for a ready-made metric object).

    A function f(pred, targ) is saved by name (the learner wraps it in `AvgMetric` again); a
    `Metric` class with the constructor arguments read from its attributes; a metric object
    (e.g. `rmse`) is saved by name and comes back as that same object (give `name=`).
    """
    if obj is None:
        return lambda o: register_metric(o, name=name)
    from ._metrics._metric import Metric

    if isinstance(obj, Metric):
        if name is None:
            raise TypeError("register_metric: a metric object has no name of its own; pass name=")
    elif not (inspect.isfunction(obj) or (inspect.isclass(obj) and issubclass(obj, Metric))):
        raise TypeError(
            f"register_metric: expected a function, a Metric class or a Metric, found {_label(obj)}"
        )
    METRICS.register(obj, name)
    return obj


def _label(obj: Any) -> str:
    return getattr(obj, "__qualname__", type(obj).__name__)
