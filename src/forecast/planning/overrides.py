"""Planner overrides: a min, max, fixed order quantity, service level or policy pinned per SKU
and location (the optional ``overrides`` input table), used by the plan and shown beside the
value the plan computed ("min 10 set by planner; recommended 14").

- An override holds through its ``expires`` date (inclusive); an expired one is ignored and
  counted. A row with an empty location holds at every location of the SKU; a row naming the
  location wins over it.
- Service level and policy change the computation: those series are planned again with the
  override (per SKU: a pinned level is not pooled in its class; an ``RS`` override needs its
  ``review_period_days``). Their ABC/XYZ classes stay those of the whole plan.
- Min (reorder point), max and order quantity replace the computed values after that. When the
  max is not pinned it follows the others: max' = min' + Q' + (max - min - Q) of the computed
  policy, i.e. s + Q for (s,Q) and (s,S), S moved by the change of the min and of Q for (R,S).
  The safety stock moves with the min (ss' = ss + min' - min); ``planned_fill_rate`` is left
  empty where min, max or Q are pinned (it is not recomputed for the planner's numbers). A max
  below the min stops the plan with an error naming the SKU.
- ``recommended_*`` columns keep the plan's own values (all settings, no override) and
  ``override`` says what the planner set, beside the recommendation; recommendations and
  alerts of an overridden series carry the same text.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pandas as pd

from forecast.forecasting.distribution import DemandForecast
from forecast.planning.plan_config import PlanConfig

KEYS = ["sku", "location"]
#: Override column -> (the policies column it replaces, the word a planner reads).
PINNED = {"reorder_point": "min", "max_level": "max", "order_quantity": "order quantity"}
RECOMPUTED = ("service_level", "policy")
POLICY_NAMES = {"sq": "sQ", "ss": "sS", "rs": "RS"}
RECOMMENDED = ["recommended_reorder_point", "recommended_max_level", "recommended_order_quantity",
               "recommended_service_level", "recommended_policy"]


@dataclass
class Overrides:
    """The overrides that hold for the plan's series (one row per series at most), and how
    many rows were ignored because they had expired."""

    rows: pd.DataFrame
    expired: int = 0


def active_overrides(overrides: pd.DataFrame | None, keys: pd.DataFrame, as_of: date) -> Overrides:
    """Overrides per series of ``keys``: expired rows dropped, empty locations expanded to
    every location of the SKU, a named location winning over the empty one."""
    columns = [*KEYS, *PINNED, *RECOMPUTED, "review_period_days", "expires", "reason"]
    if overrides is None or overrides.empty:
        return Overrides(pd.DataFrame(columns=columns))
    frame = overrides.reindex(columns=columns).copy()
    expires = pd.to_datetime(frame["expires"])
    live = expires.isna() | (expires >= pd.Timestamp(as_of))
    expired = int((~live).sum())
    frame = frame[live.to_numpy()]
    frame["location"] = frame["location"].fillna("").astype(str)
    every = frame[frame["location"] == ""].drop(columns="location").merge(keys[KEYS], on="sku")
    named = frame[frame["location"] != ""].merge(keys[KEYS], on=KEYS)
    rows = pd.concat([named, every], ignore_index=True).drop_duplicates(KEYS, keep="first")
    rows["policy"] = rows["policy"].map(lambda p: POLICY_NAMES.get(str(p).lower()) if pd.notna(p) else None)
    return Overrides(rows.reset_index(drop=True), expired)


def compute_policies_with_overrides(
    compute, forecast: DemandForecast, history: np.ndarray, products: pd.DataFrame,
    suppliers: pd.DataFrame, cfg: PlanConfig, period_days: float, lead_times: pd.DataFrame | None,
    overrides: Overrides,
) -> pd.DataFrame:
    """The plan's policies (``compute`` is :func:`forecast.planning.policies.compute_policies`)
    with the overrides applied and the computed values kept in ``recommended_*``."""
    baseline = compute(forecast, history, products, suppliers, cfg, period_days, lead_times=lead_times)
    plan = baseline.copy()
    for column, source in zip(RECOMMENDED, ("reorder_point", "max_level", "order_quantity",
                                            "service_level", "policy"), strict=True):
        plan[column] = baseline[source]
    plan["override"] = ""
    if overrides.rows.empty:
        return plan
    rows = plan[KEYS].merge(overrides.rows, on=KEYS, how="left")
    plan = _recompute(plan, rows, compute, forecast, history, products, suppliers, cfg, period_days,
                      lead_times)
    plan = _pin(plan, rows)
    plan["override"] = _texts(plan, rows)
    return plan


def repin(plan: pd.DataFrame, recommended: pd.DataFrame, overrides: Overrides,
          published: pd.DataFrame) -> pd.DataFrame:
    """A what-if's replanned policies (planned at the published service levels and policies,
    which carry the planner's service-level and policy overrides) with the planner's min, max
    and order quantity pinned again, as :func:`compute_policies_with_overrides` does.

    ``recommended``: the same series planned at the plan's own service level and policy (rows
    and columns as ``plan``; the plan itself where no such override holds): its min, max and
    order quantity become ``recommended_*``. ``recommended_service_level`` and
    ``recommended_policy`` stay the published ones."""
    out = plan.copy()
    for column, source in zip(RECOMMENDED[:3], ("reorder_point", "max_level", "order_quantity"), strict=True):
        out[column] = recommended[source].to_numpy()
    held = out[KEYS].merge(published.reindex(columns=[*KEYS, *RECOMMENDED[3:]]), on=KEYS, how="left")
    out["recommended_service_level"] = held["recommended_service_level"].astype(float).fillna(
        out["service_level"].astype(float)).to_numpy()
    out["recommended_policy"] = held["recommended_policy"].fillna(out["policy"]).to_numpy()
    out["override"] = ""
    if overrides.rows.empty:
        return out
    rows = out[KEYS].merge(overrides.rows, on=KEYS, how="left")
    out = _pin(out, rows)
    out["override"] = _texts(out, rows)
    return out


def changes_level_or_policy(keys: pd.DataFrame, overrides: Overrides) -> np.ndarray:
    """Rows of ``keys`` whose service level or policy an override sets."""
    if overrides.rows.empty:
        return np.zeros(len(keys), dtype=bool)
    rows = keys[KEYS].merge(overrides.rows, on=KEYS, how="left")
    return (rows["service_level"].notna() | rows["policy"].notna()).to_numpy()


def _recompute(plan, rows, compute, forecast, history, products, suppliers, cfg, period_days,
               lead_times) -> pd.DataFrame:
    """Series with a service-level or policy override, planned again under it, in groups of
    the same (level, policy, review period)."""
    wanted = rows["service_level"].notna() | rows["policy"].notna()
    if not wanted.any():
        return plan
    level = rows["service_level"].astype(float).fillna(plan["service_level"].astype(float))
    policy = rows["policy"].fillna(plan["policy"]).astype(str)
    review = rows["review_period_days"].astype(float)
    missing = wanted & (policy == "RS") & ~(review > 0) & (plan["policy"] != "RS")
    if missing.any():
        first = rows[missing].iloc[0]
        raise ValueError(f"overrides: {first['sku']}@{first['location']} sets policy RS without "
                         "review_period_days (days between reviews, > 0)")
    review = np.where(policy == "RS", review.fillna(cfg.review_period_days), 0.0)
    groups = pd.DataFrame({"level": level, "policy": policy, "review": review})[wanted.to_numpy()]
    plan = plan.copy()
    for (lvl, pol, rev), group in groups.groupby(["level", "policy", "review"]):
        index = group.index.to_numpy()
        skus = set(plan.loc[index, "sku"])
        pinned = products.copy()
        pinned.loc[pinned["sku"].isin(skus), "service_level"] = lvl  # per SKU, not pooled
        sub_cfg = replace(cfg, policy=pol, review_period_days=float(rev))
        sub = compute(forecast.take(index), history[index], pinned, suppliers, sub_cfg, period_days,
                      lead_times=lead_times)
        sub.index = index
        keep = ["abc_class", "xyz_class", *RECOMMENDED]
        sub[keep] = plan.loc[index, keep]
        sub["service_source"] = np.where(rows.loc[index, "service_level"].notna(), "override",
                                         plan.loc[index, "service_source"])
        plan.loc[index, sub.columns] = sub
    return plan


def _pin(plan: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """Min, max and order quantity replaced by the planner's where given (see the module doc)."""
    rop, q, top = (plan[c].astype(float) for c in ("reorder_point", "order_quantity", "max_level"))
    new_rop = rows["reorder_point"].astype(float).fillna(rop)
    new_q = rows["order_quantity"].astype(float).fillna(q)
    new_top = rows["max_level"].astype(float).fillna(new_rop + new_q + (top - rop - q))
    bad = new_top < new_rop - 1e-9
    if bad.any():
        r = plan[bad].iloc[0]
        raise ValueError(f"overrides: {r['sku']}@{r['location']} max {new_top[bad].iloc[0]:g} is below "
                         f"its min {new_rop[bad].iloc[0]:g}")
    pinned = rows[list(PINNED)].notna().any(axis=1)
    plan = plan.copy()
    plan["safety_stock"] = plan["safety_stock"].astype(float) + (new_rop - rop)
    plan["reorder_point"], plan["order_quantity"], plan["max_level"] = new_rop, new_q, new_top
    plan.loc[rows["order_quantity"].notna(), "order_quantity_basis"] = "override"
    plan.loc[pinned, "planned_fill_rate"] = np.nan
    return plan


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value - round(value)) < 0.05 else f"{value:,.1f}"


def _texts(plan: pd.DataFrame, rows: pd.DataFrame) -> pd.Series:
    """Per series, what the planner set beside the plan's own value, e.g. "min 10 set by
    planner; recommended 14"; with the reason and the expiry date when given."""
    texts = []
    for i in range(len(plan)):
        r, p = rows.iloc[i], plan.iloc[i]
        parts = []
        for column, word in PINNED.items():
            if pd.notna(r[column]):
                parts.append(f"{word} {_number(float(r[column]))} set by planner; recommended "
                             f"{_number(float(p['recommended_' + column]))}")
        if pd.notna(r["service_level"]):
            parts.append(f"service level {100 * float(r['service_level']):g}% set by planner; "
                         f"recommended {100 * float(p['recommended_service_level']):g}% (min then "
                         f"{_number(float(p['reorder_point']))}, recommended {_number(float(p['recommended_reorder_point']))})")
        if pd.notna(r["policy"]):
            parts.append(f"policy {r['policy']} set by planner; recommended {p['recommended_policy']}")
        if parts:
            extra = [f"until {pd.Timestamp(r['expires']).date()}"] if pd.notna(r["expires"]) else []
            extra += [str(r["reason"])] if pd.notna(r["reason"]) and str(r["reason"]) else []
            parts[-1] += f" ({', '.join(extra)})" if extra else ""
        texts.append("; ".join(parts))
    return pd.Series(texts, index=plan.index, dtype=object)


def annotate(recommendations: pd.DataFrame, alerts: pd.DataFrame, policies: pd.DataFrame
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The override text on the recommendations (an ``override`` column, and after the
    explanation) and after the min alerts' messages of overridden series."""
    notes = policies.loc[policies["override"].fillna("") != "", [*KEYS, "override"]]
    recs = recommendations.drop(columns="override", errors="ignore").merge(notes, on=KEYS, how="left")
    recs["override"] = recs["override"].fillna("")
    has = recs["override"] != ""
    recs.loc[has, "explanation"] = recs.loc[has, "explanation"] + "; " + recs.loc[has, "override"]
    if alerts.empty or notes.empty:
        return recs, alerts
    alerts = alerts.merge(notes, on=KEYS, how="left")
    about_min = alerts["kind"].isin(["below_min", "will_cross_min"]) & alerts["override"].notna()
    alerts.loc[about_min, "message"] = alerts.loc[about_min, "message"] + " (" + alerts.loc[about_min, "override"] + ")"
    return recs, alerts.drop(columns="override")
