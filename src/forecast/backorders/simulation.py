"""Monte Carlo of stock, replenishment and backorders over a horizon.

For a chunk of series at a time, ``n_paths`` demand paths are drawn from the forecast
distribution; each path starts from the net stock (on hand minus open customer orders), receives
the open purchase orders on their dates, and follows the SKU's policy: under (s,Q) whenever the
inventory position is at or below s it orders the smallest multiple of Q that lifts it above s;
under (s,S) it orders up to S when the position is at or below s; under (R,S) it orders up to S
every R days. Lead times are drawn from a gamma distribution with the SKU's mean and standard
deviation (rounded to whole periods, at least one), or, for SKUs whose supplier's receipts are
given, resampled from the observed lead times (:func:`empirical_lead_time_pmf`). Demand that cannot be served from stock is
backordered and served first when stock arrives.

Per series it reports the probability of at least one stockout in the horizon, the expected fill
rate (units served from stock / units demanded) next to the fill rate the plan promised
(``planned_fill_rate``, ``fill_rate_gap`` = simulated - planned), expected backordered units
(the expected units short over the horizon), expected periods out of stock (end-of-period net
stock <= 0), the median and 10th percentile of the first stockout date, the 10/50/90% band of
net stock per period, and what no order placed now can change: the next receipt
(``next_receipt_date``: the first open purchase order, or the earliest day an order placed today
can arrive, the median lead time away, whichever comes first), the probability of running out
before it (``stockout_before_receipt_probability``) and the expected units short until then
(``units_short_before_receipt``). A series is ``at_risk`` when its simulated fill rate falls more
than :data:`forecast.backorders.risk.AT_RISK_FILL_GAP` under the planned one, or it more likely than not runs out before
the next receipt (``AT_RISK_BEFORE_RECEIPT``); ``at_risk_reason`` says which. A stockout
probability alone is no risk measure for a fill-rate target: a plan whose order quantity covers
weeks may run out on most paths for a day or two and still serve 95% of the demand. With ``warmup_days`` it also
reports long-run time averages after the warm-up (``SimulationResult.averages``), which is what
the textbook formulas of :mod:`forecast.planning.inventory` describe.

Timing convention, one period t (a day for daily data):
  1. receipts due in t arrive (start of the period);
  2. the period's demand is served from stock, the rest is backordered;
  3. the policy looks at the inventory position (net stock + on order) and orders (end of t);
     an order with a lead time of L periods arrives at the start of period t + L.
So the net stock at the end of period t + L is IP_t - D(t+1 .. t+L): the lead-time demand
covers L periods, as in the continuous-review formulas with lead time L (``rq_poisson_*``,
``base_stock_poisson_performance``), and end-of-period averages match them exactly. Demand
arrives as a stream inside a period, so a unit demanded at fraction u of the period sees L - 1 + u
periods of lead-time demand: the unit fill rate equals the continuous formula averaged over
lead times in [L - 1, L] (tests/test_simulation.py). In the periodic-review textbook
convention (order at the start of a period, Snyder & Shen Ch. 4) our lead time L is their L - 1.
Under (R,S) the order placed at a review covers L + R - 1 periods (until the next order
arrives); planning's protection interval L + R is one period on the safe side.

Random numbers, chosen so that results do not depend on the chunk size, the number of worker
processes or which other series are in the run (a what-if on one SKU reuses its random numbers):
each series draws from its own stream, seeded by ``SeedSequence`` from the seed and a hash of
its sku and location. Demand is drawn exactly from the model of
:class:`forecast.forecasting.distribution.DemandForecast` (NB(mean m_t G, size k), G ~ Gamma(1/v, v)) by
inverse transform from one float32 uniform per cell (a vectorised CDF search, a few passes for
the small means of most SKUs), and by numpy's gamma-Poisson sampler for cells whose mean exceeds
``_BIG_MEAN``. Lead times use a counter-based hash (SplitMix64) of (series, period, path), so
only placed orders cost anything.

Speed (bench/simulation.py, 10,000 SKUs x 1,000 paths x 90 days): about 45 ns of CPU per
(series, path, period) cell here, half of it the demand draws (numpy's own gamma + Poisson took
130 ns), the rest the daily recursion on (chunk, paths) float64 arrays, one in-place sort per
chunk for the bands, and the statistics; chunks run in ``workers`` processes, each reusing its
large arrays (first-touch page faults cost as much as the arithmetic).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from scipy import special

from forecast.backorders.risk import (
    next_receipt_period,
    risk_measures,
)
from forecast.forecasting.distribution import DemandForecast
from forecast.forecasting.series import to_long

_K_MAX = 1e6  # NB size at or above this is Poisson (as in forecast.forecasting.distribution)
_MIN_LEVEL_VAR = 1e-9  # a level variance below this is no level error (G = 1)
_BIG_MEAN = 20.0  # cells with a larger mean use numpy's gamma-Poisson sampler
_TAIL_SWITCH = 512  # survivors below this: search the tail 16 values per step (measured)
_TAIL_WIDTH = 16
_COMPACT_BELOW = 0.25  # drop finished elements when fewer than this share is left (measured)
_SHORT_EPS = 1e-6  # a shortfall below this is floating-point residue, not a stockout
_LEAD_TAIL = 1e-7  # lead-time tail probability beyond the largest simulated lead time
_LEAD_GUIDE = 64  # buckets of the lead-time guide table
_AUTO_PARALLEL_CELLS = 20_000_000  # workers=0: use processes from this many cells on
POLICY_KINDS = {"sQ": 0, "sS": 1, "RS": 2}


@dataclass(frozen=True)
class SimulationConfig:
    horizon_days: int = 90
    n_paths: int = 500
    seed: int = 0
    chunk_size: int = 128  # series per chunk: memory ~ chunk x paths x horizon x 10 bytes
    workers: int = 0  # processes; 0 = one per CPU for large jobs, 1 = in this process
    warmup_days: int = 0  # periods left out of the time averages (steady-state comparisons)


@dataclass
class SimulationResult:
    risk: pd.DataFrame
    bands: pd.DataFrame
    #: Per series, over the periods after the warm-up: fill_rate, average_on_hand,
    #: average_backorders (end-of-period, per period), no_backorder_share (periods ending with
    #: net stock >= 0) and orders_per_period.
    averages: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass
class _Chunk:
    """Inputs of one chunk of series, all numpy (picklable for the worker processes)."""

    mean: np.ndarray  # (c, h) demand mean per period
    size: np.ndarray  # (c,) NB size (inf = Poisson)
    level_var: np.ndarray  # (c,)
    keys: np.ndarray  # (c,) uint64 random-stream key per series
    net0: np.ndarray  # (c,)
    receipts: np.ndarray  # (c, h) open purchase orders by arrival period
    on_order_later: np.ndarray  # (c,) open purchase orders arriving after the horizon
    kind: np.ndarray  # (c,) 0 sQ, 1 sS, 2 RS
    s: np.ndarray
    q: np.ndarray
    big_s: np.ndarray
    review: np.ndarray  # (c,) review period in periods (RS)
    lead_cdf: np.ndarray  # (c, Lmax) P(lead <= j), j = 1..Lmax
    next_receipt: np.ndarray  # (c,) period the next receipt arrives at the start of
    n_paths: int
    warmup: int


def simulate(
    forecast: DemandForecast,
    policies: pd.DataFrame,
    positions: pd.DataFrame,
    purchase_orders: pd.DataFrame,
    as_of: date,
    cfg: SimulationConfig,
    period_days: float = 1.0,
    lead_time_samples: pd.DataFrame | None = None,
) -> SimulationResult:
    """Simulate every series; rows align with ``forecast.keys``.

    ``policies``: sku, location, reorder_point, order_quantity, max_level, lead_time_days,
    lead_time_sd_days, review_period_days and optionally policy (sQ | sS | RS; without it a
    positive review period means RS). ``positions``: sku, location, on_hand, committed.
    ``lead_time_samples`` (sku, lead_time_days, count; from received purchase orders, see
    :func:`forecast.planning.suppliers.estimate_lead_times`): the SKUs listed draw each order's lead
    time from these observations (:func:`empirical_lead_time_pmf`) instead of the gamma.
    """
    keys = forecast.keys[["sku", "location"]].reset_index(drop=True)
    n = len(keys)
    horizon = max(int(np.ceil(cfg.horizon_days / period_days)), 1)
    warmup = min(max(round(cfg.warmup_days / period_days), 0), horizon - 1)
    plan = _plan_arrays(keys, policies, positions, period_days)
    receipts = _scheduled_receipts(keys, purchase_orders, as_of, horizon, period_days)
    later = _on_order_beyond(keys, purchase_orders, as_of, horizon, period_days)
    mean = np.nan_to_num(np.asarray(forecast._extend(horizon), dtype=float))
    size = np.where(np.asarray(forecast.size, dtype=float) >= _K_MAX, np.inf, forecast.size)
    level_var = np.nan_to_num(np.asarray(forecast.level_var, dtype=float))
    stream_keys = series_keys(keys, cfg.seed)

    known = np.flatnonzero(np.isfinite(plan["net0"]))
    lead_cap = _lead_caps(plan["lead"], plan["lead_sd"])  # per series: no series affects another
    observed, lead_pmf = empirical_lead_time_pmf(keys, lead_time_samples, period_days)
    if observed.any():  # the longest lead time seen is the cap of a series with receipts
        longest = lead_pmf.shape[1] - 1 - np.argmax(lead_pmf[:, ::-1] > 0, axis=1)
        lead_cap = np.where(observed, longest, lead_cap)
    chunks = []
    for start in range(0, len(known), max(cfg.chunk_size, 1)):
        idx = known[start : start + cfg.chunk_size]
        chunks.append(
            _Chunk(
                mean=mean[idx], size=size[idx], level_var=level_var[idx], keys=stream_keys[idx],
                net0=plan["net0"][idx], receipts=receipts[idx], on_order_later=later[idx],
                kind=plan["kind"][idx],
                s=plan["s"][idx], q=plan["q"][idx], big_s=plan["big_s"][idx],
                review=plan["review"][idx],
                lead_cdf=(cdf := _chunk_lead_cdf(plan, idx, lead_cap, observed, lead_pmf)),
                next_receipt=next_receipt_period(receipts[idx], cdf),
                n_paths=cfg.n_paths, warmup=warmup,
            )
        )
    workers = cfg.workers
    if workers <= 0:
        big_job = len(known) * cfg.n_paths * horizon >= _AUTO_PARALLEL_CELLS
        workers = _cpu_count() if big_job else 1
    results = _run_chunks(chunks, workers)

    stats = {k: np.full(n, np.nan) for k in _STAT_NAMES}
    band = np.full((n, horizon, 3), np.nan)
    start = 0
    for res in results:
        idx = known[start : start + len(res["p_out"])]
        start += len(idx)
        band[idx] = res.pop("band")
        for k, v in res.items():
            stats[k][idx] = v
    planned = keys.merge(policies.reindex(columns=["sku", "location", "planned_fill_rate"]),
                         on=["sku", "location"], how="left")["planned_fill_rate"]
    stats["planned"] = planned.to_numpy(dtype=float)
    return _frames(keys, stats, band, as_of, cfg, period_days, horizon, warmup)


_STAT_NAMES = (
    "p_out", "fill", "backorders", "days_out", "first50", "first10",
    "fill_warm", "on_hand_avg", "backorders_avg", "no_backorder_share", "orders_per_period",
    "p_before", "short_before", "next_receipt",
)



def series_keys(keys: pd.DataFrame, seed: int) -> np.ndarray:
    """A 64-bit random-stream key per series from the seed and its sku and location names.

    >>> int(series_keys(pd.DataFrame({"sku": ["A"], "location": ["X"]}), 0)[0]) > 0
    True
    """
    out = np.empty(len(keys), dtype=np.uint64)
    pairs = zip(keys["sku"].astype(str), keys["location"].astype(str), strict=True)
    for i, (sku, location) in enumerate(pairs):
        text = f"{int(seed)}\x1f{sku}\x1f{location}".encode()
        out[i] = int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")
    return out


def lead_time_pmf(
    mean: np.ndarray, sd: np.ndarray, max_periods: int, cap: np.ndarray | None = None
) -> np.ndarray:
    """P(lead time = j periods), j = 0..max_periods, per series: (n, max_periods + 1).

    Lead time = round(X), X ~ Gamma(mean, sd) (shape (mean/sd)^2, scale sd^2/mean), at least one
    period and at most ``max_periods`` or the series' ``cap`` (the tail beyond is put on the
    last value); sd = 0 (or NaN) gives a fixed max(round(mean), 1). Column 0 is always 0.

    >>> lead_time_pmf(np.array([3.0]), np.array([0.0]), 5).round(3).tolist()
    [[0.0, 0.0, 0.0, 1.0, 0.0, 0.0]]
    """
    cdf = lead_time_cdf(mean, sd, max_periods, cap)
    pmf = np.diff(np.concatenate([np.zeros((len(cdf), 1)), cdf], axis=1), axis=1)
    return np.concatenate([np.zeros((len(cdf), 1)), pmf], axis=1)


def lead_time_cdf(
    mean: np.ndarray, sd: np.ndarray, max_periods: int, cap: np.ndarray | None = None
) -> np.ndarray:
    """P(lead time <= j) for j = 1..max_periods, per series: (n, max_periods); see lead_time_pmf."""
    mean = np.nan_to_num(np.asarray(mean, dtype=float), nan=1.0)
    sd = np.nan_to_num(np.asarray(sd, dtype=float))
    j = np.arange(1, max_periods + 1, dtype=float)[None, :]
    random = (sd > 0) & (mean > 0)
    shape = np.where(random, (mean / np.where(random, sd, 1.0)) ** 2, 1.0)[:, None]
    scale = np.where(random, sd**2 / np.where(random, mean, 1.0), 1.0)[:, None]
    gamma_cdf = special.gammainc(shape, (j + 0.5) / scale)
    fixed = np.clip(np.round(mean), 1, max_periods)[:, None]
    cdf = np.where(random[:, None], gamma_cdf, (j >= fixed).astype(float))
    cdf[:, -1] = 1.0
    if cap is not None:
        cdf[j >= np.asarray(cap, dtype=float)[:, None]] = 1.0
    return cdf


def empirical_lead_time_pmf(
    keys: pd.DataFrame, samples: pd.DataFrame | None, period_days: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Observed lead-time distribution per series: (has_samples (n,), pmf (n, L + 1)).

    ``samples``: sku, lead_time_days, count (receipt lines with that lead time); every location
    of a SKU shares them. A lead time of x days is max(round(x / period_days), 1) periods (the
    rounding of :func:`lead_time_pmf`), and P(lead = j) = count of j / total count. Drawing from
    it by inverse transform, as the simulation does with each series' own uniforms, resamples
    the observed lead times with replacement (a bootstrap). Rows without samples are all 0.

    >>> keys = pd.DataFrame({"sku": ["A", "B"], "location": "X"})
    >>> s = pd.DataFrame({"sku": ["A", "A"], "lead_time_days": [2.0, 4.0], "count": [3, 1]})
    >>> has, pmf = empirical_lead_time_pmf(keys, s)
    >>> has.tolist(), pmf.tolist()
    ([True, False], [[0.0, 0.0, 0.75, 0.0, 0.25], [0.0, 0.0, 0.0, 0.0, 0.0]])
    """
    n = len(keys)
    if samples is None or samples.empty:
        return np.zeros(n, dtype=bool), np.zeros((n, 1))
    days = pd.to_numeric(samples["lead_time_days"], errors="coerce").to_numpy(dtype=float)
    count = pd.to_numeric(samples["count"], errors="coerce").to_numpy(dtype=float)
    if not (np.isfinite(days) & (days >= 0)).all() or not (np.isfinite(count) & (count > 0)).all():
        raise ValueError("lead_time_samples: lead_time_days must be >= 0 and count > 0 on every row")
    periods = np.maximum(np.round(days / period_days), 1).astype(np.int64)
    rows = keys[["sku"]].astype(str).reset_index(drop=True).reset_index().merge(
        pd.DataFrame({"sku": samples["sku"].astype(str).to_numpy(), "periods": periods,
                      "count": count}),
        on="sku",
    )
    pmf = np.zeros((n, int(periods.max()) + 1))
    np.add.at(pmf, (rows["index"].to_numpy(), rows["periods"].to_numpy()), rows["count"].to_numpy())
    total = pmf.sum(axis=1)
    has = total > 0
    pmf[has] /= total[has, None]
    return has, pmf


def _chunk_lead_cdf(
    plan: dict[str, np.ndarray], idx: np.ndarray, cap: np.ndarray, observed: np.ndarray,
    pmf: np.ndarray,
) -> np.ndarray:
    """P(lead <= j), j = 1..max cap, for a chunk: gamma rows, and the receipts' own for series
    that have them (:func:`empirical_lead_time_pmf`)."""
    width = int(cap[idx].max(initial=1))
    cdf = lead_time_cdf(plan["lead"][idx], plan["lead_sd"][idx], width, cap[idx])
    rows = observed[idx]
    if rows.any():
        cum = np.cumsum(pmf[idx][rows, 1:], axis=1)
        table = np.ones((int(rows.sum()), width))
        used = min(width, cum.shape[1])
        table[:, :used] = cum[:, :used]
        j = np.arange(1, width + 1)[None, :]
        table[j >= cap[idx][rows][:, None]] = 1.0  # exactly 1 from the longest lead time seen
        cdf[rows] = table
    return cdf


def _lead_caps(lead: np.ndarray, lead_sd: np.ndarray) -> np.ndarray:
    """Longest simulated lead time per series: its 1 - 1e-7 quantile (whole periods, >= 1)."""
    lead = np.nan_to_num(np.asarray(lead, dtype=float), nan=1.0)
    sd = np.nan_to_num(np.asarray(lead_sd, dtype=float))
    random = (sd > 0) & (lead > 0)
    top = np.maximum(np.round(lead), 1.0)
    if random.any():
        from scipy import stats

        shape = (lead[random] / sd[random]) ** 2
        scale = sd[random] ** 2 / lead[random]
        top[random] = np.maximum(np.ceil(stats.gamma.ppf(1 - _LEAD_TAIL, shape, scale=scale)), 1)
    return top.astype(np.int64)


def _cpu_count() -> int:
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - not Linux
        return max(os.cpu_count() or 1, 1)


class _Workspace:
    """Large arrays reused from chunk to chunk: fresh ones cost a page fault per 4 kB on first
    touch, which measured here as much as the arithmetic on them."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
        size = int(np.prod(shape))
        have = self._arrays.get(name)
        if have is None or have.size < size or have.dtype != np.dtype(dtype):
            have = np.empty(size, dtype=dtype)
            self._arrays[name] = have
        return have[:size].reshape(shape)


_PROCESS_WORKSPACE: _Workspace | None = None  # one per worker process


def _simulate_chunk_in_worker(chunk: _Chunk) -> dict[str, np.ndarray]:
    global _PROCESS_WORKSPACE
    if _PROCESS_WORKSPACE is None:
        _PROCESS_WORKSPACE = _Workspace()
    return _simulate_chunk(chunk, _PROCESS_WORKSPACE)


def _run_chunks(chunks: list[_Chunk], workers: int) -> list[dict[str, np.ndarray]]:
    if workers <= 1 or len(chunks) < 2:
        workspace = _Workspace()
        return [_simulate_chunk(chunk, workspace) for chunk in chunks]
    # spawn, not fork: the caller may hold threads (Prefect) or a DuckDB connection.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=context) as pool:
        return list(pool.map(_simulate_chunk_in_worker, chunks))


def _plan_arrays(
    keys: pd.DataFrame, policies: pd.DataFrame, positions: pd.DataFrame, period_days: float
) -> dict[str, np.ndarray]:
    plan = keys.merge(policies, on=["sku", "location"], how="left")
    pos_cols = [c for c in ("on_hand", "committed") if c in positions]
    plan = plan.merge(positions[["sku", "location", *pos_cols]], on=["sku", "location"], how="left")
    n = len(plan)

    def col(name: str, default: float = np.nan) -> np.ndarray:
        if name not in plan:
            return np.full(n, default)
        return pd.to_numeric(plan[name], errors="coerce").to_numpy(dtype=float)

    review = np.nan_to_num(col("review_period_days", 0.0)) / period_days
    if "policy" in plan:
        kind = plan["policy"].map(POLICY_KINDS).to_numpy(dtype=float)
        kind = np.where(np.isnan(kind), np.where(review > 0, 2, 0), kind).astype(np.int8)
    else:
        kind = np.where(review > 0, 2, 0).astype(np.int8)
    s, q, big_s = col("reorder_point"), col("order_quantity"), col("max_level")
    active = np.where(
        kind == 0, np.isfinite(s) & (q > 0),
        np.where(kind == 1, np.isfinite(s) & np.isfinite(big_s), np.isfinite(big_s) & (big_s > 0)),
    )
    kind = np.where(active, kind, 3).astype(np.int8)  # 3 = never orders
    return {
        "net0": col("on_hand") - np.nan_to_num(col("committed", 0.0)),
        "kind": kind,
        "s": np.nan_to_num(s),
        "q": np.nan_to_num(q),
        "big_s": np.nan_to_num(big_s),
        "review": np.maximum(np.round(review), 1).astype(np.int64),
        "lead": col("lead_time_days", 1.0) / period_days,
        "lead_sd": np.nan_to_num(col("lead_time_sd_days", 0.0)) / period_days,
    }


def _scheduled_receipts(
    keys: pd.DataFrame, purchase_orders: pd.DataFrame, as_of: date, length: int, period_days: float
) -> np.ndarray:
    """(n, length) open purchase-order quantities by arrival period (overdue ones arrive at once;
    those due after the horizon are left out: they cannot change the horizon's stock but still
    count in the inventory position through ``on_order``)."""
    receipts = np.zeros((len(keys), length))
    if purchase_orders.empty:
        return receipts
    index = pd.MultiIndex.from_frame(keys[["sku", "location"]])
    row = index.get_indexer(pd.MultiIndex.from_frame(purchase_orders[["sku", "location"]]))
    offset = (pd.to_datetime(purchase_orders["expected_date"]) - pd.Timestamp(as_of)).dt.days
    col = np.maximum(np.ceil(offset.to_numpy(dtype=float) / period_days) - 1, 0)
    ok = (row >= 0) & (col < length)
    quantity = purchase_orders["quantity"].to_numpy(dtype=float)
    np.add.at(receipts, (row[ok], col[ok].astype(int)), quantity[ok])
    return receipts


def _on_order_beyond(
    keys: pd.DataFrame, purchase_orders: pd.DataFrame, as_of: date, length: int, period_days: float
) -> np.ndarray:
    """Open purchase-order quantity arriving after the horizon, per series."""
    total = np.zeros(len(keys))
    if purchase_orders.empty:
        return total
    index = pd.MultiIndex.from_frame(keys[["sku", "location"]])
    row = index.get_indexer(pd.MultiIndex.from_frame(purchase_orders[["sku", "location"]]))
    offset = (pd.to_datetime(purchase_orders["expected_date"]) - pd.Timestamp(as_of)).dt.days
    col = np.ceil(offset.to_numpy(dtype=float) / period_days) - 1
    ok = (row >= 0) & (col >= length)
    np.add.at(total, row[ok], purchase_orders["quantity"].to_numpy(dtype=float)[ok])
    return total


# -- demand draws ------------------------------------------------------------------------------
def draw_demand(
    mean: np.ndarray,
    size: np.ndarray,
    level_var: np.ndarray,
    keys: np.ndarray,
    n_paths: int,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Demand paths (c, h, n_paths) float32 of the DemandForecast model, one stream per series.

    D_tp ~ NB(mean = m_t G_p, size k) (Poisson for k = inf), G_p ~ Gamma(1/v, v) shared by the
    periods of path p. Series i uses ``Generator(PCG64(SeedSequence(keys[i])))``: first the
    level factors, then one uniform per (period, path) turned into a draw by inverse transform,
    then gamma-Poisson draws for the cells whose mean exceeds ``_BIG_MEAN``.
    """
    c, h = mean.shape
    if out is None:
        out = np.empty((c, h, n_paths), dtype=np.float32)
    for i in range(c):
        gen = np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(keys[i]))))
        out[i] = _draw_series(gen, mean[i], float(size[i]), float(level_var[i]), n_paths)
    return out


def _draw_series(
    gen: np.random.Generator, mean: np.ndarray, size: float, level_var: float, n_paths: int
) -> np.ndarray:
    """(h, n_paths) draws of one series (see draw_demand)."""
    h = mean.size
    if level_var > _MIN_LEVEL_VAR:
        level = gen.gamma(1.0 / level_var, level_var, size=n_paths)
        mu = (mean[:, None] * level[None, :]).ravel()
    else:
        mu = np.repeat(mean, n_paths)
    u = gen.random(h * n_paths, dtype=np.float32).astype(np.float64)
    poisson = not np.isfinite(size)
    big = mu > _BIG_MEAN
    has_big = bool(big.any())
    draws = np.zeros(h * n_paths, dtype=np.float32)
    if mu.max(initial=0.0) > 0:
        sel = np.flatnonzero(~big) if has_big else None
        m = mu if sel is None else np.take(mu, sel)
        v = u if sel is None else np.take(u, sel)
        if poisson:
            pmf, w = np.exp(-m), m
        else:
            pmf, w = np.exp(-size * np.log1p(m / size)), m / (size + m)
        found = _inverse_search(v, pmf, w, None if poisson else size)
        if sel is None:
            draws = found
        else:
            draws[sel] = found
    if has_big:
        cols = np.flatnonzero(big)
        rate = mu[cols]
        if not poisson:
            rate = rate * gen.standard_gamma(size, size=cols.size) / size
        draws[cols] = gen.poisson(rate)
    return draws.reshape(h, n_paths)


def _inverse_search(
    u: np.ndarray, pmf: np.ndarray, w: np.ndarray, size: float | None
) -> np.ndarray:
    """Smallest j with F(j) >= u for NB(size, mean mu) or Poisson(mu) (size None), elementwise.

    pmf(0) is given and pmf(j+1) = pmf(j) w c_j with w = mu/(size + mu), c_j = (j + size)/(j+1)
    (NB) or w = mu, c_j = 1/(j+1) (Poisson), so a pass costs two multiplications. All elements
    advance together one value per pass; finished ones are dropped once three quarters of the
    array are done (np.take: boolean indexing branches per element and costs ten times more);
    the last few hundred walk their tail 16 values per step. Arguments are consumed.
    """
    n = u.size
    out = np.zeros(n, dtype=np.float32)
    pos: np.ndarray | None = None  # original index of each element (None: the identity)
    count = np.zeros(n, dtype=np.float32)  # passes survived = the draw, once u <= 0
    alive_buf = np.empty(n, dtype=bool)
    j = 0
    while u.size > _TAIL_SWITCH:
        size_now = u.size
        alive = alive_buf[:size_now]
        np.subtract(u, pmf, out=u)
        np.greater(u, 0.0, out=alive)
        np.add(count, alive, out=count)
        left = np.count_nonzero(alive)
        if left < _COMPACT_BELOW * size_now:
            dead = np.flatnonzero(~alive)
            out[dead if pos is None else np.take(pos, dead)] = np.take(count, dead)
            keep = np.flatnonzero(alive)
            pos = keep if pos is None else np.take(pos, keep)
            u, pmf, w, count = (np.take(x, keep) for x in (u, pmf, w, count))
        np.multiply(pmf, w, out=pmf)
        np.multiply(pmf, (j + size) / (j + 1) if size is not None else 1.0 / (j + 1), out=pmf)
        j += 1
    if pos is None:
        pos = np.arange(n)
    if u.size:
        # Leave the single-step loop in a clean state: survivors are those with u - F(j-1) > 0.
        out[pos] = count
        keep = np.flatnonzero(u > 0)
        u, pmf, w, pos = (np.take(x, keep) for x in (u, pmf, w, pos))
    steps = np.arange(_TAIL_WIDTH, dtype=float)
    while pos.size:
        level = j + steps
        factor = (level + size) / (level + 1.0) if size is not None else 1.0 / (level + 1.0)
        ratio = w[:, None] * factor[None, :]  # pmf(level + 1) / pmf(level)
        terms = np.empty((pos.size, _TAIL_WIDTH))
        terms[:, 0] = pmf
        terms[:, 1:] = pmf[:, None] * np.cumprod(ratio[:, :-1], axis=1)
        cum = np.cumsum(terms, axis=1)
        hit = cum >= u[:, None]
        found = hit.any(axis=1)
        out[pos[found]] = j + hit[found].argmax(axis=1)
        # Values whose probability underflows end the search (the tail beyond is < 1e-300).
        lost = ~found & ((terms[:, -1] == 0) | (j > 1e7))
        out[pos[lost]] = j + _TAIL_WIDTH - 1
        go = ~found & ~lost
        u = u[go] - cum[go, -1]
        pmf = terms[go, -1] * ratio[go, -1]
        w, pos = w[go], pos[go]
        j += _TAIL_WIDTH
    return out


# -- the inventory recursion -------------------------------------------------------------------
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _hash_uniform(key: np.ndarray, counter: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) from (key, counter) by the SplitMix64 finaliser (counter-based: any
    subset of draws costs only itself and does not depend on which others were made)."""
    z = key.astype(np.uint64) + counter.astype(np.uint64) * _GOLDEN
    z ^= z >> np.uint64(30)
    z *= _MIX1
    z ^= z >> np.uint64(27)
    z *= _MIX2
    z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def _simulate_chunk(ch: _Chunk, ws: _Workspace) -> dict[str, np.ndarray]:
    """The inventory recursion for one chunk of series -> per-series statistics and bands."""
    c, h = ch.mean.shape
    p = ch.n_paths
    demand = draw_demand(ch.mean, ch.size, ch.level_var, ch.keys, p,
                         out=ws.get("demand", (c, h, p), np.float32))
    replenish = _Replenishment(ch)
    ring_len = replenish.lead_max + 1  # orders in transit, by arrival period modulo ring_len
    ring = ws.get("ring", (c, ring_len, p), np.float64)
    ring.fill(0.0)

    net = np.repeat(ch.net0[:, None], p, axis=1).astype(float)
    position = net + (ch.receipts.sum(axis=1) + ch.on_order_later)[:, None]
    receipt_days = ch.receipts.any(axis=0)
    served = np.zeros((c, p))
    served_warm = np.zeros((c, p))
    net_end = ws.get("net_end", (c, h, p), np.float32)
    short = ws.get("short", (c, h, p), np.bool_)
    orders_warm = np.zeros(c)
    got = np.empty((c, p))
    day_demand = np.empty((c, p))
    for t in range(h):
        slot = t % ring_len
        net += ring[:, slot, :]
        ring[:, slot, :] = 0.0
        if receipt_days[t]:
            net += ch.receipts[:, t, None]
        d = day_demand
        np.copyto(d, demand[:, t, :])  # float64 once: mixed-type arithmetic is slower
        np.maximum(net, 0.0, out=got)
        np.minimum(got, d, out=got)
        served += got
        if t == ch.warmup:
            served_warm -= served - got  # served before the warm-up ended
        np.subtract(d, got, out=got)
        np.greater(got, _SHORT_EPS, out=short[:, t, :])
        net -= d
        position -= d
        net_end[:, t, :] = net

        # Replenishment decision at the end of the period.
        orders = replenish.orders(position, t)
        if orders is None:
            continue
        rows, paths, cells, qty = orders
        lead = replenish.lead_times(t, rows, paths)
        # (row, path) pairs are unique within a period, so a fancy += adds each order once.
        ring.ravel()[(rows * ring_len + (t + lead) % ring_len) * p + paths] += qty
        position.ravel()[cells] += qty
        if t >= ch.warmup:
            orders_warm += np.bincount(rows, minlength=c)

    served_warm += served
    return _chunk_statistics(ch, demand, served, served_warm, net_end, short, orders_warm, ws)


class _Replenishment:
    """The ordering rules and lead-time tables of one chunk, prepared once: which (series, path)
    cells order at the end of a period, how much, and the lead time of each order."""

    def __init__(self, ch: _Chunk) -> None:
        c = ch.mean.shape[0]
        p = ch.n_paths
        self.ch = ch
        lead_max = ch.lead_cdf.shape[1]
        self.lead_max = lead_max
        # A fixed lead time where the table is a step (0 = drawn per order).
        deterministic = np.isin(ch.lead_cdf, (0.0, 1.0)).all(axis=1)
        self.fixed_lead = np.where(deterministic, 1 + (ch.lead_cdf < 0.5).sum(axis=1), 0)
        self.lead_cdf = np.ascontiguousarray(ch.lead_cdf).ravel()
        # Guide table for the inverse transform: the answer for u in [g/G, (g+1)/G) is at least
        # guide[row, g]; a step or two up the row's cdf finds it (searchsorted was 10x slower).
        grid = np.arange(_LEAD_GUIDE) / _LEAD_GUIDE
        guide = (ch.lead_cdf[:, None, :] < grid[None, :, None]).sum(axis=2)
        guide += np.arange(c)[:, None] * lead_max  # flat index into lead_cdf
        self.guide = guide
        self.all_random = not deterministic.any()
        self.only_sq = bool(np.all(ch.kind == 0))
        self.trigger = np.where((ch.kind == 0) | (ch.kind == 1), ch.s, -np.inf)[:, None]
        self.review_rows = np.flatnonzero(ch.kind == 2)
        self.path_index = np.arange(p)

    def orders(
        self, position: np.ndarray, t: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """Orders placed at the end of period ``t``: rows, paths, flat cells (row * paths +
        path) and quantities; None when no cell orders."""
        ch, p = self.ch, self.ch.n_paths
        cells = np.flatnonzero(position <= self.trigger)
        review_rows = self.review_rows
        if review_rows.size:
            due = review_rows[t % ch.review[review_rows] == 0]
            if due.size:
                cells = np.concatenate([cells, (due[:, None] * p + self.path_index).ravel()])
        if cells.size == 0:
            return None
        rows, paths = np.divmod(cells, p)
        ip = position.ravel()[cells]
        if self.only_sq:  # ip <= s, so at least one Q: every candidate orders
            q_rows = ch.q[rows]
            qty = (np.floor((ch.s[rows] - ip) / q_rows) + 1) * q_rows
        else:
            kind = ch.kind[rows]
            with np.errstate(divide="ignore", invalid="ignore"):  # q = 0 on (s,S), (R,S) rows
                multiple = np.floor((ch.s[rows] - ip) / ch.q[rows]) + 1
                qty = np.where(kind == 0, multiple * ch.q[rows], ch.big_s[rows] - ip)
            placed = qty > 0
            if not placed.all():
                rows, paths, cells, qty = rows[placed], paths[placed], cells[placed], qty[placed]
            if qty.size == 0:
                return None
        return rows, paths, cells, qty

    def lead_times(self, t: int, rows: np.ndarray, paths: np.ndarray) -> np.ndarray:
        """Lead time (whole periods) of each order placed at the end of period ``t``."""
        keys, p = self.ch.keys, self.ch.n_paths
        guide, lead_cdf, lead_max = self.guide, self.lead_cdf, self.lead_max
        if self.all_random:
            return _draw_lead(keys[rows], t * p + paths + 1, rows, guide, lead_cdf, lead_max)
        lead = self.fixed_lead[rows]
        draw = np.flatnonzero(lead == 0)
        if draw.size:
            lead[draw] = _draw_lead(keys[rows[draw]], t * p + paths[draw] + 1, rows[draw],
                                    guide, lead_cdf, lead_max)
        return lead


def _chunk_statistics(
    ch: _Chunk,
    demand: np.ndarray,
    served: np.ndarray,
    served_warm: np.ndarray,
    net_end: np.ndarray,
    short: np.ndarray,
    orders_warm: np.ndarray,
    ws: _Workspace,
) -> dict[str, np.ndarray]:
    """Per-series statistics and the net-stock band of a simulated chunk (``short`` and the
    demand buffer are reused as scratch, ``net_end`` is sorted in place)."""
    h = ch.mean.shape[1]
    p = ch.n_paths
    demanded = demand.sum(axis=1, dtype=np.float64)
    demanded_warm = demand[:, ch.warmup :, :].sum(axis=1, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = demanded.sum(axis=1)
        fill = np.where(total > 0, served.sum(axis=1) / total, 1.0)
        total_warm = demanded_warm.sum(axis=1)
        fill_warm = np.where(total_warm > 0, served_warm.sum(axis=1) / total_warm, 1.0)
    out_any = short.any(axis=1)
    first_out = np.where(out_any, short.argmax(axis=1), np.inf)
    # Paths without a stockout count as "after the horizon" (h + 1) for the quantiles.
    first = np.where(np.isfinite(first_out), first_out + 1, h + 1)
    before_receipt = first_out < np.minimum(ch.next_receipt, h)[:, None]
    first50 = np.quantile(first, 0.5, axis=1, method="lower")
    first10 = np.quantile(first, 0.1, axis=1, method="lower")
    cells_warm = p * (h - ch.warmup)
    tail = net_end[:, ch.warmup :, :]
    scratch = ws.get("demand", tail.shape, np.float32)  # demand is no longer needed
    on_hand_avg = np.maximum(tail, 0, out=scratch).sum(axis=(1, 2), dtype=np.float64) / cells_warm
    net_avg = tail.sum(axis=(1, 2), dtype=np.float64) / cells_warm
    result = {
        "p_out": out_any.mean(axis=1),
        "fill": fill,
        "backorders": (demanded - served).mean(axis=1),
        "days_out": np.count_nonzero(np.less_equal(net_end, 0, out=short), axis=(1, 2)) / p,
        "first50": np.where(first50 <= h, first50, np.nan),
        "first10": np.where(first10 <= h, first10, np.nan),
        "fill_warm": fill_warm,
        "on_hand_avg": on_hand_avg,
        "backorders_avg": on_hand_avg - net_avg,
        "no_backorder_share": np.count_nonzero(
            np.greater_equal(tail, 0, out=short[:, : h - ch.warmup]), axis=(1, 2)
        ) / cells_warm,
        "orders_per_period": orders_warm / cells_warm,
        "p_before": before_receipt.mean(axis=1),
        "short_before": _short_before_receipt(ch, net_end),
        "next_receipt": ch.next_receipt.astype(float),
    }
    net_end.sort(axis=2)  # once, in place: the 10/50/90% band of every period
    result["band"] = _sorted_quantiles(net_end, (0.1, 0.5, 0.9))
    return result


def _short_before_receipt(ch: _Chunk, net_end: np.ndarray) -> np.ndarray:
    """Expected units short (backlog) at the end of the period before the next receipt, less
    the backlog at the start: nothing arrives before it (orders placed meanwhile take at least
    the median lead time, bar a short draw)."""
    c, h = ch.mean.shape
    receipt = np.minimum(ch.next_receipt, h)
    at = np.clip(receipt - 1, 0, h - 1)
    backlog = np.maximum(-net_end[np.arange(c), at, :].astype(np.float64), 0.0)
    grown = np.maximum(backlog - np.maximum(-ch.net0, 0.0)[:, None], 0.0)
    return np.where(receipt > 0, grown.mean(axis=1), 0.0)


def _draw_lead(
    keys: np.ndarray, counter: np.ndarray, rows: np.ndarray, guide: np.ndarray,
    lead_cdf: np.ndarray, lead_max: int,
) -> np.ndarray:
    """Lead times (whole periods) of orders by inverse transform of a hashed uniform: start at
    the guide table's bucket, step up the row's cdf (flattened, lead_max values a row)."""
    u = _hash_uniform(keys, counter)
    at = guide[rows, (u * _LEAD_GUIDE).astype(np.int64)]
    while True:
        up = lead_cdf[at] < u
        if not up.any():
            break
        at += up
    return 1 + at - rows * lead_max


def _sorted_quantiles(sorted_values: np.ndarray, levels: tuple[float, ...]) -> np.ndarray:
    """Quantiles along the last axis of sorted data, linear interpolation (np.percentile's)."""
    p = sorted_values.shape[-1]
    out = np.empty((*sorted_values.shape[:-1], len(levels)))
    for i, level in enumerate(levels):
        position = level * (p - 1)
        lo = int(np.floor(position))
        hi = min(lo + 1, p - 1)
        frac = position - lo
        low = sorted_values[..., lo].astype(np.float64)  # float64: 67.1 stays 67.1
        out[..., i] = low + frac * (sorted_values[..., hi] - low)
    return out


def _frames(
    keys: pd.DataFrame,
    stats: dict[str, np.ndarray],
    band: np.ndarray,
    as_of: date,
    cfg: SimulationConfig,
    period_days: float,
    horizon: int,
    warmup: int,
) -> SimulationResult:
    start = pd.Timestamp(as_of)

    def day(values: np.ndarray) -> pd.Series:
        offsets = pd.to_timedelta(values * period_days, unit="D")
        return pd.Series(start + offsets).dt.date

    risk = pd.DataFrame(
        {
            "sku": keys["sku"].to_numpy(),
            "location": keys["location"].to_numpy(),
            "stockout_probability": stats["p_out"],
            "fill_rate": stats["fill"],
            "expected_backorders": stats["backorders"],
            "expected_days_out": stats["days_out"] * period_days,
            "first_stockout_p50": day(stats["first50"]),
            "first_stockout_p10": day(stats["first10"]),
            "horizon_days": cfg.horizon_days,
            "paths": cfg.n_paths,
        }
    )
    risk = risk.join(risk_measures(stats, day))
    dates = pd.date_range(start, periods=horizon + 1, freq=f"{period_days:g}D")[1:]
    bands = to_long(keys, dates, stock_p10=band[:, :, 0], stock_p50=band[:, :, 1], stock_p90=band[:, :, 2])
    bands["date"] = bands["date"].dt.date
    averages = pd.DataFrame(
        {
            "sku": keys["sku"].to_numpy(),
            "location": keys["location"].to_numpy(),
            "fill_rate": stats["fill_warm"],
            "average_on_hand": stats["on_hand_avg"],
            "average_backorders": stats["backorders_avg"],
            "no_backorder_share": stats["no_backorder_share"],
            "orders_per_period": stats["orders_per_period"],
            "periods": horizon - warmup,
        }
    )
    return SimulationResult(
        risk=risk, bands=bands.dropna(subset=["stock_p50"]).reset_index(drop=True),
        averages=averages,
    )
