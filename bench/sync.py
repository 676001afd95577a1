"""Intraday stock sync speed (issue 18): 100,000 movements over 10,000 SKU-locations, end to end
(read and validate, apply, alerts, allocation, publish), under 10 s and 2 GB; a sync with no new
movements under 2 s.

Usage: python bench/sync.py [--skus 5000] [--locations 2] [--movements 100000] [--work /tmp/bench-sync]

Setup (not timed): the demo generator writes ``--skus`` x ``--locations`` series with 180 days
of history, and the nightly pipeline plans them with a fast candidate set (seasonal naive, 20
simulation paths); then a movements file for the next day is written: sales of 1-3 units
spread over every series, one receipt per open purchase order naming its PO, counts on 1% of
the series and, after the first sync, no change. Each sync runs in a fresh process so its peak
resident memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd

TARGETS = {"sync": 10.0, "memory_gb": 2.0, "no_new": 2.0}

CHILD = """
import json, resource, sys, time
from forecast.config import RunSettings
from forecast.sync import run_sync
settings = RunSettings(data_dir=sys.argv[1], out_dir=sys.argv[2], n_paths=20)
start = time.perf_counter()
steps = []
result = run_sync(settings, progress=lambda s: steps.append((s, time.perf_counter() - start)))
print(json.dumps({"seconds": time.perf_counter() - start, "published": result.published,
                  "steps": steps,
                  "movements_new": result.movements_new, "raised": len(result.raised),
                  "closed": len(result.closed), "released": len(result.released),
                  "recommendations": len(result.recommendations), "changes": len(result.changes),
                  "rejected": sum(result.rejected.values()),
                  "max_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))
"""


def setup(work: Path, skus: int, locations: int) -> tuple[Path, Path]:
    from forecast.config import RunSettings
    from forecast.demo import generate_demo
    from forecast.pipeline import run_pipeline

    data, out = work / "data", work / "out"
    shutil.rmtree(work, ignore_errors=True)
    start = time.perf_counter()
    generate_demo(data, seed=3, n_skus=skus, n_locations=locations, days=180)
    (data / "stock_movements.csv").unlink()
    print(f"setup: demo data {skus} SKUs x {locations} locations in {time.perf_counter() - start:.0f} s",
          flush=True)
    start = time.perf_counter()
    settings = RunSettings(data_dir=data, out_dir=out, n_paths=20, models=("seasonal_naive",), folds=1)
    run_pipeline(settings)
    print(f"setup: nightly plan in {time.perf_counter() - start:.0f} s", flush=True)
    return data, out


def movements(data: Path, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` movements the day after the as-of date: receipts of every open PO (naming it),
    counts on 1% of the series, sales of 1-3 units for the rest, spread over the series."""
    rng = np.random.default_rng(seed)
    inventory = pd.read_csv(data / "inventory.csv")
    pos = pd.read_csv(data / "purchase_orders.csv")
    day = pd.Timestamp(inventory["as_of"].max()) + pd.Timedelta(days=1)
    receipts = pd.DataFrame({"sku": pos["sku"], "location": pos["location"], "kind": "receipt",
                             "quantity": pos["quantity"].astype(float), "reference": pos["po_id"]})
    counted = inventory.sample(frac=0.01, random_state=seed)
    counts = pd.DataFrame({"sku": counted["sku"], "location": counted["location"], "kind": "count",
                           "quantity": np.maximum(counted["on_hand"] - 1, 0).astype(float), "reference": "CNT"})
    n_sales = max(n - len(receipts) - len(counts), 0)
    rows = rng.integers(0, len(inventory), n_sales)
    sales = pd.DataFrame({"sku": inventory["sku"].to_numpy()[rows],
                          "location": inventory["location"].to_numpy()[rows], "kind": "sale",
                          "quantity": -rng.integers(1, 4, n_sales).astype(float), "reference": ""})
    frame = pd.concat([sales, receipts, counts], ignore_index=True)
    seconds = rng.integers(8 * 3600, 18 * 3600, len(frame))
    frame["moved_at"] = (day + pd.to_timedelta(np.sort(seconds), unit="s")).strftime("%Y-%m-%dT%H:%M:%S")
    frame.insert(0, "movement_id", [f"B{k:07d}" for k in range(len(frame))])
    return frame


def sync_once(data: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(data), str(out)], check=True,
                          capture_output=True, text=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=5000)
    parser.add_argument("--locations", type=int, default=2)
    parser.add_argument("--movements", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-sync"))
    parser.add_argument("--reuse", action="store_true",
                        help="start again from the plan an earlier run of this script left in --work")
    args = parser.parse_args()
    pristine = args.work / "planned"
    if args.reuse and pristine.is_dir():
        data, out = args.work / "data", args.work / "out"
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(pristine, out, symlinks=True)
    else:
        data, out = setup(args.work, args.skus, args.locations)
        shutil.copytree(out, pristine, symlinks=True)
    frame = movements(data, args.movements)
    frame.to_csv(data / "stock_movements.csv", index=False)
    print(f"movements: {len(frame):,} over {frame[['sku', 'location']].drop_duplicates().shape[0]:,} "
          f"series ({(frame['kind'] == 'receipt').sum()} receipts, {(frame['kind'] == 'count').sum()} counts)")
    first = sync_once(data, out)
    print(f"sync, {first['movements_new']:,} new movements: {first['seconds']:.2f} s, peak RSS "
          f"{first['max_rss_gb']:.2f} GB; {first['changes']:,} series changed, {first['raised']:,} alerts "
          f"raised, {first['released']:,} lines released, {first['recommendations']:,} recommendations "
          f"changed, {first['rejected']} rejected")
    marks = first["steps"] + [["done", first["seconds"]]]
    print("  stages: " + ", ".join(f"{name} {end - begin:.2f} s" for (name, begin), (_, end)
                                   in pairwise(marks)))
    again = sync_once(data, out)
    print(f"sync, no new movements: {again['seconds']:.2f} s (published: {again['published']}), "
          f"peak RSS {again['max_rss_gb']:.2f} GB")
    ok = (first["seconds"] < TARGETS["sync"], first["max_rss_gb"] < TARGETS["memory_gb"],
          again["seconds"] < TARGETS["no_new"])
    print(f"targets: sync < {TARGETS['sync']:g} s {'met' if ok[0] else 'MISSED'}; "
          f"memory < {TARGETS['memory_gb']:g} GB {'met' if ok[1] else 'MISSED'}; "
          f"no-new sync < {TARGETS['no_new']:g} s {'met' if ok[2] else 'MISSED'}")


if __name__ == "__main__":
    main()
