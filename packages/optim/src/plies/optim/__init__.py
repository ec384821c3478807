"""plies.optim: A generic optimizer built from stats and steppers, and `OptimWrapper` for any torch.optim optimizer."""

from .__about__ import __version__

__all__: list[str] = ["__version__"]
