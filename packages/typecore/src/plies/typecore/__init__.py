"""plies.typecore: type dispatch, semantic tensors, `L`, `patch`, `delegates`, `funcs_kwargs` and helpers."""

from .__about__ import __version__
from ._attrs import GetAttr, store_attr
from ._basics import (
    add,
    camel2snake,
    eq,
    first,
    ge,
    gt,
    ifnone,
    is_,
    is_iter,
    is_not,
    le,
    listify,
    lt,
    mask2idxs,
    merge,
    mul,
    ne,
    noop,
    noops,
    range_of,
    setify,
    sub,
    truediv,
    tuplify,
    uniqueify,
)
from ._builders import build_from_spec, register_builder
from ._collections import L, is_listy
from ._dispatch import TypeDispatch, typedispatch
from ._meta import (
    accepted_kwargs,
    check_kwargs,
    delegates,
    funcs_kwargs,
    patch,
    patch_to,
    unknown_kwargs_message,
)
from ._plain import from_plain, to_plain
from ._registry import NamedRegistry, find_loaded, get_registry, loaded_name, public_name, recording_names
from ._retain import retain_type, retain_types
from ._tensors import TensorBase, TensorCategory, TensorMultiCategory, tensor
from ._torch import (
    apply,
    default_device,
    find_bs,
    num_distrib,
    rank_distrib,
    set_seed,
    to_cpu,
    to_detach,
    to_device,
    to_float,
)

__all__ = [
    "__version__",
    # type dispatch
    "TypeDispatch",
    "typedispatch",
    "retain_type",
    "retain_types",
    # semantic tensors
    "TensorBase",
    "TensorCategory",
    "TensorMultiCategory",
    "tensor",
    # L and helpers
    "L",
    "listify",
    "tuplify",
    "is_listy",
    "is_iter",
    "ifnone",
    "noop",
    "noops",
    "first",
    "mask2idxs",
    "uniqueify",
    "setify",
    "merge",
    "range_of",
    "camel2snake",
    "gt",
    "ge",
    "lt",
    "le",
    "eq",
    "ne",
    "add",
    "sub",
    "mul",
    "truediv",
    "is_",
    "is_not",
    # decorators and attribute helpers
    "patch",
    "patch_to",
    "delegates",
    "funcs_kwargs",
    "check_kwargs",
    "unknown_kwargs_message",
    "accepted_kwargs",
    "store_attr",
    "GetAttr",
    # torch utilities
    "apply",
    "to_device",
    "to_cpu",
    "to_detach",
    "to_float",
    "find_bs",
    "default_device",
    "set_seed",
    "rank_distrib",
    "num_distrib",
    # model rebuild registry
    "register_builder",
    "build_from_spec",
    # named registries, code found by name, plain-data coercion (saved states)
    "NamedRegistry",
    "get_registry",
    "recording_names",
    "public_name",
    "loaded_name",
    "find_loaded",
    "to_plain",
    "from_plain",
]
