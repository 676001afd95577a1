"""What-if scenarios on the published snapshot."""

from __future__ import annotations

import pandas as pd
import pytest

from forecast.whatif import Scenario, what_if
from tests.conftest import FAST_MODELS


def _pick_sku_without_planned_campaign(snapshot_dir) -> str:
    from forecast.warehouse import read_snapshot

    data = read_snapshot(snapshot_dir, ("sales", "campaigns", "products"))
    last = pd.to_datetime(data["sales"]["date"]).max()
    planned = data["campaigns"][pd.to_datetime(data["campaigns"]["end_date"]) > last]
    busy_cats = set(planned.loc[planned["sku"] == "", "category"])
    busy = set(planned["sku"]) | set(data["products"].loc[data["products"]["category"].isin(busy_cats), "sku"])
    volume = data["sales"].groupby("sku")["quantity"].sum().sort_values(ascending=False)
    return next(s for s in volume.index if s not in busy)


def test_a_planned_campaign_raises_the_forecast_inside_its_window(demo_run) -> None:
    settings, _ = demo_run
    sku = _pick_sku_without_planned_campaign(settings.snapshot_dir)
    from forecast.warehouse import read_snapshot

    last = pd.to_datetime(read_snapshot(settings.snapshot_dir, ("sales",))["sales"]["date"]).max()
    start, end = (last + pd.Timedelta(days=5)).date(), (last + pd.Timedelta(days=12)).date()
    result = what_if(settings.snapshot_dir, Scenario(
        skus=[sku], campaign={"start": start, "end": end, "kind": "price_promo", "discount_pct": 30}),
        horizon=21, n_paths=50, models=FAST_MODELS)
    c = result.comparison.set_index(["location", "metric"])
    inside = c.xs("forecast_in_campaign", level="metric")
    assert (inside["after"] > inside["before"] * 1.05).all()
    before = result.forecast_before.set_index(["location", "date"])["mean"]
    after = result.forecast_after.set_index(["location", "date"])["mean"]
    outside = before.index.get_level_values("date") < pd.Timestamp(start)
    assert (after[outside] == before[outside]).all()  # nothing changes before the campaign


def test_supplier_delay_raises_reorder_points_and_a_shock_raises_demand(demo_run) -> None:
    settings, _ = demo_run
    sku = _pick_sku_without_planned_campaign(settings.snapshot_dir)
    delayed = what_if(settings.snapshot_dir, Scenario(skus=[sku], supplier_delay_days=10), n_paths=50,
                      models=FAST_MODELS)
    rop = delayed.comparison[delayed.comparison["metric"] == "reorder_point"]
    assert (rop["after"] > rop["before"]).all()
    shocked = what_if(settings.snapshot_dir, Scenario(skus=[sku], demand_shock_pct=50), n_paths=50,
                      models=FAST_MODELS)
    total = shocked.comparison[shocked.comparison["metric"] == "forecast_total"]
    assert total["after"].to_numpy() == pytest.approx(1.5 * total["before"].to_numpy())


def test_unknown_sku_is_a_clear_error(demo_run) -> None:
    settings, _ = demo_run
    with pytest.raises(ValueError, match="no sales history for NOPE"):
        what_if(settings.snapshot_dir, Scenario(skus=["NOPE"], demand_shock_pct=10))
