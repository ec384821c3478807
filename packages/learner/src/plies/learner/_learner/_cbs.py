"""Part of `Learner`: the callbacks it holds (add, remove, for the duration of a block) and the
events it runs.

Whenever the callbacks change, `_refresh_events` binds each callback's method for each event once,
per phase (training or validation), so the loop calls plain lists of bound methods.
`LearnerCallbacksMixin` only makes sense mixed into `Learner` (which inherits it); it is split out
to keep each module to one concept. Its methods are documented and called as ``Learner`` methods.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from plies.typecore import L

from .._callback import _EVENTS, INNER_EVENTS, Callback, noop_logger, sort_by_run
from .._callbacks._progress import ProgressCallback
from .._utils import as_list
from ._args import learner_name

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["LearnerCallbacksMixin"]


class LearnerCallbacksMixin:
    """Part of `Learner`: adding and removing callbacks, and running the events."""

    if TYPE_CHECKING:  # provided by Learner
        cbs: L
        training: bool
        logger: Callable[..., Any]
        _fns: dict[bool, dict[str, list[Callable[[], Any]]]]

    @learner_name
    def _refresh_events(self) -> None:
        """Bind, per event and per phase, the methods of the active callbacks that define it."""
        fns: dict[bool, dict[str, list[Callable[[], Any]]]] = {True: {}, False: {}}
        for training in (True, False):
            for name in _EVENTS:
                lst = []
                for cb in self.cbs:
                    if not cb.run:
                        continue
                    if name in INNER_EVENTS and not (cb.run_train if training else cb.run_valid):
                        continue
                    f = getattr(cb, name, None)
                    if f is not None:
                        lst.append(f)
                fns[training][name] = lst
        self._fns = fns

    @learner_name
    def add_cb(self, cb: Callback | type) -> Self:
        """Add a callback (an instance, or a class to instantiate); it becomes ``learn.<cb.name>``."""
        if isinstance(cb, type):
            cb = cb()
        if not isinstance(cb, Callback):
            raise TypeError(
                f"add_cb: expected a Callback instance or class, found {type(cb).__name__} ({cb!r})"
            )
        object.__setattr__(cb, "learn", self)
        current = self.__dict__.get(cb.name, getattr(type(self), cb.name, None))
        if current is None or isinstance(current, Callback):
            setattr(self, cb.name, cb)
        else:
            warnings.warn(
                f"add_cb: {type(cb).__name__} is not reachable as `learn.{cb.name}`, which is the "
                f"learner's own attribute; find it in `learn.cbs`",
                stacklevel=2,
            )
        self.cbs = L(sort_by_run([*self.cbs, cb]))
        self._refresh_events()
        return self

    @learner_name
    def add_cbs(self, cbs: Callback | Iterable[Callback] | None) -> Self:
        """Add several callbacks."""
        for cb in as_list(cbs):
            self.add_cb(cb)
        return self

    @learner_name
    def remove_cb(self, cb: Callback | type) -> Self:
        """Remove a callback instance, or every callback of a class."""
        if isinstance(cb, type):
            doomed = [c for c in self.cbs if isinstance(c, cb) and isinstance(c, Callback)]
            for c in doomed:
                self.remove_cb(c)
            return self
        if cb in self.cbs:
            self.cbs = L(c for c in self.cbs if c is not cb)
            if self.__dict__.get(cb.name) is cb:
                delattr(self, cb.name)
            object.__setattr__(cb, "learn", None)
            self._refresh_events()
        return self

    @learner_name
    def remove_cbs(self, cbs: Callback | Iterable[Callback] | None) -> Self:
        """Remove several callbacks."""
        for cb in as_list(cbs):
            self.remove_cb(cb)
        return self

    @contextlib.contextmanager
    @learner_name
    def added_cbs(self, cbs: Callback | Iterable[Callback] | None) -> Iterator[Self]:
        """Context manager: add `cbs` for the duration of the block."""
        cbs = as_list(cbs)
        self.add_cbs(cbs)
        try:
            yield self
        finally:
            self.remove_cbs(cbs)

    @contextlib.contextmanager
    @learner_name
    def removed_cbs(self, cbs: Callback | Iterable[Callback] | None) -> Iterator[Self]:
        """Context manager: remove `cbs` for the duration of the block, then put them back."""
        cbs = [c for c in as_list(cbs) if c in self.cbs]
        self.remove_cbs(cbs)
        try:
            yield self
        finally:
            self.add_cbs(cbs)

    @contextlib.contextmanager
    @learner_name
    def no_logging(self) -> Iterator[Self]:
        """Context manager: silence the per-epoch log (the metrics table)."""
        old, self.logger = self.logger, noop_logger
        try:
            yield self
        finally:
            self.logger = old

    @contextlib.contextmanager
    @learner_name
    def no_bar(self) -> Iterator[Self]:
        """Context manager: train without the progress bar."""
        with self.removed_cbs([c for c in self.cbs if isinstance(c, ProgressCallback)]):
            yield self

    @learner_name
    def show_training_loop(self) -> str:
        """Print (and return) each event of a fit in order with the callbacks that run at it."""
        lines = []
        for name in _EVENTS:
            cbs = [type(cb).__name__ for cb in self.cbs if cb.run and getattr(cb, name, None) is not None]
            if cbs:
                lines.append(f"   - {name:<22}: [{', '.join(cbs)}]")
        text = "\n".join(lines)
        print(text)
        return text

    @learner_name
    def __call__(self, event_name: str | Iterable[str]) -> None:
        """Run the callbacks' methods for one event (or a list of events)."""
        if isinstance(event_name, str):
            fns = self._fns[self.training].get(event_name)
            if fns is None:
                raise ValueError(f"Learner: unknown event {event_name!r}; events are {', '.join(_EVENTS)}")
            for f in fns:
                f()
        else:
            for e in event_name:
                self(e)
