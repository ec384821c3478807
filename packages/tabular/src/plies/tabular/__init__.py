"""plies.tabular: (planned) tabular data.

It will hold: `TabularPandas`, categorify/fill-missing/normalize procs, `tabular_learner`.
"""

from .__about__ import __version__

__all__: list[str] = ["__version__"]
