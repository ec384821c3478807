"""Everything a text script needs, in one import: `from plies.text.all import *`.

What `plies.learner.all` exports (the lower layers' public names, `torch`, `nn`, `F`, `np`,
`Path`) and the public names of plies.text. `__version__` here is plies-text's and is not exported.
"""

import plies.text as _text
from plies.learner.all import *
from plies.learner.all import __all__ as _learner_all
from plies.text import *

from .__about__ import __version__

__all__ = list(dict.fromkeys([*_learner_all, *(name for name in _text.__all__ if name != "__version__")]))
