"""Fused CPU kernels (Numba) and the designs that use them: the ``"auto"`` backend.

Importing this package registers :class:`NumbaDenseDesign` (dense float32/float64 X, any memory
order) and :class:`NumbaCSRDesign` (CSR X) with :func:`softlogit.data.register_design`; the plain
NumPy/SciPy designs remain the ``"reference"`` backend the kernels are tested against.

Modules: :mod:`.vecmath` (``exp``/``log1p`` that LLVM vectorises), :mod:`.simd` (a
four-lane float64 vector type for Numba), :mod:`.tiles` (register-blocked block products of
the softmax kernels), :mod:`.blocks` (row blocks: logits into a buffer, the stable losses over
the buffer, the gradient update), :mod:`.dense` and :mod:`.sparse` (fused loss+gradient and
Hessian-vector products), :mod:`.products` (logits), :mod:`.gram` (the Newton
Gram by blocked BLAS), :mod:`.partition` (the fixed chunks and blocks), :mod:`.threads`
(running chunk ranges on Numba's thread count), :mod:`.designs`.

All kernels are compiled with ``cache=True`` and without fast-math, except for the flags
``contract`` (fused multiply-add) everywhere in :mod:`.vecmath`/:mod:`.blocks` and
``reassoc`` on the dot products alone (:func:`.blocks.dot1`): the stability tricks of
:mod:`softlogit.losses` rely on IEEE infinities, NaN and ordering, which those two flags keep.
The tiles of :mod:`.tiles` use explicit ``llvm.fma`` and no flag.

Compilation happens once per machine (Numba's cache beside these files) and is lazy: a
signature compiles on its first use. The softmax tiles are compiled for float64 only (float32
blocks are widened into a float64 buffer first) and are inlined into their callers
(``inline="always"``) instead of being compiled on their own as well. Cold and warm figures
are in BENCHMARKS.md ("Per-pass speed: kernels at the memory limit"). Results do not depend
on the number of threads (:mod:`.partition`).
"""

import hashlib
from pathlib import Path

from softlogit.data.factory import register_design


def _cache_dir() -> Path:
    """The directory where Numba caches this package's kernels.

    Numba's own choice (its ``FunctionCache`` locator, asked about a function of this package):
    ``$NUMBA_CACHE_DIR/kernels_<hash>`` when that variable is set, else ``__pycache__`` beside
    these files, else a user-wide cache directory when the package is read-only.
    """
    try:
        from numba.core.caching import FunctionCache

        return Path(FunctionCache(_cache_dir).cache_path)
    except Exception:  # a Numba without this internal API: its default location
        return Path(__file__).parent / "__pycache__"


def _drop_stale_cache() -> None:
    """Delete cached kernels compiled from an older version of any kernel source.

    Numba keys a cached function on its own file only, so a kernel in ``dense.py`` compiled
    with an older ``blocks.py`` would be reused after an edit. A fingerprint of all kernel
    sources, stored beside the cache (:func:`_cache_dir`), detects that and clears this
    package's cache files there.
    """
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(here.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    try:
        cache = _cache_dir()
        stamp = cache / "kernels.fingerprint"
        if stamp.exists() and stamp.read_text() == digest.hexdigest():
            return
        modules = {path.stem for path in here.glob("*.py")}
        for path in list(cache.glob("*.nbi")) + list(cache.glob("*.nbc")):
            if path.name.split(".", 1)[0] in modules:  # only this package's kernels
                path.unlink()
        cache.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest.hexdigest())
    except OSError:  # read-only install: Numba then caches elsewhere or not at all
        pass


_drop_stale_cache()

from softlogit.kernels.designs import (  # noqa: E402  (after the cache check)
    NumbaCSRDesign, NumbaDenseDesign, accepts_csr, accepts_dense,
)

_REGISTERED = False


def register() -> None:
    """Register the kernel designs for ``backend="auto"`` (idempotent)."""
    global _REGISTERED
    if not _REGISTERED:
        register_design(accepts_csr, NumbaCSRDesign, first=False)
        register_design(accepts_dense, NumbaDenseDesign, first=False)
        _REGISTERED = True


register()

__all__ = ["NumbaDenseDesign", "NumbaCSRDesign", "register"]
