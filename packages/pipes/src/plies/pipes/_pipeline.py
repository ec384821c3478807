"""`Pipeline`: transforms composed in `order`, set up in turn, decoded in reverse, saved as plain data."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from plies.typecore import L, camel2snake, from_plain, to_plain

from ._state import check_plain_data, lookup_registered, registered_name
from ._transform import Transform

__all__ = ["Pipeline", "compose_tfms", "mk_transform"]

_PIPELINE_TYPE = "plies.pipes.Pipeline"


def compose_tfms(
    x: Any, tfms: Iterable[Any], is_enc: bool = True, reverse: bool = False, **kwargs: Any
) -> Any:
    """Apply `tfms` to `x` in turn (their `decode` when `is_enc=False`; last first when `reverse`).

    Keyword arguments (e.g. `split_idx`) are passed to every call.
    """
    seq = list(tfms)
    for t in reversed(seq) if reverse else seq:
        x = t(x, **kwargs) if is_enc else t.decode(x, **kwargs)
    return x


def mk_transform(f: Any) -> Transform | Pipeline:
    """`f` as a Transform: Transforms and Pipelines are kept, a Transform class is instantiated,
    any other callable becomes `Transform(f)`."""
    if inspect.isclass(f) and issubclass(f, Transform):
        f = f()
    if isinstance(f, (Transform, Pipeline)):
        return f
    if not callable(f):
        raise TypeError(f"mk_transform: expected a Transform or a callable, found {type(f).__name__} {f!r}")
    return Transform(f)


class _MappedItems(Sequence[Any]):
    """A lazy view of `items` passed through `tfms` (what a transform's `setup` sees in a Pipeline).

    `.train` / `.valid` are mapped views of the source's subsets when it has them.
    """

    def __init__(self, items: Any, tfms: list[Any], split_idx: int | None) -> None:
        self.items, self.tfms, self.split_idx = items, tfms, split_idx

    def _map(self, x: Any) -> Any:
        return compose_tfms(x, self.tfms, split_idx=self.split_idx)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return _MappedItems(self.items[i], self.tfms, self.split_idx)
        return self._map(self.items[i])

    def __iter__(self) -> Iterator[Any]:
        return (self._map(x) for x in self.items)

    def _subset(self, name: str) -> _MappedItems:
        return _MappedItems(getattr(self.items, name), self.tfms, self.split_idx)

    @property
    def train(self) -> _MappedItems:
        """The training subset of the source, mapped (AttributeError when the source has none)."""
        return self._subset("train")

    @property
    def valid(self) -> _MappedItems:
        """The validation subset of the source, mapped (AttributeError when the source has none)."""
        return self._subset("valid")

    def __repr__(self) -> str:
        return f"<{len(self.items)} items mapped through {len(self.tfms)} transform(s)>"


class Pipeline:
    """Compose transforms: sorted by `order` (stable), called in turn, decoded in reverse.

    Neighbours that can run as one are fused (a transform's `fuse(next)` returns the fused one).

    `funcs`: transforms, Transform classes (instantiated) or functions (wrapped in `Transform`).
    `split_idx` is passed to every transform call (0 = training, 1 = validation). A Pipeline
    can itself be an element of a Pipeline (its `order` is 0).
    """

    order: int = 0

    def __init__(self, funcs: Any = None, split_idx: int | None = None) -> None:
        self.split_idx = split_idx
        if isinstance(funcs, Pipeline):
            self.fs: L = L(list(funcs.fs))
        else:
            self.fs = L(_sorted([mk_transform(f) for f in _as_list(funcs)]))

    @property
    def name(self) -> str:
        """`Pipeline` (the name shown when a pipeline is an element of another)."""
        return "Pipeline"

    def __call__(self, o: Any, split_idx: int | None = None) -> Any:
        """Apply every transform in order (`split_idx`, when given, replaces the pipeline's)."""
        split_idx = self.split_idx if split_idx is None else split_idx
        for t in self.fs:
            o = t(o, split_idx)  # positional: the per-item hot path
        return o

    def decode(self, o: Any, full: bool = True, split_idx: int | None = None) -> Any:
        """Apply the transforms' `decode` in reverse order.

        `full=False` stops as soon as the object can show itself (it, or every element of a
        tuple, has a `show` method), which is what `show` needs.
        """
        split_idx = self.split_idx if split_idx is None else split_idx
        for t in reversed(self.fs):
            if not full and _is_showable(o):
                return o
            o = t.decode(o, split_idx=split_idx)
        return o

    def show(self, o: Any, ctx: Any = None, **kwargs: Any) -> Any:
        """Decode `o` until it can show itself, then call its `show(ctx=ctx, **kwargs)`; returns the ctx.

        A tuple shows each element that has a `show` method, on the same ctx. TypeError when
        nothing in the fully decoded object can show itself.
        """
        o = self.decode(o, full=False)
        if hasattr(o, "show"):
            return o.show(ctx=ctx, **kwargs)
        shown = False
        if isinstance(o, tuple):
            for x in o:
                if hasattr(x, "show"):
                    ctx, shown = x.show(ctx=ctx, **kwargs), True
        if not shown:
            raise TypeError(
                f"Pipeline.show: the decoded object ({type(o).__name__}) has no show method, "
                f"nor has any element of it; decode it with .decode(o) and display it yourself"
            )
        return ctx

    def setup(self, items: Any = None, train_setup: bool = False) -> None:
        """Set up each transform in order on `items` mapped through the transforms before it.

        Pass the raw source items: transform k's `setup` receives a lazy view of them passed
        through transforms 0..k-1 (with their `.train`/`.valid` subsets mapped the same way).
        """
        tfms = list(self.fs)
        self.fs = L()
        for t in tfms:
            self.add(t, items, train_setup)

    def add(self, ts: Any, items: Any = None, train_setup: bool = False) -> None:
        """Set up `ts` (a transform or a list) on `items` mapped through the current pipeline; add them."""
        for t in _as_list(ts):
            t = mk_transform(t)
            seen = (
                items
                if items is None or not len(self.fs)
                else _MappedItems(items, list(self.fs), self.split_idx)
            )
            t.setup(seen, train_setup)
            self.fs = L(_sorted([*self.fs, t]))

    def remove(self, t: Any) -> None:
        """Remove the transform `t`, or every instance of `t` when it is a class (ValueError if absent)."""
        keep = [f for f in self.fs if not (isinstance(f, t) if inspect.isclass(t) else f is t)]
        if len(keep) == len(self.fs):
            raise ValueError(
                f"Pipeline.remove: {getattr(t, '__name__', t)!r} is not in the pipeline "
                f"({', '.join(f.name for f in self.fs) or 'empty'})"
            )
        self.fs = L(keep)

    def __getitem__(self, i: Any) -> Any:
        return self.fs[i]

    def __len__(self) -> int:
        return len(self.fs)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fs)

    def __getattr__(self, name: str) -> Any:
        # `pipe.categorize` is the pipeline's Categorize transform; otherwise, as fastcore's
        # `gather_attrs`, `pipe.vocab` is the attribute of the transforms that have it (not None):
        # its value for one transform, an L of the values for several
        if name.startswith("_") or name == "fs":
            raise AttributeError(name)
        fs = self.__dict__.get("fs", ())
        found = [f for f in fs if camel2snake(type(f).__name__) == name]
        if not found:
            found = [v for v in (getattr(f, name, None) for f in fs) if v is not None]
        if len(found) == 1:
            return found[0]
        if found:
            return L(found)
        raise AttributeError(
            f"'Pipeline' object has no attribute {name!r} "
            f"(and no transform of that type or with that attribute)"
        )

    def __repr__(self) -> str:
        return f"Pipeline: {' -> '.join(f.name for f in self.fs) or '(empty)'}"

    # -- plain-data state -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The pipeline as plain data: per transform its registered type name, its constructor
        arguments and its `state_dict()`. Raises KeyError for an unregistered type and
        TypeError for a constructor argument that is not plain data."""
        entries = [
            _transform_entry(t, f"Pipeline.state_dict: transform {i} ({t.name})")
            for i, t in enumerate(self.fs)
        ]
        return check_plain_data({"split_idx": self.split_idx, "transforms": entries}, "Pipeline.state_dict()")

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the transforms' states into this pipeline (same transform types, same order)."""
        entries = _entries(state)
        if len(entries) != len(self.fs):
            raise ValueError(
                f"Pipeline.load_state_dict: the state has {len(entries)} transforms, "
                f"the pipeline {len(self.fs)}"
            )
        for i, (t, e) in enumerate(zip(self.fs, entries, strict=True)):
            name = (
                _PIPELINE_TYPE
                if isinstance(t, Pipeline)
                else registered_name(type(t), f"Pipeline.load_state_dict: transform {i}")
            )
            if e.get("type") != name:
                raise ValueError(
                    f"Pipeline.load_state_dict: transform {i} is {name}, the state has {e.get('type')!r}"
                )
            t.load_state_dict(from_plain(e["state"], f"Pipeline.load_state_dict: transform {i}"))
        self.split_idx = state.get("split_idx")

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> Pipeline:
        """Rebuild a pipeline from `state_dict()` output, creating only registered transform types.

        Never imports a module or runs code named in the data: an unknown type raises KeyError
        naming it and saying how to register it.
        """
        fs = [_from_entry(e, i) for i, e in enumerate(_entries(state))]
        return cls(fs, split_idx=state.get("split_idx"))


def _as_list(fs: Any) -> list[Any]:
    """One transform (anything callable) as a list of one, an iterable of them as a list."""
    if fs is None:
        return []
    return [fs] if callable(fs) else list(fs)


def _sorted(fs: list[Any]) -> list[Any]:
    """`fs` sorted by `order` (stable), neighbours that can run as one fused: a transform may define
    `fuse(next)` returning one transform doing both, or None (e.g. vision's geometric augmentations
    fuse into one resampling)."""
    out: list[Any] = []
    for f in sorted(fs, key=lambda f: f.order if f.order is not None else 0):
        fuse = getattr(out[-1], "fuse", None) if out else None
        fused = fuse(f) if callable(fuse) else None
        if fused is not None:
            out[-1] = fused
        else:
            out.append(f)
    return out


def _is_showable(o: Any) -> bool:
    if hasattr(o, "show"):
        return True
    return isinstance(o, tuple) and len(o) > 0 and all(hasattr(x, "show") for x in o)


def _entries(state: Any) -> list[dict[str, Any]]:
    if not isinstance(state, dict) or not isinstance(state.get("transforms"), list):
        raise ValueError(
            "Pipeline state: expected a dict with a 'transforms' list (from Pipeline.state_dict())"
        )
    return state["transforms"]


_FUNCTION_KEY = "__function__"
_ENUM_KEY = "__enum__"  # typecore's to_plain marker
_TRANSFORM_KEY = "__transform__"


def _encode_arg(v: Any, where: str) -> Any:
    """A constructor argument as plain data: registered functions become {'__function__': name},
    transforms and pipelines (e.g. the labeller given to `using_attr`) {'__transform__': entry}.
    A bound method is saved when registered itself (e.g. vision's `PILImage.create`)."""
    if inspect.isfunction(v) or inspect.isbuiltin(v) or inspect.ismethod(v):
        return {_FUNCTION_KEY: registered_name(v, where)}
    if isinstance(v, (Transform, Pipeline)):
        return {_TRANSFORM_KEY: _transform_entry(v, where)}
    if type(v) in (list, tuple):
        return type(v)(_encode_arg(o, where) for o in v)
    if type(v) is dict:
        return {k: _encode_arg(o, where) for k, o in v.items()}
    return to_plain(v)  # NumPy values, enum members (an IntEnum argument) as plain data


def _decode_arg(v: Any, where: str) -> Any:
    if type(v) is dict:
        if set(v) == {_FUNCTION_KEY}:
            return lookup_registered(v[_FUNCTION_KEY], where)
        if _ENUM_KEY in v:
            return from_plain(v, where)
        if set(v) == {_TRANSFORM_KEY}:
            return _from_entry(v[_TRANSFORM_KEY], where)
        return {k: _decode_arg(o, where) for k, o in v.items()}
    if type(v) in (list, tuple):
        return type(v)(_decode_arg(o, where) for o in v)
    return v


def _transform_entry(t: Any, where: str) -> dict[str, Any]:
    if isinstance(t, Pipeline):
        return {"type": _PIPELINE_TYPE, "state": t.state_dict()}
    args = _encode_arg(list(t.__dict__.get("_init_args", ())), where)
    kwargs = _encode_arg(dict(t.__dict__.get("_init_kwargs", {})), where)
    entry = {"type": registered_name(type(t), where), "args": args, "kwargs": kwargs, "state": t.state_dict()}
    return check_plain_data(entry, f"{where}: constructor arguments")


def _from_entry(e: Any, i: int | str) -> Any:
    where = f"Pipeline.from_state_dict: transform {i}" if isinstance(i, int) else f"{i} (an argument)"
    if not isinstance(e, dict) or "type" not in e:
        raise ValueError(f"{where}: expected a dict with a 'type' entry, found {e!r}")
    if e["type"] == _PIPELINE_TYPE:
        return Pipeline.from_state_dict(e["state"])
    cls = lookup_registered(e["type"], where)
    if not (inspect.isclass(cls) and issubclass(cls, Transform)):
        fn: Callable[..., Any] = cls
        t = Transform(fn)
    else:
        t = cls(*_decode_arg(e.get("args", []), where), **_decode_arg(e.get("kwargs", {}), where))
    t.load_state_dict(from_plain(e.get("state", {}), where))
    return t
