"""plies.samples: the small real datasets the plies docs, tests and apps use, installed for offline use.

`path(name)` is the folder of one set (its data files and SOURCE.md: origin, citation, licence),
`names()` lists them. `plies.loaders.untar_data(URLs.MNIST_TINY)` returns the same folder when
this distribution is installed. It depends on nothing (no torch).
"""

from .__about__ import __version__
from ._registry import names, path

__all__ = ["__version__", "path", "names"]
