"""Write ``sales.parquet``, the README's Dask example: four Parquet files of 50,000 rows.

Columns: ``price`` (log-normal), ``visits`` (Poisson, 2 % missing), ``region`` (text, four
values) and ``bought`` ("yes"/"no", sampled from a logistic model of the other three, so the
classes overlap). Seeded: the same files on every machine.

    python docs/examples/make_sales.py [OUT_DIR]      # default ./sales.parquet
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd


def main(out="sales.parquet", files=4, rows=50_000, seed=2026):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    regions = np.array(["north", "south", "east", "west"])
    effect = {"north": 0.4, "south": -0.3, "east": 0.1, "west": 0.0}
    for i in range(files):
        price = rng.lognormal(3.0, 0.5, rows)
        visits = rng.poisson(4.0, rows).astype(float)
        region = regions[rng.integers(0, 4, rows)]
        z = 1.2 - 0.04 * price + 0.25 * visits + np.vectorize(effect.get)(region)
        bought = np.where(rng.random(rows) < 1 / (1 + np.exp(-z)), "yes", "no")
        visits[rng.random(rows) < 0.02] = np.nan
        frame = pd.DataFrame({"price": price.round(2), "visits": visits, "region": region,
                              "bought": bought})
        frame.to_parquet(out / f"part-{i}.parquet", index=False)
    print(f"wrote {files} files of {rows} rows to {out}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
