"""plies.pipes: `Transform` (encodes/decodes, setup, split_idx, order) and `Pipeline`."""

from .__about__ import __version__

__all__: list[str] = ["__version__"]
