"""Named registries, and finding code by name in modules already imported (never importing one).

Saved states (a learner's export, a pipeline's state) name the code that rebuilds them. A name is
either a *registered* name (`NamedRegistry`: a decorator of the package that defines the object
put it in a table at import time) or a *loaded* reference ``"module:qualname"`` to an object the
loading process has already imported (`loaded_name` / `find_loaded`). Looking a name up never
imports a module: an unknown name raises KeyError saying which module to import first.
"""

from __future__ import annotations

import difflib
import inspect
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["NamedRegistry", "get_registry", "public_name", "loaded_name", "find_loaded", "recording_names"]

_REGISTRIES: dict[str, NamedRegistry] = {}
_RECORDERS: list[set[tuple[str, str, str]]] = []
_SHOWN = 12  # registered names listed in an error message
# Code found by name must be the user's own: never the standard library, plies itself (its public
# code is registered) or the libraries a deployment has installed beside it, whose functions (file
# readers, unpicklers, shell helpers) a crafted file could otherwise call on a user's item.
_NOT_OWN_CODE = frozenset(sys.stdlib_module_names) | {
    "builtins", "plies", "torch", "torchvision", "torchaudio", "numpy", "pandas", "polars", "scipy",
    "sklearn", "PIL", "matplotlib", "safetensors", "joblib", "dill", "cloudpickle", "IPython", "pip",
    "setuptools", "pkg_resources", "_pytest", "pytest", "tqdm", "requests", "urllib3", "fsspec", "yaml",
    "timm", "spacy", "sentencepiece", "tensorboard", "huggingface_hub", "transformers",
}  # fmt: skip


def _public_module(module: str) -> str:
    """`module` without its `_private` parts (dunder names such as `__main__` are kept)."""
    parts = [p for p in module.split(".") if not (p.startswith("_") and not p.startswith("__"))]
    return ".".join(parts)


def public_name(obj: Any) -> str:
    """`module.qualname` of `obj` without private module parts (`plies.loaders._transforms.Categorize`
    is `plies.loaders.Categorize`): the name under which registries save it."""
    return f"{_public_module(obj.__module__)}.{obj.__qualname__}"


class NamedRegistry:
    """A table of objects under stable public names, filled by decorators at import time.

    `kind` names what it holds in messages ("transform", "loss"...); `how` says how to register
    (e.g. ``"decorate it with @plies.pipes.register_transform"``). Each name remembers the module
    that registered it, so an unknown name in a saved file can say what to import. Registries
    are listed by kind (`get_registry`).
    """

    def __init__(self, kind: str, how: str) -> None:
        if kind in _REGISTRIES:
            raise ValueError(f"NamedRegistry: a registry of kind {kind!r} already exists")
        self.kind, self.how = kind, how
        self._by_name: dict[str, Any] = {}
        self._modules: dict[str, str] = {}
        self._aliases: dict[str, str] = {}  # older names still read (e.g. with private module parts)
        self._by_object: dict[int, tuple[Any, str]] = {}
        # a bound method (`PILImage.create`) is a new object at each attribute access: found by its parts
        self._by_method: dict[tuple[Any, Any], str] = {}
        _REGISTRIES[kind] = self

    def register(
        self, obj: Any, name: str | None = None, aliases: tuple[str, ...] = (), module: str | None = None
    ) -> str:
        """Register `obj` under `name` (default: `public_name(obj)`) and `aliases`; return the name.

        `module`: what to import so that the name is registered (default: the public module of
        `obj`; give it when a package registers objects defined elsewhere, e.g. torch's losses).
        Registering the same definition again (a re-run notebook cell, a reloaded module) replaces
        it; another object under a taken name raises ValueError.
        """
        key = public_name(obj) if name is None else name
        if not isinstance(key, str) or not key or ":" in key:
            raise ValueError(
                f"register ({self.kind}): the name must be a non-empty str without ':', got {key!r}"
            )
        for k in (key, *aliases):
            old = self._by_name.get(self._aliases.get(k, k))
            if old is not None and old is not obj and _definition(old) != _definition(obj):
                raise ValueError(f"register ({self.kind}): the name {k!r} is already registered for {old!r}")
            if old is not None:
                self._by_object.pop(id(old), None)
        self._by_name[key] = obj
        self._modules[key] = module or _public_module(
            getattr(obj, "__module__", None) or key.rpartition(".")[0]
        )
        self._aliases.update({a: key for a in aliases if a != key})
        self._by_object[id(obj)] = (obj, key)
        if inspect.ismethod(obj):
            self._by_method[(obj.__self__, obj.__func__)] = key
        return key

    def find_name(self, obj: Any, note: bool = True) -> str | None:
        """The name `obj` is registered under, or None; a found name is noted by `recording_names`
        (unless `note` is False: the caller notes it with `note_used` once it is really saved)."""
        entry = self._by_object.get(id(obj))
        if entry is not None and entry[0] is obj:
            name: str | None = entry[1]
        elif inspect.ismethod(obj):
            name = self._by_method.get((obj.__self__, obj.__func__))
        else:
            name = None
        if name is not None and note:
            self.note_used(name)
        return name

    def name_of(self, obj: Any, where: str) -> str:
        """The name `obj` is registered under; KeyError naming `where` and how to register it."""
        name = self.find_name(obj)
        if name is None:
            label = getattr(obj, "__qualname__", type(obj).__qualname__)
            raise KeyError(f"{where}: the {self.kind} {label} is not registered; {self.how}")
        return name

    def get(self, name: Any, where: str) -> Any:
        """The object registered under `name`; KeyError naming it, the known names and how to register."""
        if isinstance(name, str) and self._aliases.get(name, name) in self._by_name:
            return self._by_name[self._aliases.get(name, name)]
        names = sorted(self._by_name)
        if len(names) > _SHOWN:  # the closest names, then how many more
            close = difflib.get_close_matches(str(name), names, n=_SHOWN // 2, cutoff=0.0)
            known = (
                f"{', '.join(close)} and {len(names) - len(close)} more (get_registry({self.kind!r}).names())"
            )
        else:
            known = ", ".join(names)
        raise KeyError(
            f"{where}: unknown {self.kind} {name!r} (not registered). Registered: {known or 'none'}. "
            f"Import the module that registers it before loading ({self.how})"
        )

    def module_of(self, name: str) -> str:
        """The (public) module to import so that `name` gets registered."""
        return self._modules[name]

    def note_used(self, name: str) -> None:
        """Tell the active `recording_names` blocks that a saved state names `name`."""
        if name in self._by_name:
            for rec in _RECORDERS:
                rec.add((self.kind, name, self._modules[name]))

    def __contains__(self, name: object) -> bool:
        return name in self._by_name or name in self._aliases

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._by_name)

    def items(self) -> list[tuple[str, Any]]:
        """(name, object) pairs, in registration order."""
        return list(self._by_name.items())

    def __repr__(self) -> str:
        return f"NamedRegistry({self.kind!r}, {len(self._by_name)} names)"


def _definition(obj: Any) -> tuple[Any, Any]:
    return getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)


def get_registry(kind: str) -> NamedRegistry:
    """The registry of `kind` (KeyError listing the kinds when there is none)."""
    try:
        return _REGISTRIES[kind]
    except KeyError:
        raise KeyError(
            f"get_registry: no registry of kind {kind!r} (known: {', '.join(sorted(_REGISTRIES))})"
        ) from None


@contextmanager
def recording_names() -> Iterator[set[tuple[str, str, str]]]:
    """Collect, while the block runs, every registered name a saved state uses: ``{(kind, name, module)}``."""
    rec: set[tuple[str, str, str]] = set()
    _RECORDERS.append(rec)
    try:
        yield rec
    finally:
        _RECORDERS.remove(rec)


# ---------------------------------------------------------------- code found by name, never imported
def _walk(module: Any, qualname: str) -> Any:
    """The object at `qualname` inside `module`, through `__dict__`s only (no descriptor, no __getattr__)."""
    obj = module
    for part in qualname.split("."):
        try:
            obj = vars(obj)[part]
        except (KeyError, TypeError):
            return None
    return obj


def _dunder(part: str) -> bool:
    return part.startswith("__") and part.endswith("__")


def _valid_ref(module: str, qualname: str) -> bool:
    """Dotted identifiers, no dunder part (the module `__main__`, a deployment script, excepted)."""
    module_ok = module == "__main__" or all(p.isidentifier() and not _dunder(p) for p in module.split("."))
    return module_ok and all(p.isidentifier() and not _dunder(p) for p in qualname.split("."))


def loaded_name(obj: Any) -> str | None:
    """``"module:qualname"`` of a function or class that its module defines at that name (so another
    process that imported the module finds it), else None: lambdas, local definitions, aliases, and
    anything of the standard library (never looked up by name) have none."""
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not (isinstance(module, str) and isinstance(qualname, str)):
        return None
    if not _valid_ref(module, qualname) or module.partition(".")[0] in _NOT_OWN_CODE:
        return None
    mod = sys.modules.get(module)
    return f"{module}:{qualname}" if mod is not None and _walk(mod, qualname) is obj else None


def find_loaded(ref: Any, where: str, accept: Callable[[Any], bool], what: str) -> Any:
    """The object a `loaded_name` reference names, from a module this process has already imported.

    Nothing is imported: when the module is not in `sys.modules`, KeyError says to import it first.
    The object must be defined under exactly that name (no alias) and pass `accept` (`what` describes
    what is accepted, for the error); references into the standard library, plies and the libraries
    installed beside it (torch, numpy, pandas, ...) are refused.
    """
    if not isinstance(ref, str) or ref.count(":") != 1:
        raise ValueError(f"{where}: expected a 'module:qualname' reference, found {ref!r:.80}")
    module, qualname = ref.split(":")
    if not _valid_ref(module, qualname):
        raise ValueError(f"{where}: {ref!r} is not a valid 'module:qualname' reference")
    top = module.partition(".")[0]
    if top in _NOT_OWN_CODE:
        kind = "the standard library" if top in sys.stdlib_module_names or top == "builtins" else f"{top!r}"
        raise ValueError(
            f"{where}: {ref!r} points into {kind}; only your own code is found by name (register what "
            f"a library provides with the plies registries)"
        )
    mod = sys.modules.get(module)
    if mod is None:
        raise KeyError(
            f"{where}: {qualname} is defined in the module {module!r}, which is not imported: "
            f"import {module} before loading"
        )
    obj = _walk(mod, qualname)
    if obj is None:
        raise KeyError(
            f"{where}: the module {module!r} defines no {qualname!r} "
            "(define or import it there before loading)"
        )
    if _definition(obj) != (module, qualname) or not accept(obj):
        raise ValueError(f"{where}: {ref!r} is not {what} defined under that name")
    return obj
