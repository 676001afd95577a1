"""What-if speed on the published plan of the demo: a SKU what-if (< 5 s) and a supplier what-if
(< 10 s), each timed from the snapshot to the comparison, as ``forecast what-if`` runs them.

Usage: python bench/whatif.py [--out data/out] [--sku SKU0010] [--supplier SUP06]
                              [--repeat 3]

``--out`` must hold a published run (``forecast demo`` writes the 200-SKU demo to ``data/out``);
without one the script says how to make it. Each scenario runs ``--repeat`` times and the
fastest and slowest wall times are printed with the CPU time of the fastest, then whether the
issue 14 targets hold. The zero-change check (every "after" equals "before") runs once per
scenario kind.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from forecast.config import DEFAULT_OUT_DIR
from forecast.scenarios.whatif import Scenario, what_if

TARGETS = {"sku": 5.0, "supplier": 10.0}


def timed(snapshot: Path, scenario: Scenario, repeat: int) -> tuple[float, float, float, int]:
    """(fastest wall, slowest wall, CPU of the fastest, series compared)."""
    walls, cpus, series = [], [], 0
    for _ in range(max(repeat, 1)):
        wall, cpu = time.perf_counter(), time.process_time()
        result = what_if(snapshot, scenario)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        series = len(result.comparison[["sku", "location"]].drop_duplicates())
    best = min(range(len(walls)), key=walls.__getitem__)
    return walls[best], max(walls), cpus[best], series


def unchanged(snapshot: Path, scenario: Scenario) -> bool:
    c = what_if(snapshot, scenario).comparison
    return bool(((c["before"] == c["after"]) | (c["before"].isna() & c["after"].isna())).all())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT_DIR)
    parser.add_argument("--sku", default="SKU0010")
    parser.add_argument("--supplier", default="SUP06")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    snapshot = args.out / "snapshot"
    if not snapshot.is_dir():
        raise SystemExit(f"{snapshot}: no published plan; run `forecast demo --out {args.out}`")
    scenarios = {
        "sku": (f"SKU what-if: {args.sku} demand +50%",
                Scenario(skus=[args.sku], demand_shock_pct=50.0),
                Scenario(skus=[args.sku], demand_shock_pct=0.0)),
        "supplier": (f"supplier what-if: {args.supplier} +10 days",
                     Scenario(skus=[], supplier=args.supplier, supplier_delay_days=10.0),
                     Scenario(skus=[], supplier=args.supplier, supplier_delay_days=0.0)),
    }
    for kind, (title, scenario, zero) in scenarios.items():
        fastest, slowest, cpu, series = timed(snapshot, scenario, args.repeat)
        target = TARGETS[kind]
        verdict = "met" if fastest < target else "MISSED"
        print(f"{title}: {series} series, {fastest:.2f} s wall (slowest {slowest:.2f} s, "
              f"CPU {cpu:.2f} s) -> target < {target:g} s {verdict}; zero change leaves the plan "
              f"as published: {unchanged(snapshot, zero)}")


if __name__ == "__main__":
    main()
