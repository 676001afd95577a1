"""Time the backorder Monte Carlo (forecast.backorders.simulation.simulate) on synthetic SKUs.

Usage: python bench/simulation.py [--skus 10000] [--paths 1000] [--days 90] [--workers 2]
                                  [--chunk 128] [--seed 0]

Target (issue 5): 10,000 SKUs x 1,000 paths x 90 days in under 30 s and under 4 GB here.
Prints the wall time of ``simulate`` (data set-up excluded), the peak resident memory of this
process and of the largest worker process (``resource.getrusage`` ru_maxrss), and a few sanity
figures. Data: daily means log-normal around 1.5 units (a long tail up to ~100), weekly
seasonality, 30% Poisson and 70% negative-binomial series, level error 0.01-0.1, lead times
3-21 days with a 25% coefficient of variation, 80% (s,Q) and 20% (R,S) weekly review policies,
30% of SKUs with an open purchase order; the same seed gives the same data.
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import date

import numpy as np
import pandas as pd

from forecast.backorders.simulation import SimulationConfig, simulate
from forecast.forecasting.distribution import DemandForecast


def synthetic(n: int, days: int, seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    keys = pd.DataFrame({"sku": [f"SKU{i:05d}" for i in range(n)], "location": "DC1"})
    base = np.minimum(rng.lognormal(np.log(1.5), 1.0, n), 100.0)
    week = 1 + 0.3 * np.sin(2 * np.pi * (np.arange(days) % 7) / 7)
    mean = base[:, None] * week[None, :]
    size = np.where(rng.random(n) < 0.3, np.inf, rng.uniform(0.5, 5.0, n))
    level_var = rng.uniform(0.01, 0.1, n)
    as_of = date(2026, 11, 1)
    fc = DemandForecast(
        keys=keys, dates=pd.date_range("2026-11-02", periods=days, freq="D"), mean=mean,
        size=size, level_var=level_var, model=np.full(n, "bench", dtype=object),
    )
    lead = rng.integers(3, 22, n).astype(float)
    var = base + np.where(np.isfinite(size), base**2 / np.where(np.isfinite(size), size, 1), 0)
    sd_ltd = np.sqrt(var * lead + base**2 * level_var * lead**2 + (base * 0.25 * lead) ** 2)
    periodic = rng.random(n) < 0.2
    q = np.maximum(np.round(base * 14), 1)
    s = np.round(base * lead + 1.5 * sd_ltd)
    s_rs = np.round(base * (lead + 7) + 1.5 * sd_ltd * np.sqrt((lead + 7) / lead))
    policies = keys.assign(
        policy=np.where(periodic, "RS", "sQ"),
        reorder_point=np.where(periodic, s_rs, s),
        order_quantity=q,
        max_level=np.where(periodic, s_rs, s + q),
        review_period_days=np.where(periodic, 7.0, 0.0),
        lead_time_days=lead,
        lead_time_sd_days=0.25 * lead,
    )
    positions = keys.assign(on_hand=np.round(s + q / 2), committed=np.round(rng.poisson(base)))
    with_po = np.flatnonzero(rng.random(n) < 0.3)
    purchase_orders = pd.DataFrame(
        {
            "sku": keys["sku"].to_numpy()[with_po],
            "location": "DC1",
            "quantity": q[with_po],
            "expected_date": pd.Timestamp(as_of)
            + pd.to_timedelta(rng.integers(1, 11, with_po.size), unit="D"),
        }
    )
    return fc, policies, positions, purchase_orders, as_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--paths", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    fc, policies, positions, purchase_orders, as_of = synthetic(args.skus, args.days, args.seed)
    cfg = SimulationConfig(horizon_days=args.days, n_paths=args.paths, seed=args.seed,
                           chunk_size=args.chunk, workers=args.workers)
    start = time.perf_counter()
    cpu = time.process_time()
    result = simulate(fc, policies, positions, purchase_orders, as_of, cfg)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    cells = args.skus * args.paths * args.days
    print(f"simulate: {args.skus:,} SKUs x {args.paths:,} paths x {args.days} days "
          f"= {cells / 1e9:.2f}e9 cells, workers={args.workers}, chunk={args.chunk}")
    print(f"wall time            {wall:8.1f} s   ({cells / wall / 1e6:.0f} M cells/s)")
    print(f"cpu, main process    {cpu:8.1f} s;  cpu, workers {child.ru_utime + child.ru_stime:.1f} s")
    print(f"peak RSS main        {own:8.0f} MB")
    print(f"peak RSS worker      {child.ru_maxrss / 1024:8.0f} MB (largest single worker)")
    print(f"peak RSS upper bound {own + max(args.workers, 1) * child.ru_maxrss / 1024:8.0f} MB "
          "(main + workers x largest)")
    risk = result.risk
    print(f"mean fill rate {risk['fill_rate'].mean():.4f}, mean P(stockout) "
          f"{risk['stockout_probability'].mean():.3f}, band rows {len(result.bands):,}")


if __name__ == "__main__":
    main()
