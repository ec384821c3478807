"""Everything a tabular script needs, in one import: `from plies.tabular.all import *`.

What `plies.learner.all` exports (the lower layers' public names, `torch`, `nn`, `F`, `np`,
`Path`) and the public names of plies.tabular. `__version__` here is plies-tabular's and is not exported.
"""

import plies.tabular as _tabular
from plies.learner.all import *
from plies.learner.all import __all__ as _learner_all
from plies.tabular import *

from .__about__ import __version__

__all__ = list(dict.fromkeys([*_learner_all, *(name for name in _tabular.__all__ if name != "__version__")]))
