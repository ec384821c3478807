"""Named registries, code found by name in imported modules (never importing), plain-data coercion."""

from __future__ import annotations

import enum
import json
import sys

import numpy as np
import pytest
import torch
from plies.typecore import (
    NamedRegistry,
    find_loaded,
    from_plain,
    get_registry,
    loaded_name,
    public_name,
    recording_names,
    to_plain,
)


class Color(enum.IntEnum):
    """An enum importable by name (module level)."""

    RED = 1
    BLUE = 2


def shout(s: str) -> str:
    """A module-level function: found by name."""
    return s.upper()


def is_function(obj) -> bool:
    return callable(obj) and not isinstance(obj, type)


@pytest.fixture(scope="module")
def things() -> NamedRegistry:
    return NamedRegistry("test thing", "decorate it with @register_thing")


def test_registry_names_lookups_and_the_module_to_import(things: NamedRegistry) -> None:
    def f(x):
        return x

    f.__module__, f.__qualname__ = "mypkg._impl", "f"
    assert things.register(f) == "mypkg.f" and things.module_of("mypkg.f") == "mypkg"
    assert things.get("mypkg.f", "load") is f and things.find_name(f) == "mypkg.f" and "mypkg.f" in things
    assert get_registry("test thing") is things
    with pytest.raises(KeyError, match=r"load: unknown test thing 'os.system' \(not registered\)\. "
                       r"Registered: mypkg.f\. Import the module.*@register_thing"):  # fmt: skip
        things.get("os.system", "load")

    def g():
        pass

    with pytest.raises(
        KeyError, match=r"save: the test thing .*<locals>\.g is not registered; decorate it with"
    ):
        things.name_of(g, "save")
    with pytest.raises(ValueError, match="the name 'mypkg.f' is already registered"):
        things.register(shout, name="mypkg.f")
    with pytest.raises(ValueError, match="without ':'"):
        things.register(shout, name="a:b")
    with pytest.raises(KeyError, match="no registry of kind 'nope'"):
        get_registry("nope")


def test_recording_names_collects_what_a_saved_state_uses(things: NamedRegistry) -> None:
    def h(x):
        return x

    h.__module__, h.__qualname__ = "otherpkg.sub._hidden", "h"
    things.register(h)
    with recording_names() as used:
        things.find_name(h)
    things.find_name(h)  # outside the block: not recorded
    assert used == {("test thing", "otherpkg.sub.h", "otherpkg.sub")}


def test_public_name_drops_private_parts() -> None:
    assert public_name(torch.Tensor) == "torch.Tensor"
    assert public_name(NamedRegistry) == "plies.typecore.NamedRegistry"


def test_loaded_name_and_find_loaded_round_trip_without_importing() -> None:
    ref = loaded_name(shout)
    assert ref == f"{__name__}:shout"
    assert find_loaded(ref, "here", is_function, "a function") is shout
    assert loaded_name(lambda x: x) is None

    def local():
        pass

    assert loaded_name(local) is None  # defined inside a function: another process cannot find it
    assert loaded_name(json.dumps) is None  # the standard library is never looked up by name
    assert "plies_never_imported_mod" not in sys.modules
    with pytest.raises(KeyError, match="'plies_never_imported_mod', which is not imported: import "
                       "plies_never_imported_mod before loading"):  # fmt: skip
        find_loaded("plies_never_imported_mod:f", "load", is_function, "a function")
    assert "plies_never_imported_mod" not in sys.modules
    with pytest.raises(ValueError, match="points into the standard library"):
        find_loaded("shutil:rmtree", "load", is_function, "a function")
    with pytest.raises(KeyError, match="defines no 'nothing_here'"):
        find_loaded(f"{__name__}:nothing_here", "load", is_function, "a function")
    with pytest.raises(ValueError, match="is not a class defined under that name"):
        find_loaded(ref, "load", lambda o: isinstance(o, type), "a class")
    with pytest.raises(ValueError, match="not a valid 'module:qualname' reference"):
        find_loaded(f"{__name__}:shout.__globals__", "load", is_function, "a function")


def test_find_loaded_refuses_aliases() -> None:
    alias_ref = f"{__name__}:alias_of_shout"
    globals()["alias_of_shout"] = shout
    try:
        with pytest.raises(ValueError, match="is not a function defined under that name"):
            find_loaded(alias_ref, "load", is_function, "a function")
    finally:
        del globals()["alias_of_shout"]


def test_to_plain_and_back() -> None:
    class Local(enum.Enum):
        A = "a"

    x = {"f": np.float32(1.5), "i": np.int64(3), "b": np.bool_(True), "arr": np.arange(3), "e": Color.BLUE,
         "local": Local.A, "t": (np.int8(2), b"\x00\x01")}  # fmt: skip
    plain = to_plain(x)
    assert plain["f"] == 1.5 and type(plain["f"]) is float and type(plain["i"]) is int
    assert plain["b"] is True and torch.equal(plain["arr"], torch.arange(3))
    assert plain["e"] == {"__enum__": f"{__name__}:Color", "value": 2}
    assert plain["local"] == "a"  # a local enum class cannot be found again: its value is kept
    assert plain["t"] == (2, b"\x00\x01")
    json.dumps({k: v for k, v in plain.items() if k in ("f", "i", "b", "e")})  # JSON-ready
    back = from_plain(plain)
    assert back["e"] is Color.BLUE and back["i"] == 3
    with pytest.raises(ValueError, match="7 is not a value of Color"):
        from_plain({"__enum__": f"{__name__}:Color", "value": 7})


def test_library_code_is_never_found_by_name():
    # a crafted file could name a library's file reader as a getter: only the user's own code is found
    # (the rule is by name: it does not matter whether the library is imported or installed)
    for ref in ("numpy:load", "torch:load", "pandas:read_pickle", "plies.typecore._tensors:TensorBase"):
        with pytest.raises(ValueError, match="only your own code is found by name"):
            find_loaded(ref, "test", lambda o: True, "anything")
    assert loaded_name(np.load) is None and loaded_name(torch.load) is None
