"""Two-way callbacks: the event names, the `Cancel*Exception` control flow and the `Callback` base.

A callback is an object with methods named after events (``before_batch``, ``after_loss``...).
The `Learner` calls them at each point of its loop; a callback reads and may replace anything
on the learner (``self.learn.xb``, ``yb``, ``pred``, ``loss``, ``model``, ``opt``...) and can
skip part of the loop by raising one of the ``Cancel*Exception``: the loop then calls the
matching ``after_cancel_*`` event and carries on after the cancelled part.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = [
    "event",
    "Callback",
    "TrainEvalCallback",
    "CancelBatchException",
    "CancelStepException",
    "CancelBackwardException",
    "CancelTrainException",
    "CancelValidException",
    "CancelEpochException",
    "CancelFitException",
]

_EVENTS = (
    "before_fit before_epoch before_train before_batch after_pred after_loss before_backward "
    "after_cancel_backward after_backward before_step after_cancel_step after_step after_cancel_batch "
    "after_batch after_cancel_train after_train before_validate after_cancel_validate after_validate "
    "after_cancel_epoch after_epoch after_cancel_fit after_fit"
).split()

# Events inside a batch: a callback's `run_train` / `run_valid` flags apply to these only.
INNER_EVENTS = frozenset(
    "before_batch after_pred after_loss before_backward after_cancel_backward after_backward "
    "before_step after_cancel_step after_step after_cancel_batch after_batch".split()
)


class _Events:
    """Namespace of the event names (``event.before_fit == 'before_fit'``), for typo-free references."""

    def __init__(self, names: Sequence[str]) -> None:
        for n in names:
            setattr(self, n, n)
        self._names = tuple(names)

    def __iter__(self) -> Any:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __repr__(self) -> str:
        return f"event({', '.join(self._names)})"


event = _Events(_EVENTS)
EVENT_SET = frozenset(_EVENTS)


class CancelBatchException(Exception):
    """Skip the rest of this batch (no step); `after_cancel_batch` then `after_batch` run."""


class CancelStepException(Exception):
    """Skip the optimizer step (the gradients are still zeroed); `after_cancel_step` then `after_step` run."""


class CancelBackwardException(Exception):
    """Skip the backward pass; `after_cancel_backward` then `after_backward` run."""


class CancelTrainException(Exception):
    """Skip the rest of the training phase of this epoch; validation still runs."""


class CancelValidException(Exception):
    """Skip the rest of the validation phase of this epoch."""


class CancelEpochException(Exception):
    """Skip the rest of this epoch (validation included); the next epoch starts."""


class CancelFitException(Exception):
    """Stop training; `after_cancel_fit` then `after_fit` run."""


def noop_logger(*args: Any, **kwargs: Any) -> None:
    """The logger used by `Learner.no_logging`: discards the per-epoch log."""
    return None


def validation_only(learn: Any) -> bool:
    """Whether `learn` runs a validate/get_preds pass (maybe inside a fit) rather than training.

    Callbacks skip their per-fit bookkeeping then; a stand-in learner without the flag trains.
    """
    return bool(getattr(learn, "_validation_only", False))


def _camel2snake(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


# Loop state that lives on the learner: setting it on a callback would shadow the learner's.
_LEARNER_STATE = frozenset(
    "xb yb pred loss loss_grad model opt dl dls epoch n_epoch iter n_iter train_iter pct_train "
    "training smooth_loss final_record".split()
)


class Callback:
    """Base class of the learner's two-way callbacks.

    Subclasses define methods named after events (see `event`); only those are called.
    Class attributes: ``order`` (lower runs first), ``run_before`` / ``run_after`` (a callback
    class or name, or a list of them, this one must run before / after), ``run_train`` / ``run_valid``
    (whether batch events run in training / validation), ``run`` (False disables it).
    Event functions can also be passed to the constructor: ``Callback(after_batch=f)`` where
    ``f(cb)`` receives the callback. An attribute a callback lacks reads through to its learner
    (``self.model`` is ``self.learn.model``); to *replace* learner state assign on ``self.learn``.
    """

    order: int = 0
    run_before: Any = ()  # a Callback class, a name, or a list of them
    run_after: Any = ()
    run_train: bool = True
    run_valid: bool = True
    learn: Any = None
    _run: bool = True

    def __init__(self, **event_fns: Callable[..., Any]) -> None:
        for name, f in event_fns.items():
            if name not in EVENT_SET:
                raise TypeError(
                    f"Callback: unknown keyword {name!r}; expected event names such as "
                    f"'before_fit', 'after_batch' (all: {', '.join(_EVENTS)})"
                )
            object.__setattr__(self, name, f.__get__(self) if hasattr(f, "__get__") else f)

    @property
    def run(self) -> bool:
        """Whether the callback is active (setting it updates the learner's event lists)."""
        return self._run

    @run.setter
    def run(self, value: bool) -> None:
        object.__setattr__(self, "_run", bool(value))
        if self.learn is not None:
            self.learn._refresh_events()

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LEARNER_STATE and self.learn is not None and name not in self.__dict__:
            warnings.warn(
                f"{type(self).__name__}: setting `self.{name}` on a callback shadows the learner's "
                f"`{name}`; use `self.learn.{name} = ...` to change the learner",
                stacklevel=2,
            )
        object.__setattr__(self, name, value)
        if name in ("run_train", "run_valid") and self.learn is not None:
            self.learn._refresh_events()

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: read through to the learner.
        if name.startswith("_") or name in EVENT_SET:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        learn = self.__dict__.get("learn")
        if learn is None:
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute {name!r} "
                "(and it is not attached to a learner)"
            )
        return getattr(learn, name)

    def __call__(self, event_name: str) -> None:
        """Run this callback's method for `event_name` if it has one and is active."""
        if event_name not in EVENT_SET:
            raise ValueError(f"{type(self).__name__}: unknown event {event_name!r}")
        if not self.run:
            return
        if event_name in INNER_EVENTS:
            training = getattr(self.learn, "training", True) if self.learn is not None else True
            if not ((self.run_train and training) or (self.run_valid and not training)):
                return
        f = getattr(self, event_name, None)
        if f is not None:
            f()

    @property
    def name(self) -> str:
        """The attribute name on the learner: snake case of the class name without ``Callback``."""
        return _camel2snake(re.sub(r"Callback$", "", type(self).__name__) or "callback")

    def events(self) -> list[str]:
        """The event names this callback defines (class methods or constructor functions)."""
        return [e for e in _EVENTS if e in self.__dict__ or getattr(type(self), e, None) is not None]

    def state_dict(self) -> dict[str, Any]:
        """Plain-data state saved with checkpoints (none by default)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned (no-op by default)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}"


def _run_specs(cb: Callback, attr: str) -> tuple[Any, ...]:
    """`cb.run_after` / `cb.run_before` as a tuple: one class, name or callback, or a list of them."""
    value = getattr(cb, attr)
    specs = tuple(value) if isinstance(value, (list, tuple, set, frozenset)) else (value,)
    for spec in specs:
        if not isinstance(spec, (type, str, Callback)):
            raise TypeError(
                f"{type(cb).__name__}.{attr}: expected a Callback class, a callback name or a list of "
                f"them, found {type(spec).__name__} ({spec!r})"
            )
    return specs


def _matches(cb: Callback, spec: Any) -> bool:
    if isinstance(spec, str):
        return type(cb).__name__ == spec or cb.name == spec
    if isinstance(spec, type):
        return isinstance(cb, spec)
    return cb is spec


def sort_by_run(cbs: Iterable[Callback]) -> list[Callback]:
    """Order callbacks by `order`, honouring every `run_before` / `run_after` constraint (topological)."""
    cbs = list(cbs)
    after = [_run_specs(cb, "run_after") for cb in cbs]
    before = [_run_specs(cb, "run_before") for cb in cbs]
    deps: dict[int, set[int]] = {i: set() for i in range(len(cbs))}
    for i, cb in enumerate(cbs):
        for j, other in enumerate(cbs):
            if i == j:
                continue
            if any(_matches(other, s) for s in after[i]) or any(_matches(cb, s) for s in before[j]):
                deps[i].add(j)
    result: list[Callback] = []
    remaining = list(range(len(cbs)))
    done: set[int] = set()
    while remaining:
        ready = [i for i in remaining if deps[i] <= done]
        if not ready:
            names = ", ".join(type(cbs[i]).__name__ for i in remaining)
            raise ValueError(f"Callbacks: run_before/run_after constraints form a cycle among: {names}")
        best = min(ready, key=lambda i: (cbs[i].order, i))
        result.append(cbs[best])
        done.add(best)
        remaining.remove(best)
    return result


class TrainEvalCallback(Callback):
    """Default callback: keeps the iteration counters and switches the model between train and eval mode."""

    order = -10
    run_valid = False

    def before_fit(self) -> None:
        """Reset the epoch counters and move the model to the data's device (`train_iter` is set by `fit`)."""
        learn = self.learn
        learn.epoch = learn.start_epoch
        learn.loss = None
        learn.pct_train = learn.start_epoch / max(learn.n_epoch, 1)
        learn._place_model()

    def before_train(self) -> None:
        """Set `pct_train` for the epoch's start and put the model in training mode."""
        learn = self.learn
        n_iter = len(learn.dl) if hasattr(learn.dl, "__len__") else 1
        learn.pct_train = (learn.epoch + learn._skip_iters / max(n_iter, 1)) / learn.n_epoch
        learn.model.train()
        learn.training = True

    def after_batch(self) -> None:
        """Advance `pct_train` and `train_iter` after each training batch."""
        learn = self.learn
        learn.pct_train += 1.0 / (learn.n_iter * learn.n_epoch)
        learn.train_iter += 1

    def before_validate(self) -> None:
        """Put the model in evaluation mode."""
        self.learn.model.eval()
        self.learn.training = False
