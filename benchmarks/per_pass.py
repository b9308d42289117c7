"""Per-pass speed on the suite's problems: one ``loss_gradient`` at the fitted optimum against a
plain two-thread read of X — the "read/kernel" column of the headline table, without the peers.

Usage (from the project root; take figures with nothing else running)::

    NUMBA_NUM_THREADS=2 .venv/bin/python benchmarks/per_pass.py [--only S3,S4,S12,S10] [--quick]

Each problem is built as ``run.py`` builds it, fitted by softlogit (``auto``, tol 1e-8), and
then timed at that optimum with ``run.bandwidth`` (medians of ``timing.median_time``).
Targets (issue 8): ≥ 0.8 for binary dense float64 and float32, ≥ 0.6 for softmax with K ≤ 10.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import peers  # noqa: E402
import problems  # noqa: E402
import run  # noqa: E402

DENSE = ["S1", "S2", "S3", "S4", "S5", "S6", "S7", "S10", "S12"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(DENSE), help="comma-separated suite problems")
    ap.add_argument("--quick", action="store_true", help="the suite's m/50 sizes")
    args = ap.parse_args(argv)
    print(f"{'problem':8} {'read ms':>8} {'kernel ms':>10} {'read/kernel':>12} {'GB/s read':>10}")
    for name in args.only.split(","):
        P = problems.make(name.strip(), quick=args.quick)
        W, b, _ = peers.softlogit_estimator(P, 1e-8, "auto")
        obj = peers.build_objective(P)
        bw = run.bandwidth(P, obj, obj.pack(W, b))
        if bw is None:
            print(f"{name:8} (not dense C-contiguous)")
            continue
        print(f"{name:8} {bw['t_read'] * 1e3:8.2f} {bw['t_lg'] * 1e3:10.2f} "
              f"{bw['fraction']:12.2f} {bw['gbs_read']:10.1f}", flush=True)


if __name__ == "__main__":
    main()
