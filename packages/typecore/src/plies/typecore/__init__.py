"""plies.typecore: type dispatch, semantic tensors, `L`, `patch`, `delegates`, `funcs_kwargs` and helpers."""

from ._dispatch import TypeDispatch, retain_type, retain_types, typedispatch
from .__about__ import __version__

__all__ = [
    "__version__",
    "TypeDispatch",
    "typedispatch",
    "retain_type",
    "retain_types",
]
