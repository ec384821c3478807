"""plies.layers: Building blocks, XResNet, DynamicUnet and losses."""

from .__about__ import __version__

__all__: list[str] = ["__version__"]
