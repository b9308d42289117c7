"""softlogit: logistic and softmax regression by cross-entropy, with exact gradients.

The layers (DESIGN §2), each importing only those below it::

    cli → estimators → solvers → objective → losses
                                    └──> data (design matrices, fused kernels)
"""

from softlogit._version import __version__
from softlogit.gradcheck import GradientCheck, check_gradient
from softlogit.objective import LinearObjective
from softlogit.solvers import SolverResult, solve

__all__ = [
    "__version__",
    "check_gradient",
    "GradientCheck",
    "LinearObjective",
    "SolverResult",
    "solve",
]
