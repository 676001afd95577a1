"""Monte Carlo of stock, replenishment and backorders over a horizon.

For a chunk of series at a time, ``n_paths`` demand paths are drawn from the forecast
distribution; each path starts from the net stock (on hand minus open customer orders), receives
the open purchase orders on their dates, and follows the SKU's policy: under (s,Q) whenever the
inventory position is at or below s it orders the smallest multiple of Q that lifts it above s;
under (R,S) it orders up to S every R days. Lead times are drawn from a gamma distribution with
the SKU's mean and standard deviation (rounded to whole periods, at least one). Demand that
cannot be served from stock is backordered and served first when stock arrives.

Per series it reports the probability of at least one stockout in the horizon, the expected fill
rate (units served from stock / units demanded), expected backordered units, expected periods
out of stock (end-of-period net stock <= 0), the median and 10th percentile of the first
stockout date, and the 10/50/90% band of net stock per period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from forecast.distribution import DemandForecast


@dataclass(frozen=True)
class SimulationConfig:
    horizon_days: int = 90
    n_paths: int = 500
    seed: int = 0
    chunk_size: int = 256  # series per chunk: memory ~ chunk x paths x (horizon + lead time)


@dataclass
class SimulationResult:
    risk: pd.DataFrame
    bands: pd.DataFrame


def simulate(
    forecast: DemandForecast,
    policies: pd.DataFrame,
    positions: pd.DataFrame,
    purchase_orders: pd.DataFrame,
    as_of: date,
    cfg: SimulationConfig,
    period_days: float = 1.0,
) -> SimulationResult:
    """Simulate every series; rows align with ``forecast.keys``."""
    keys = forecast.keys[["sku", "location"]]
    plan = keys.merge(policies, on=["sku", "location"], how="left").merge(
        positions[["sku", "location", "on_hand", "committed"]], on=["sku", "location"], how="left"
    )
    horizon = max(int(np.ceil(cfg.horizon_days / period_days)), 1)
    lead = plan["lead_time_days"].to_numpy(dtype=float) / period_days
    lead_sd = plan["lead_time_sd_days"].to_numpy(dtype=float) / period_days
    max_lead = int(np.ceil(np.nanmax(lead + 4 * lead_sd, initial=1))) + 1
    receipts = _scheduled_receipts(keys, purchase_orders, as_of, horizon + max_lead, period_days)

    n = len(keys)
    out = {k: np.full(n, np.nan) for k in ("p_out", "fill", "backorders", "days_out", "first50", "first10")}
    band = np.full((n, horizon, 3), np.nan)
    root = np.random.SeedSequence(cfg.seed)
    chunk_seeds = root.spawn(int(np.ceil(n / cfg.chunk_size)) or 1)
    for c, start in enumerate(range(0, n, cfg.chunk_size)):
        idx = np.arange(start, min(start + cfg.chunk_size, n))
        rng = np.random.default_rng(chunk_seeds[c])
        sub = DemandForecast(
            keys=forecast.keys.iloc[idx], dates=forecast.dates, mean=forecast.mean[idx],
            size=forecast.size[idx], level_var=forecast.level_var[idx], model=forecast.model[idx],
        )
        demand = sub.sample_paths(cfg.n_paths, rng, horizon)
        res = _run_chunk(
            demand,
            net0=(plan["on_hand"].to_numpy(dtype=float) - plan["committed"].fillna(0).to_numpy(dtype=float))[idx],
            receipts=receipts[idx],
            s=plan["reorder_point"].to_numpy(dtype=float)[idx],
            q=plan["order_quantity"].to_numpy(dtype=float)[idx],
            big_s=plan["max_level"].to_numpy(dtype=float)[idx],
            review=max(round(float(plan["review_period_days"].fillna(0).max()) / period_days), 0),
            lead=lead[idx],
            lead_sd=lead_sd[idx],
            rng=rng,
        )
        for k, v in res.items():
            if k == "band":
                band[idx] = v
            else:
                out[k][idx] = v

    day = lambda d: [
        None if not np.isfinite(x) else pd.Timestamp(as_of) + pd.Timedelta(days=float(x) * period_days)
        for x in d
    ]
    risk = pd.DataFrame(
        {
            "sku": keys["sku"].to_numpy(),
            "location": keys["location"].to_numpy(),
            "stockout_probability": out["p_out"],
            "fill_rate": out["fill"],
            "expected_backorders": out["backorders"],
            "expected_days_out": out["days_out"] * period_days,
            "first_stockout_p50": day(out["first50"]),
            "first_stockout_p10": day(out["first10"]),
            "horizon_days": cfg.horizon_days,
            "paths": cfg.n_paths,
        }
    )
    for col in ("first_stockout_p50", "first_stockout_p10"):
        risk[col] = pd.to_datetime(risk[col]).dt.date
    dates = pd.date_range(pd.Timestamp(as_of), periods=horizon + 1, freq=f"{period_days:g}D")[1:]
    bands = pd.DataFrame(
        {
            "sku": np.repeat(keys["sku"].to_numpy(), horizon),
            "location": np.repeat(keys["location"].to_numpy(), horizon),
            "date": np.tile(dates.date, n),
            "stock_p10": band[:, :, 0].ravel(),
            "stock_p50": band[:, :, 1].ravel(),
            "stock_p90": band[:, :, 2].ravel(),
        }
    )
    return SimulationResult(risk=risk, bands=bands.dropna(subset=["stock_p50"]))


def _scheduled_receipts(
    keys: pd.DataFrame, purchase_orders: pd.DataFrame, as_of: date, length: int, period_days: float
) -> np.ndarray:
    """(n, length) open purchase-order quantities by arrival period (overdue ones arrive at once)."""
    receipts = np.zeros((len(keys), length))
    if purchase_orders.empty:
        return receipts
    index = pd.MultiIndex.from_frame(keys[["sku", "location"]])
    row = index.get_indexer(pd.MultiIndex.from_frame(purchase_orders[["sku", "location"]]))
    offset = (pd.to_datetime(purchase_orders["expected_date"]) - pd.Timestamp(as_of)).dt.days
    col = np.clip(np.ceil(offset.to_numpy(dtype=float) / period_days) - 1, 0, length - 1).astype(int)
    ok = row >= 0
    np.add.at(receipts, (row[ok], col[ok]), purchase_orders["quantity"].to_numpy(dtype=float)[ok])
    return receipts


def _run_chunk(
    demand: np.ndarray,
    *,
    net0: np.ndarray,
    receipts: np.ndarray,
    s: np.ndarray,
    q: np.ndarray,
    big_s: np.ndarray,
    review: int,
    lead: np.ndarray,
    lead_sd: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """The inventory recursion for one chunk: demand (c, P, H) -> per-series statistics."""
    c, p, h = demand.shape
    known = np.isfinite(net0)
    net = np.broadcast_to(np.nan_to_num(net0)[:, None], (c, p)).copy()
    arrivals = np.broadcast_to(receipts[:, None, :], (c, p, receipts.shape[1])).copy()
    pipeline = arrivals.sum(axis=2)
    s2, q2, big2 = (np.nan_to_num(a)[:, None] for a in (s, q, big_s))
    active = (q2 > 0) | (big2 > 0)
    shape = np.where(lead_sd > 0, (lead / np.maximum(lead_sd, 1e-9)) ** 2, np.inf)[:, None]
    scale = np.where(lead_sd > 0, lead_sd**2 / np.maximum(lead, 1e-9), 0.0)[:, None]
    fixed_lead = np.maximum(np.round(np.nan_to_num(lead)), 1)[:, None]
    l_max = arrivals.shape[2] - 1

    demanded = np.zeros((c, p))
    served = np.zeros((c, p))
    short = np.zeros((c, p))
    days_out = np.zeros((c, p))
    first_out = np.full((c, p), np.inf)
    band = np.empty((c, h, 3))
    for t in range(h):
        arrived = arrivals[:, :, t]
        net += arrived
        pipeline -= arrived
        d = demand[:, :, t]
        available = np.maximum(net, 0.0)
        got = np.minimum(d, available)
        net -= d
        demanded += d
        served += got
        missing = d - got
        short += missing
        first_out = np.where((missing > 0) & ~np.isfinite(first_out), t, first_out)
        days_out += net <= 0
        band[:, t, :] = np.percentile(net, [10, 50, 90], axis=1).T
        # Replenishment decision at the end of the period.
        position = net + pipeline
        if review > 0:
            order = np.where((t % review == 0) & active, np.maximum(big2 - position, 0.0), 0.0)
        else:
            k = np.floor(np.divide(s2 - position, q2, out=np.zeros_like(position), where=q2 > 0)) + 1
            order = np.where((position <= s2) & active & (q2 > 0), k * q2, 0.0)
        placed = order > 0
        if placed.any():
            draw = np.where(
                np.isfinite(shape), rng.gamma(np.where(np.isfinite(shape), shape, 1.0), scale, size=(c, p)), fixed_lead
            )
            lt = np.clip(np.round(draw), 1, l_max - t if l_max > t else 1).astype(int)
            ci, pi = np.nonzero(placed)
            target = np.minimum(t + lt[ci, pi], arrivals.shape[2] - 1)
            np.add.at(arrivals, (ci, pi, target), order[ci, pi])
            pipeline += order

    with np.errstate(invalid="ignore", divide="ignore"):
        fill = np.where(demanded.sum(axis=1) > 0, served.sum(axis=1) / demanded.sum(axis=1), 1.0)
    # Paths without a stockout count as "after the horizon" (h + 1) for the quantiles.
    first = np.where(np.isfinite(first_out), first_out + 1, h + 1)
    first50 = np.quantile(first, 0.5, axis=1, method="lower")
    first10 = np.quantile(first, 0.1, axis=1, method="lower")
    result = {
        "p_out": (short > 0).mean(axis=1),
        "fill": fill,
        "backorders": short.mean(axis=1),
        "days_out": days_out.mean(axis=1),
        "first50": np.where(first50 <= h, first50, np.nan),
        "first10": np.where(first10 <= h, first10, np.nan),
        "band": band,
    }
    for k, value in result.items():
        if k == "band":
            value[~known] = np.nan
        else:
            result[k] = np.where(known, value, np.nan)
    return result
