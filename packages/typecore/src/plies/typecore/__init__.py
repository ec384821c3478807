"""plies.typecore: Type dispatch, semantic tensors, `L`, `patch`, `delegates`, `funcs_kwargs` and the few helpers the upper layers call."""

from .__about__ import __version__

__all__: list[str] = ["__version__"]
