"""The analysis of names for matching, under its earlier module name: see `registry.matching.analysis`.

The passes live in that package, one module each; this module re-exports its public names, so that
`from registry.matching.normalise import analyse` keeps working.
"""

from registry.matching.analysis import *  # noqa: F401,F403
from registry.matching.analysis import __all__  # noqa: F401
