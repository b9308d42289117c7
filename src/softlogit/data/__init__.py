"""The design-matrix layer: how the objective reaches X.

The objective never touches X directly. It asks a :class:`Design` for four products and,
optionally, for a fused single-pass evaluation. Dense NumPy, SciPy sparse, compiled kernels, GPU
arrays or Dask arrays plug in as further ``Design`` subclasses, without any solver changing.
"""

from softlogit.data.base import Design
from softlogit.data.dense import DenseDesign
from softlogit.data.sparse import SparseDesign
from softlogit.data.factory import as_design, register_design

__all__ = ["Design", "DenseDesign", "SparseDesign", "as_design", "register_design"]
