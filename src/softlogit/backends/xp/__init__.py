"""The array-API backend: X on its own device (PyTorch, CuPy, JAX, array-api-strict …).

Importing this package registers :class:`~.design.ArrayAPIDesign` with
:func:`softlogit.data.register_design` for every 2-D array-API array that NumPy does not own. The
registry (``BACKEND_MODULES`` in :mod:`softlogit.data.factory`) imports it only once one of the
libraries it serves has been imported by the caller, so the core never imports
``array_api_compat``, PyTorch or CuPy; ``pip install softlogit[gpu]`` brings ``array-api-compat``
(PyTorch and CuPy are installed by the user, built for their GPU).

Modules: :mod:`.transfer` (which arrays, and the explicit host↔device copies of small vectors),
:mod:`.losses` (the stable cross-entropy pieces on the array API), :mod:`.samples` (targets and
weights checked on the device), :mod:`.design` (the products and fused evaluations).
"""

from softlogit.backends.xp.design import ArrayAPIDesign, accepts
from softlogit.data.factory import register_design

_REGISTERED = False


def register() -> None:
    """Register the array-API design for ``backend="auto"`` (idempotent)."""
    global _REGISTERED
    if not _REGISTERED:
        register_design(accepts, ArrayAPIDesign)
        _REGISTERED = True


register()

__all__ = ["ArrayAPIDesign", "register"]
