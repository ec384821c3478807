"""plies.collab: (planned) collaborative filtering.

It will hold: `CollabDataLoaders`, embedding dot-bias and neural models, `collab_learner`.
"""

from .__about__ import __version__

__all__: list[str] = ["__version__"]
