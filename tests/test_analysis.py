"""forecast.analysis: known answers on small frames, and the snapshot of a small demo run."""

from __future__ import annotations

import doctest
from types import SimpleNamespace

import duckdb
import numpy as np
import pandas as pd
import pytest

from forecast import analysis as an
from forecast.planning import inventory
from forecast.publish.report import open_results


def _daily(values: list[float], start: str = "2024-01-01", **columns: object) -> pd.DataFrame:
    frame = pd.DataFrame({"date": pd.date_range(start, periods=len(values)), "quantity": values})
    for name, value in columns.items():
        frame[name] = value
    return frame


def test_doctests() -> None:
    result = doctest.testmod(an, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


# -- sales exploration ---------------------------------------------------------------------------


def test_weekly_totals_keeps_complete_weeks_only() -> None:
    # Wednesday 2024-01-03 .. Tuesday 2024-01-23: one complete week (Mon 8 .. Sun 14) and
    # another (15 .. 21); the part weeks at both ends are dropped.
    sales = _daily([1.0] * 21, start="2024-01-03", sku="A", location="s", category="c")
    sales.loc[sales["date"] == "2024-01-09", "on_hand"] = 0
    weekly = an.weekly_totals(sales, by="category")
    assert weekly["week"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-08", "2024-01-15"]
    assert weekly["units"].tolist() == [7.0, 7.0]
    assert weekly["stockout_days"].tolist() == [1, 0]


def test_seasonality_profile_weights_series_by_volume_and_skips_stockouts() -> None:
    pattern = [1.0, 1, 1, 1, 1, 2, 2] * 4  # Monday first: weekends twice the weekdays
    small = _daily([5 * p for p in pattern], sku="A", location="s", category="c", on_hand=9.0)
    large = _daily([50 * p for p in pattern], sku="B", location="s", category="c", on_hand=9.0)
    # A stockout Saturday with nothing sold must not pull Saturday's index down.
    large.loc[5, ["quantity", "on_hand"]] = [0.0, 0.0]
    profile = an.seasonality_profile(pd.concat([small, large]), by="category")
    assert profile["label"].tolist() == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    np.testing.assert_allclose(profile["index"], np.array(pattern[:7]) * 7 / 9)
    months = an.seasonality_profile(pd.concat([small, large]), by="category", period="month")
    assert months["label"].tolist() == ["Jan"]
    with pytest.raises(ValueError, match="period"):
        an.seasonality_profile(small, period="hour")


def test_stockout_spells_do_not_run_across_series() -> None:
    a = _daily([1.0, 0, 0], sku="A", location="s", on_hand=[3.0, 0, 0])
    b = _daily([0.0, 0, 4, 0], sku="B", location="s", on_hand=[0.0, 0, 2, 0])
    spells = an.stockout_spells(pd.concat([b, a]))
    # A's last day and B's first day are both out of stock: still two separate spells.
    assert spells[["sku", "days"]].values.tolist() == [["B", 2], ["A", 2], ["B", 1]]
    assert spells["start"].dt.strftime("%m-%d").tolist() == ["01-01", "01-02", "01-04"]
    assert an.stockout_spells(a.assign(on_hand=1.0)).empty


def test_campaigns_for_matches_sku_or_category_and_location() -> None:
    campaigns = pd.DataFrame(
        {
            "start_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]),
            "end_date": pd.to_datetime(["2024-01-05", "2024-02-05", "2024-03-05", "2024-04-05"]),
            "sku": ["A", "", "", "B"],
            "category": ["", "snacks", "drinks", ""],
            "location": ["", "s", "t", ""],
            "kind": ["price_promo", "email", "email", "feature_ad"],
            "discount_pct": [20.0, 0, 0, 0],
        }
    )
    products = pd.DataFrame({"sku": ["A", "B"], "category": ["snacks", "drinks"]})
    found = an.campaigns_for(campaigns, products, "A", "s")
    assert found["kind"].tolist() == ["price_promo", "email"]
    assert found["scope"].tolist() == ["sku", "category"]
    assert an.campaigns_for(campaigns, products, "A", "t")["kind"].tolist() == ["price_promo"]


def test_demand_patterns_known_classes() -> None:
    days = 12
    series = {
        "smooth": [5.0] * days,
        "erratic": [1.0, 9] * (days // 2),
        "intermittent": [0.0, 0, 3] * (days // 3),
        "lumpy": [0.0, 0, 1, 0, 0, 9] * (days // 6),
        "none": [0.0] * days,
    }
    sales = pd.concat(
        [_daily(values, sku=name, location="s", on_hand=5.0) for name, values in series.items()]
    )
    # A stockout day is not an observed period: the smooth series keeps ADI 1.
    sales.loc[
        (sales["sku"] == "smooth") & (sales["date"] == "2024-01-03"), ["quantity", "on_hand"]
    ] = 0.0
    found = an.demand_patterns(sales).set_index("sku")
    assert found.loc["smooth", "periods"] == days - 1
    assert found["pattern"].to_dict() == {
        "erratic": "erratic",
        "intermittent": "intermittent",
        "lumpy": "lumpy",
        "none": "no_demand",
        "smooth": "smooth",
    }
    assert found.loc["intermittent", "adi"] == pytest.approx(3.0)
    assert found.loc["erratic", "cv2"] == pytest.approx(np.var([1, 9] * 6, ddof=1) / 25)
    assert found["intermittent"].to_dict() == {
        "erratic": False,
        "intermittent": True,
        "lumpy": True,
        "none": True,
        "smooth": False,
    }


def test_history_classes_use_the_inventory_formulas() -> None:
    steady = _daily([10.0] * 28, sku="A", location="s")
    jumpy = _daily([0.0, 2] * 14, sku="B", location="s")
    products = pd.DataFrame(
        {"sku": ["A", "B"], "unit_cost": [2.0, np.nan], "unit_price": [3.0, 1.0]}
    )
    classes = an.history_classes(pd.concat([steady, jumpy]), products).set_index("sku")
    np.testing.assert_allclose(classes["annual_value"], [10 * 365 * 2.0, 1 * 365 * 1.0])
    np.testing.assert_allclose(classes["cv"], [0.0, 1.0])
    assert classes["abc_class"].tolist() == list(inventory.abc_classes([7300.0, 365.0]))
    assert classes["abc_class"].tolist() == ["A", "C"]
    assert classes["xyz_class"].tolist() == ["X", "Y"]
    counts = an.class_counts(classes)
    assert counts.shape == (3, 3)
    assert int(counts.to_numpy().sum()) == 2
    assert counts.loc["A", "X"] == 1
    assert counts.loc["B", "Z"] == 0


# -- forecast diagnostics ------------------------------------------------------------------------


def test_quantile_coverage_brackets_levels_and_skips_missing_actuals() -> None:
    holdout = pd.DataFrame(
        {
            "actual": [0.0, 1, 2, 3, np.nan, 0.0],
            "q05": [0.0, 0, 0, 0, 0, 0],
            "q95": [3.0, 3, 3, 3, 3, 1],
            "group": ["a", "a", "a", "a", "a", "b"],
        }
    )
    pooled = an.quantile_coverage(holdout).set_index("quantile")
    assert pooled.loc["q05", "below"] == 0.0
    assert pooled.loc["q05", "at_or_below"] == pytest.approx(2 / 5)
    assert pooled.loc["q95", "below"] == pytest.approx(4 / 5)
    assert pooled.loc["q95", "at_or_below"] == 1.0
    assert pooled["n"].tolist() == [5, 5]
    by = an.quantile_coverage(holdout, by="group")
    assert set(by["group"]) == {"a", "b"}
    assert by.loc[by["group"] == "b", "n"].tolist() == [1, 1]


def _per_series() -> pd.DataFrame:
    rows = []
    for model, shift in (("auto", 0.0), ("ets", 0.1)):
        for sku, mase in (("A", 0.5), ("B", 1.5), ("C", 1.0)):
            for fold in (0, 1):
                rows.append(
                    {
                        "model": model,
                        "sku": sku,
                        "location": "s",
                        "fold": fold,
                        "mase": mase + shift + fold * 0.1,
                        "bias": -mase,
                        "coverage_90": 0.9,
                    }
                )
    return pd.DataFrame(rows)


def test_metrics_by_segment_model_choice_and_worst_series() -> None:
    per_series = _per_series()
    segments = pd.DataFrame(
        {
            "sku": ["A", "B"],
            "location": "s",
            "abc_class": ["A", "C"],
            "model": ["ensemble:ets", "tsb"],
            "lead_model": ["ets", "tsb"],
        }
    )
    table = an.metrics_by_segment(per_series, segments, "abc_class").set_index(
        ["abc_class", "model"]
    )
    assert table.loc[("A", "auto"), "mase"] == pytest.approx(0.55)
    assert table.loc[("unknown", "ets"), "rows"] == 2  # C has no segment
    assert "rmsse" not in table  # metrics missing from the backtest are left out
    choice = an.model_choice(segments, "abc_class", margins=True)
    assert choice.loc["ets", "A"] == 1
    assert choice.loc["all", "all"] == 2
    worst = an.worst_series(per_series, model="auto", metric="mase", n=2)
    assert worst["sku"].tolist() == ["B", "C"]
    assert worst["mase"].tolist() == pytest.approx([1.55, 1.05])
    assert an.worst_series(per_series, metric="bias", n=1)["sku"].tolist() == ["B"]
    with pytest.raises(ValueError, match="not in the backtest"):
        an.worst_series(per_series, model="prophet")


def test_load_backtest_prefers_snapshot_then_exports(tmp_path) -> None:
    per_series = _per_series().assign(cutoff="2024-03-01")
    summary = pd.DataFrame({"model": ["auto", "ets"], "mase": [0.9, 1.0]})
    con = duckdb.connect()
    assert an.load_backtest(con, tmp_path).source == "none"
    per_series.to_csv(tmp_path / "backtest_series.csv", index=False)
    summary.to_csv(tmp_path / "backtest_summary.csv", index=False)
    from_csv = an.load_backtest(con, tmp_path)
    assert from_csv.source.endswith("backtest_series.csv")
    assert len(from_csv.per_series) == len(per_series)
    assert from_csv.per_series["cutoff"].dt.year.unique().tolist() == [2024]
    con.register("backtest_series", per_series.assign(run_id="r1"))
    con.register("backtest_summary", summary.assign(run_id="r1"))
    stored = an.load_backtest(con, tmp_path)
    assert stored.source == "snapshot"
    assert "run_id" not in stored.per_series
    assert not stored.empty


def test_uplift_matrix_in_percent() -> None:
    uplift = pd.DataFrame(
        {
            "kind": ["email", "email", "price_promo"],
            "category": ["a", "b", "a"],
            "uplift": [1.1, 0.9, 1.5],
            "post_dip": [1.0, 1.0, 0.8],
            "campaigns": [3, 4, 5],
        }
    )
    table = an.uplift_matrix(uplift)
    assert table.loc["price_promo", "a"] == pytest.approx(50.0)
    assert np.isnan(table.loc["price_promo", "b"])
    assert an.uplift_matrix(uplift, "campaigns").loc["email", "b"] == 4


# -- stock policy and risk -----------------------------------------------------------------------


def _policies() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sku": ["A", "B", "C"],
            "location": "s",
            "abc_class": ["A", "A", "C"],
            "service_level": [0.98, 0.98, 0.9],
            "service_kind": "cycle",
            "mean_daily_demand": [10.0, 5.0, 0.0],
            "lead_time_demand": [5000.0, 60.0, 0.0],
            "lead_time_demand_sd": [707.1068, 100.0, 0.0],
            "order_quantity": [10000.0, 50.0, 0.0],
            "safety_stock": [20.0, 10.0, 0.0],
            "reorder_point": [120.0, 60.0, 0.0],
            "max_level": [220.0, 100.0, 0.0],
            "unit_cost": [2.0, 4.0, 1.0],
            "category": ["x", "y", "x"],
        }
    )


def test_policy_by_class_values_stock() -> None:
    table = an.policy_by_class(_policies()).set_index("abc_class")
    assert table.loc["A", "series"] == 2
    assert table.loc["A", "safety_stock"] == 30.0
    assert table.loc["A", "safety_stock_value"] == 20 * 2 + 10 * 4
    assert table.loc["A", "cycle_stock_value"] == 10000 / 2 * 2 + 50 / 2 * 4
    assert table.loc["A", "median_safety_days"] == 2.0
    assert np.isnan(table.loc["C", "median_safety_days"])  # no demand: no days of cover
    assert an.main_category(_policies()) == "x"


def test_service_level_curve_known_answers() -> None:
    one = _policies().iloc[[0]].assign(fractional=True)  # the textbook's continuous units
    cycle = an.service_level_curve(one, [0.90], kinds=["cycle"])
    assert cycle["safety_stock"].iloc[0] == pytest.approx(906.2, abs=0.05)  # Chopra & Meindl 12-3
    assert cycle["safety_stock_value"].iloc[0] == pytest.approx(2 * 906.2, abs=0.1)
    fill = an.service_level_curve(one, [0.975], kinds=["fill_rate"])
    # Chopra & Meindl 12-4 gives 66.7 with normal lead-time demand; the plan uses the negative
    # binomial with the same mean and variance (slightly right-skewed), which needs a bit more.
    assert fill["safety_stock"].iloc[0] == pytest.approx(68.4, abs=0.1)
    curve = an.service_level_curve(_policies(), kinds=["fill_rate", "cycle"])
    assert set(curve["kind"]) == {"fill_rate", "cycle"}
    for _, part in curve.groupby("kind"):
        assert np.all(np.diff(part["safety_stock_value"]) >= -1e-9)  # more service costs more
    assert an.service_level_curve(_policies(), [0.9])["kind"].tolist() == ["cycle"]
    with pytest.raises(ValueError, match="kind"):
        an.service_level_curve(one, [0.9], kinds=["type3"])


def test_risk_ranking_orders_and_joins() -> None:
    risk = pd.DataFrame(
        {
            "sku": ["A", "B", "C"],
            "location": "s",
            "stockout_probability": [0.2, 0.9, 0.9],
            "fill_rate": [0.99, 0.8, 0.9],
            "expected_backorders": [1.0, 5.0, 9.0],
        }
    )
    recommendations = pd.DataFrame(
        {
            "sku": ["B", "B"],
            "location": "s",
            "order_quantity": [10.0, 5],
            "order_by": pd.to_datetime(["2024-01-05", "2024-01-03"]),
            "urgent": [False, True],
        }
    )
    products = pd.DataFrame({"sku": ["A", "B", "C"], "category": ["x", "", None]})
    ranking = an.risk_ranking(risk, _policies(), products, recommendations, n=2)
    assert ranking["sku"].tolist() == ["C", "B"]
    assert ranking["category"].tolist() == ["uncategorised", "uncategorised"]
    b = ranking.set_index("sku").loc["B"]
    assert b["order_quantity"] == 15.0
    assert bool(b["urgent"]) is True
    assert str(b["order_by"].date()) == "2024-01-03"


def test_allocation_by_segment_side_by_side() -> None:
    lines = []
    for policy in ("fifo", "priority"):
        for i, segment in enumerate(["regular", "vip", None]):
            late = policy == "fifo" and segment == "vip"
            lines.append(
                {
                    "policy": policy,
                    "order_id": f"o{i}",
                    "customer_id": f"c{i}",
                    "segment": segment,
                    "sku": "A",
                    "location": "s",
                    "quantity": 2.0,
                    "allocated_now": 0.0 if late else 2.0,
                    "order_date": pd.Timestamp("2024-01-01"),
                    "promised_date": pd.Timestamp("2024-01-03"),
                    "eta": pd.Timestamp("2024-01-06" if late else "2024-01-02"),
                    "delay_days": 3.0 if late else -1.0,
                    "status": "backordered" if late else "allocated",
                }
            )
    table = an.allocation_by_segment(pd.DataFrame(lines))
    assert table.index[:3].tolist() == ["vip", "regular", "unknown"]
    assert table.loc["vip", ("on_time", "fifo")] == 0.0
    assert table.loc["vip", ("on_time", "priority")] == 1.0
    assert table.loc["vip", ("mean_delay", "fifo")] == 3.0


# -- what-if -------------------------------------------------------------------------------------


def test_scenario_table_puts_scenarios_side_by_side() -> None:
    def result(metrics: dict[str, tuple[float, float]]) -> SimpleNamespace:
        rows = [
            {"sku": "A", "location": "s", "metric": m, "before": b, "after": a, "change": a - b}
            for m, (b, a) in metrics.items()
        ]
        return SimpleNamespace(comparison=pd.DataFrame(rows))

    results = {
        "campaign": result(
            {
                "forecast_total": (100.0, 130.0),
                "forecast_in_campaign": (20.0, 50.0),
                "reorder_point": (40.0, 45.0),
            }
        ),
        "delay": result({"forecast_total": (100.0, 100.0), "reorder_point": (40.0, 60.0)}),
    }
    table = an.scenario_table(results).set_index("metric")
    assert table.columns.tolist() == ["sku", "location", "before", "campaign", "delay"]
    assert table.index.tolist() == ["forecast_total", "forecast_in_campaign", "reorder_point"]
    assert table.loc["reorder_point", ["before", "campaign", "delay"]].tolist() == [
        40.0,
        45.0,
        60.0,
    ]
    assert np.isnan(table.loc["forecast_in_campaign", "delay"])
    changes = an.scenario_table(results, changes=True).set_index("metric")
    assert changes.loc["reorder_point", ["campaign", "delay"]].tolist() == [5.0, 20.0]
    with pytest.raises(ValueError, match="no scenarios"):
        an.scenario_table({})


# -- on the snapshot of a small demo run ---------------------------------------------------------


@pytest.fixture(scope="module")
def snapshot(demo_run):
    settings, _ = demo_run
    con = open_results(settings.snapshot_dir)
    yield con
    con.close()


def test_snapshot_readers(snapshot) -> None:
    sales = an.sales_frame(snapshot)
    assert {"date", "sku", "location", "quantity", "stockout", "category"} <= set(sales.columns)
    overview = an.overview(sales).iloc[0]
    assert overview["series"] == 24
    assert overview["last"] == pd.Timestamp(an.as_of_date(snapshot))
    assert len(an.top_skus(snapshot, 3)) == 3
    assert an.read_table(snapshot, "policies").shape[0] == 24
    assert "run_id" not in an.read_table(snapshot, "policies")
    with pytest.raises(KeyError):
        an.read_table(snapshot, "no_such_table")
    start, end = an.campaign_window(snapshot, days=10)
    assert (pd.Timestamp(end) - pd.Timestamp(start)).days == 9
    assert pd.Timestamp(start) > pd.Timestamp(an.as_of_date(snapshot))
    sku, location = an.example_series(
        sales, an.read_table(snapshot, "campaigns"), an.read_table(snapshot, "products")
    )
    assert len(an.for_series(sales, sku, location)) > 0


def test_plan_classes_match_classes_from_history_on_xyz(snapshot) -> None:
    sales = an.sales_frame(snapshot)
    plan = an.read_table(snapshot, "policies")
    both = an.compare_classes(plan, an.history_classes(sales, an.read_table(snapshot, "products")))
    products = an.read_table(snapshot, "products")
    dropship = set(products.loc[products["dropship"].astype(bool), "sku"])
    assert dropship and not set(plan["sku"]) & dropship  # dropship items get no stock policy
    stocked = sales[~sales["sku"].isin(dropship)][["sku", "location"]].drop_duplicates()
    assert len(both) == len(stocked)
    assert both["same_xyz"].all()  # the plan's XYZ uses the same history window and formula


def test_service_level_curve_reproduces_the_plan(snapshot) -> None:
    policies = an.read_table(snapshot, "policies")
    for level, group in policies.groupby("service_level"):
        curve = an.service_level_curve(group, [level])
        assert curve["safety_stock"].iloc[0] == pytest.approx(
            group["safety_stock"].sum(), rel=1e-6, abs=1e-6
        )


def test_series_segments_cover_every_series(snapshot) -> None:
    segments = an.series_segments(snapshot)
    assert len(segments) == 24
    assert set(segments["demand"]) <= {"smooth", "intermittent", "unknown"}
    assert segments["lead_model"].notna().all()
    sample = an.pick_series(segments, by="demand", per_group=2)
    assert sample.groupby("demand").size().max() <= 2


def test_holdout_forecast_scores_quantiles(snapshot) -> None:
    segments = an.series_segments(snapshot)
    sample = an.pick_series(segments, by="demand", per_group=3)
    holdout = an.holdout_forecast(snapshot, horizon=14, series=sample)
    assert len(holdout) == 14 * len(sample)
    assert holdout["cutoff"].nunique() == 1
    assert (holdout["date"] > holdout["cutoff"]).all()
    assert holdout.loc[holdout["stockout"], "actual"].isna().all()
    assert "demand" in holdout  # columns of the series frame are carried over
    coverage = an.quantile_coverage(holdout)
    assert (coverage["below"] <= coverage["at_or_below"]).all()
    assert np.all(np.diff(coverage["at_or_below"]) >= 0)  # higher quantile, more below it


def test_snapshot_backtest_when_none_is_stored(snapshot) -> None:
    assert an.load_backtest(snapshot).empty
    backtest = an.snapshot_backtest(snapshot, horizon=14, folds=1, top_n=4)
    assert backtest.source.startswith("computed here")
    assert {"auto", "ets"} <= set(backtest.per_series["model"])
    assert backtest.per_series["cutoff"].dt.year.min() > 2000
    worst = an.worst_series(backtest.per_series, n=2)
    assert len(worst) == 2


def test_plots_draw(snapshot) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sales = an.sales_frame(snapshot)
    policies = an.with_category(
        an.read_table(snapshot, "policies"), an.read_table(snapshot, "products")
    )
    ranking = an.risk_ranking(an.read_table(snapshot, "risk"), policies, n=5)
    allocation = an.allocation_by_segment(an.read_table(snapshot, "allocations"))
    axes = [
        an.plot_weekly(an.weekly_totals(sales)),
        an.plot_profiles(an.seasonality_profile(sales)),
        an.plot_sales_context(
            an.for_series(sales, "SKU0001", "STORE_N"), an.read_table(snapshot, "campaigns")
        ),
        an.plot_stockout_timeline(an.stockout_spells(sales)),
        an.plot_patterns(an.demand_patterns(sales)),
        an.plot_heatmap(an.class_counts(policies)),
        an.plot_policy_by_class(an.policy_by_class(policies)),
        an.plot_min_max(policies),
        an.plot_service_curve(an.service_level_curve(policies), current_value=1.0),
        an.plot_risk_ranking(ranking),
        *an.plot_allocation(allocation),
    ]
    assert all(ax.has_data() for ax in axes)
    plt.close("all")
