"""The forecast step over a local Dask cluster against one worker and against no cluster.

    python bench/dask_scale.py [--series 10000] [--days 730] [--chunk-size 1000] [--workers 1,2]

Synthetic series as in ``bench/scale.py``. The per-series models run by chunks of series on
the cluster's worker processes (one thread each) through ``client.map``, the global model in
this process (its two fits side by side, as in every run); the choice and the calibration see
every series. Prints the wall time per setting and whether each cluster's forecast equals the
local, unchunked one exactly (mean, size, level variance, labels).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import synthetic

from forecast.forecasting.engine import EngineConfig, forecast_panel
from forecast.forecasting.features import build_covariates


def _run(fn, args):
    return fn(*args)


def dask_mapper(client):
    """A mapper for :func:`forecast_panel`: each chunk's job on the cluster, results in order.
    Each chunk's data (its series and covariates) is scattered to the cluster first, so the task
    graph holds references only (embedding them made a 113 MiB graph at 10,000 series, which
    Dask warned about)."""

    def mapper(fn, items):
        chunks = client.scatter(list(items))
        futures = client.map(_run, [fn] * len(chunks), chunks, pure=False)
        return client.gather(futures)

    return mapper


def same(a, b) -> bool:
    fa, fb = a.forecast, b.forecast
    return (np.array_equal(fa.mean, fb.mean) and np.array_equal(fa.size, fb.size)
            and np.array_equal(fa.level_var, fb.level_var) and list(fa.model) == list(fb.model))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--chunk-size", type=int, default=1_000)
    parser.add_argument("--workers", default="1,2", help="cluster sizes to time (worker processes)")
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    panel, products, campaigns = synthetic(args.series, args.days, args.horizon)
    cov = build_covariates(panel.keys, panel.dates, args.horizon, panel.freq,
                           campaigns=campaigns, products=products, price=panel.price)
    cfg = EngineConfig()
    print(f"{args.series:,} series x {args.days} days, chunks of {args.chunk_size}")
    start = time.perf_counter()
    local = forecast_panel(panel, args.horizon, cfg, cov)
    print(f"local, no chunks: {time.perf_counter() - start:.1f} s")
    for workers in (int(w) for w in args.workers.split(",")):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            client.run(lambda: __import__("forecast.forecasting.engine"))  # warm the imports
            start = time.perf_counter()
            result = forecast_panel(panel, args.horizon, cfg, cov, chunk_size=args.chunk_size,
                                    mapper=dask_mapper(client))
            seconds = time.perf_counter() - start
        print(f"dask, {workers} worker(s): {seconds:.1f} s; equals the local forecast: {same(result, local)}",
              flush=True)


if __name__ == "__main__":
    main()
