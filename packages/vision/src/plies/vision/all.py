"""Everything a vision script needs, in one import: `from plies.vision.all import *`.

What `plies.learner.all` exports (the lower layers' public names, `torch`, `nn`, `F`, `np`,
`Path`) and the public names of plies.vision. `__version__` here is plies-vision's and is not exported.
"""

import plies.vision as _vision
from plies.learner.all import *
from plies.learner.all import __all__ as _learner_all
from plies.vision import *

from .__about__ import __version__

__all__ = list(dict.fromkeys([*_learner_all, *(name for name in _vision.__all__ if name != "__version__")]))
