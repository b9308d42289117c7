"""The fixed partition of rows into chunks that makes every kernel's result thread-independent.

Each kernel runs over *chunks* of consecutive rows, in parallel. Inside a chunk the rows
are visited in order and accumulated into that chunk's own float64 partial sums; after the
parallel loop the partials are added **in chunk order**. The partition depends only on the
shape of the problem (``m``, ``p``, ``k`` and, for sparse X, the row pointer), never on the number
of threads, so ``NUMBA_NUM_THREADS=1`` and ``=2`` give bitwise identical results.
"""

from __future__ import annotations

import numpy as np

#: Rows below which a chunk is not worth a task of its own (parallel overhead ~ microseconds).
MIN_CHUNK_ROWS = 2048
#: Upper bound on the number of chunks: enough to balance load on a few dozen cores.
MAX_CHUNKS = 64
#: Bytes allowed for the per-chunk float64 partial gradients (n_chunks · k · p · 8).
PARTIAL_BUDGET_BYTES = 32 * 2**20
#: Rows per block when a non-C-contiguous X is copied block by block (the block stays in cache).
COPY_BLOCK_BYTES = 4 * 2**20


def n_chunks_for(m: int, width: int) -> int:
    """Number of chunks for ``m`` rows whose partial sums have ``width`` float64 entries."""
    by_rows = max(1, -(-m // MIN_CHUNK_ROWS))
    by_memory = max(1, PARTIAL_BUDGET_BYTES // max(1, 8 * width))
    return int(min(MAX_CHUNKS, by_rows, by_memory))


def row_bounds(m: int, width: int) -> np.ndarray:
    """Chunk boundaries (n_chunks + 1,) splitting ``m`` rows into near-equal consecutive runs."""
    n = n_chunks_for(m, width)
    return (np.arange(n + 1, dtype=np.int64) * m) // n


def nnz_bounds(indptr: np.ndarray, width: int) -> np.ndarray:
    """Chunk boundaries for CSR rows, balanced by stored entries (not rows).

    Boundaries are the rows where the cumulative non-zero count crosses ``c·nnz/n``; they depend
    only on ``indptr``, so they are as thread-independent as :func:`row_bounds`.
    """
    return split_by_nnz(indptr, n_chunks_for(len(indptr) - 1, width))


def split_by_nnz(indptr: np.ndarray, n: int) -> np.ndarray:
    """Boundaries (n + 1,) of ``n`` runs of consecutive rows with near-equal stored entries."""
    m = len(indptr) - 1
    nnz = int(indptr[-1])
    targets = (np.arange(1, n, dtype=np.int64) * nnz) // n
    inner = np.searchsorted(indptr[1:], targets, side="left").astype(np.int64) + 1
    bounds = np.concatenate([[0], np.clip(inner, 0, m), [m]]).astype(np.int64)
    return np.maximum.accumulate(bounds)


#: Bytes of X per row block inside a chunk: the block is read from memory for its logits and
#: re-read from L1/L2 for its gradient update (see :mod:`softlogit.kernels.blocks`).
BLOCK_BYTES = 16 * 2**10
#: Rows per block: at least enough for the vector loops over the block, at most what keeps
#: the (K, B) float64 buffers small.
MIN_BLOCK_ROWS = 8
MAX_BLOCK_ROWS = 256
MAX_BLOCK_ENTRIES = 4096


#: Bytes of X per row block of the register-blocked softmax kernels (:mod:`.tiles`), whose
#: update walks the block column-group by column-group and so wants it in L1/L2.
PACKED_BLOCK_BYTES = 32 * 2**10


def block_rows(row_bytes: int, k: int = 1, packed: bool = False) -> int:
    """Rows per block for rows of ``row_bytes`` bytes and ``k`` logits per row.

    A function of the shapes alone (never of the thread count), so that blocks, like chunks,
    fix the order of every sum.
    """
    rows = (PACKED_BLOCK_BYTES if packed else BLOCK_BYTES) // max(1, row_bytes)
    rows = min(rows, MAX_BLOCK_ROWS, MAX_BLOCK_ENTRIES // max(1, k))
    return int(max(MIN_BLOCK_ROWS, rows))


def binary_block_rows(row_bytes: int) -> int:
    """Rows per block of the binary kernels: :func:`block_rows` rounded down to a multiple of 8.

    The loss loop over the block runs four (AVX2) or eight (AVX-512) rows per vector and
    finishes the rest one row at a time, each such row a scalar ``exp``, ``log1p`` and
    division chain; and the update takes four rows per load/store of the gradient. A multiple
    of 8 leaves neither a scalar tail nor single-row updates except in a chunk's last block on
    either (e.g. p = 80 float64: 24 rows, not 25; p = 100 float64: 16, not 20, which on
    AVX-512 left 4 of every 20 rows to the scalar tail: the loss stage measured 4.0–4.4
    against 6.9 ns a row, one thread, in cache).
    """
    rows = block_rows(row_bytes)
    return int(max(MIN_BLOCK_ROWS, rows - rows % 8))
