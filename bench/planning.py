"""Planning speed: policies, positions, recommendations and alerts for 10,000 SKUs.

Also times the vectorised inventory kernels alone on as many SKUs (a per-SKU Python loop with a
scalar root finder takes seconds): the fill-rate safety factor (target < 0.25 s) and the (r, Q)
fill-rate reorder point (target < 2 s); the unit tests check their answers, not their speed.

Synthetic inputs (deterministic, seed 0): a 28-day DemandForecast (weekly pattern, a campaign
on some SKUs, in the forecast and in the campaigns table, NB and Poisson dispersion, level error), products with gaps in lead times,
spreads and service levels, 40 suppliers, stock with unknown and negative records, open
purchase orders and customer orders. Target: under 5 s in total, forecast not counted.

    .venv/bin/python bench/planning.py [--skus 10000] [--policy sQ|sS|RS] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from datetime import date, timedelta

import numpy as np
import pandas as pd

from forecast.forecasting.distribution import DemandForecast
from forecast.planning import inventory as inv
from forecast.planning.policies import (
    PlanConfig,
    build_alerts,
    compute_policies,
    recommend_orders,
    stock_positions,
)

AS_OF = date(2026, 3, 1)
TARGET_SECONDS = 5.0
KERNEL_TARGETS = {"safety_factor_fill_rate": 0.25, "rq_fill_rate_reorder_point": 2.0}


def synthetic(n: int, horizon: int = 28, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    skus = np.array([f"SKU{i:06d}" for i in range(n)], dtype=object)
    keys = pd.DataFrame({"sku": skus, "location": rng.choice(["north", "south"], n)})
    rate = rng.lognormal(1.0, 1.2, n)
    week = 1 + 0.3 * np.sin(2 * np.pi * np.arange(horizon) / 7)
    mean = rate[:, None] * week[None, :]
    campaign = rng.random(n) < 0.1
    start = rng.integers(0, horizon - 7, n)
    days = np.arange(horizon)[None, :]
    in_campaign = campaign[:, None] & (days >= start[:, None]) & (days < start[:, None] + 5)
    mean = np.where(in_campaign, mean * 2.0, mean)
    first = pd.Timestamp(AS_OF + timedelta(days=1))
    campaigns = pd.DataFrame({"sku": skus[campaign], "category": "", "location": "", "kind": "promotion",
                              "start_date": first + pd.to_timedelta(start[campaign], unit="D"),
                              "end_date": first + pd.to_timedelta(start[campaign] + 4, unit="D")})
    mean[rng.random(n) < 0.03] = 0.0  # no demand at all
    fc = DemandForecast(
        keys=keys,
        dates=pd.date_range(AS_OF + timedelta(days=1), periods=horizon, freq="D"),
        mean=mean,
        size=np.where(rng.random(n) < 0.3, np.inf, rng.uniform(0.5, 20, n)),
        level_var=rng.uniform(0.0, 0.1, n),
        model=np.full(n, "bench", dtype=object),
    )
    history = rng.poisson(rate[:, None], size=(n, 365)).astype(float)

    suppliers = pd.DataFrame(
        {
            "supplier": [f"SUP{i:02d}" for i in range(40)],
            "lead_time_days": np.where(rng.random(40) < 0.2, np.nan, rng.integers(3, 45, 40)),
            "lead_time_sd_days": np.where(rng.random(40) < 0.3, np.nan, rng.uniform(0, 5, 40)),
            "order_cost": rng.uniform(10, 120, 40),
        }
    )

    def gaps(values: np.ndarray, share: float) -> np.ndarray:
        return np.where(rng.random(n) < share, np.nan, values)

    products = pd.DataFrame(
        {
            "sku": skus,
            "supplier": rng.choice(suppliers["supplier"], n),
            "lead_time_days": gaps(rng.integers(2, 60, n).astype(float), 0.4),
            "lead_time_sd_days": gaps(rng.uniform(0, 6, n), 0.5),
            "moq": gaps(rng.choice([6.0, 12.0, 24.0, 50.0, 100.0], n), 0.3),
            "pack_size": gaps(rng.choice([1.0, 6.0, 12.0, 24.0], n), 0.2),
            "unit_cost": rng.lognormal(1.5, 1.0, n),
            "service_level": gaps(rng.choice([0.9, 0.95, 0.97, 0.99], n), 0.8),
        }
    ).drop_duplicates("sku")

    on_hand = np.round(rate * rng.uniform(0, 40, n))
    negative = rng.random(n) < 0.01
    on_hand[negative] = -rng.integers(1, 20, int(negative.sum()))
    inventory = keys.assign(on_hand=on_hand)[rng.random(n) > 0.02]  # 2% without a stock record
    po_rows = rng.choice(n, n // 3)
    purchase_orders = keys.iloc[po_rows].assign(
        quantity=np.round(rate[po_rows] * rng.uniform(5, 30, len(po_rows))) + 1
    )
    co_rows = rng.choice(n, n // 2)
    customer_orders = keys.iloc[co_rows].assign(
        quantity=rng.integers(1, 10, len(co_rows)).astype(float)
    )
    return {
        "forecast": fc,
        "history": history,
        "campaigns": campaigns,
        "products": products,
        "suppliers": suppliers,
        "inventory": inventory,
        "purchase_orders": purchase_orders,
        "customer_orders": customer_orders,
    }


def run(data: dict, cfg: PlanConfig) -> tuple[dict[str, float], dict[str, int]]:
    fc = data["forecast"]
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    policies = compute_policies(fc, data["history"], data["products"], data["suppliers"], cfg,
                                campaigns=data["campaigns"])
    seconds["compute_policies"] = time.perf_counter() - start
    start = time.perf_counter()
    positions = stock_positions(
        fc.keys, data["inventory"], data["purchase_orders"], data["customer_orders"]
    )
    seconds["stock_positions"] = time.perf_counter() - start
    start = time.perf_counter()
    recs = recommend_orders(policies, positions, fc, AS_OF, cfg)
    seconds["recommend_orders"] = time.perf_counter() - start
    start = time.perf_counter()
    alerts = build_alerts(policies, positions, fc, AS_OF)
    seconds["build_alerts"] = time.perf_counter() - start
    seconds["total"] = sum(seconds.values())
    counts = {
        "policies": len(policies),
        "recommendations": len(recs),
        "urgent": int(recs["urgent"].sum()),
        "alerts": len(alerts),
        "campaign_uplift": int((policies["campaign_uplift_pct"] != 0).sum()),
        "seasonal_uplift": int((policies["seasonal_uplift_pct"] != 0).sum()),
    }
    return seconds, counts


def kernels(n: int, repeat: int, seed: int = 0) -> dict[str, float]:
    """Best-of-``repeat`` seconds of each inventory kernel on ``n`` random SKUs."""
    rng = np.random.default_rng(seed)
    beta, q, sd = rng.uniform(0.8, 0.999, n), rng.uniform(10, 2000, n), rng.uniform(5, 400, n)
    mean = rng.lognormal(1.5, 1.5, n)
    variance = mean * (1 + rng.uniform(0, 5, n)) + (0.1 * mean) ** 2
    calls = {"safety_factor_fill_rate": lambda: inv.safety_factor_fill_rate(beta, q, sd),
             "rq_fill_rate_reorder_point": lambda: inv.rq_fill_rate_reorder_point(
                 np.minimum(beta, 0.995), mean * 5, mean, variance)}
    out = {}
    for name, call in calls.items():
        call()  # warm up imports and caches
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        out[name] = min(times)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--policy", choices=["sQ", "sS", "RS"], default="sQ")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cfg = PlanConfig(policy=args.policy, review_period_days=7.0 if args.policy == "RS" else 0.0)
    data = synthetic(args.skus)
    runs = [run(data, cfg) for _ in range(args.repeat)]
    best = {name: min(r[0][name] for r in runs) for name in runs[0][0]}
    print(
        f"planning bench: {args.skus:,} SKUs, policy {cfg.policy}, 28-day forecast, "
        f"best of {args.repeat}"
    )
    for name, value in best.items():
        print(f"  {name:<18} {value:7.3f} s")
    print("  " + ", ".join(f"{k} {v:,}" for k, v in runs[0][1].items()))
    verdict = "OK" if best["total"] < TARGET_SECONDS else "TOO SLOW"
    print(f"  target < {TARGET_SECONDS:g} s: {verdict}")
    print(f"inventory kernels alone, {args.skus:,} SKUs, best of {args.repeat}")
    for name, value in kernels(args.skus, args.repeat).items():
        target = KERNEL_TARGETS[name]
        print(f"  {name:<27} {value:7.3f} s  (target < {target:g} s: {'OK' if value < target else 'TOO SLOW'})")


if __name__ == "__main__":
    main()
