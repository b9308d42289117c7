"""softlogit: logistic and softmax regression by cross-entropy, with exact gradients.

The layers (DESIGN §2), each importing only those below it::

    cli → estimators → solvers → objective → losses
                                    └──> data (design matrices, fused kernels)

The public names of the upper layers are imported on first use, so ``import softlogit`` stays
light and each layer's module can be developed on its own.
"""

from importlib import import_module

from softlogit._version import __version__
from softlogit.gradcheck import GradientCheck, check_gradient
from softlogit.objective import LinearObjective
from softlogit.solvers import SolverResult, solve

# public name -> module that defines it (imported on first access)
_LAZY = {
    "LogisticRegression": "softlogit.estimators",
    "SoftmaxRegression": "softlogit.estimators",
    "LogisticRegressionCV": "softlogit.selection",
    "regularization_path": "softlogit.selection",
    "TableEncoder": "softlogit.io.encoding",
    "save": "softlogit.io.model_file",
    "load": "softlogit.io.model_file",
    "lr_test": "softlogit.inference",
    "detect_separation": "softlogit.inference",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'softlogit' has no attribute {name!r}")


__all__ = [
    "__version__",
    "check_gradient",
    "GradientCheck",
    "LinearObjective",
    "SolverResult",
    "solve",
    *_LAZY,
]
