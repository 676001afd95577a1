"""The whole nightly pipeline at scale: ingest, forecast, plan, simulate, publish, report.

    python bench/pipeline.py --skus 10000 --days 730 [--paths 500] [--keep DIR]

Generates demo-like data (SKU-locations = --skus, two locations) with the demo generator, then
runs the pipeline once and prints each step's wall time and the peak memory of the process.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import Stages

from forecast.config import RunSettings
from forecast.demo import generate_demo
from forecast.pipeline import run_pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skus", type=int, default=10_000, help="SKU-locations (series)")
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--paths", type=int, default=500)
    parser.add_argument("--keep", type=Path, default=None, help="keep data and outputs here")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    data, out = root / "data", root / "out"
    stages = Stages()
    with stages.stage("generate data (not timed)"):
        info = generate_demo(data, seed=1, n_skus=max(args.skus // 2, 10), n_locations=2, days=args.days)
    print(f"data: {info['sales']:,} sales rows in {data}")
    settings = RunSettings(data_dir=data, out_dir=out, n_paths=args.paths)
    start = time.perf_counter()
    with stages.stage("nightly pipeline"):
        summary = run_pipeline(settings, progress=lambda step: print(f"    step {step}", flush=True))
    wall = time.perf_counter() - start
    for step, seconds in summary.seconds.items():
        print(f"  {step:<10} {seconds:7.1f} s")
    print(f"pipeline wall time {wall:.1f} s (target < 300 s); outputs in {out}")
    stages.report("bench")


if __name__ == "__main__":
    main()
