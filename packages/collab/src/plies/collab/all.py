"""Everything a collab script needs, in one import: `from plies.collab.all import *`.

What `plies.tabular.all` exports (the learner's and lower layers' public names, `torch`, `nn`,
`F`, `np`, `Path`, and plies.tabular's names) and the public names of plies.collab. `__version__`
here is plies-collab's and is not exported.
"""

import plies.collab as _collab
from plies.collab import *
from plies.tabular.all import *
from plies.tabular.all import __all__ as _tabular_all

from .__about__ import __version__

__all__ = list(dict.fromkeys([*_tabular_all, *(name for name in _collab.__all__ if name != "__version__")]))
