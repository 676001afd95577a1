"""Covariates aligned with a panel (campaigns, events, holidays, price) and campaign uplift."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from forecast.demo import generate_demo
from forecast.forecasting.features import (
    OthersInGroup,
    build_covariates,
    calendar_features,
    estimate_campaign_uplift,
    mean_of_others,
)
from forecast.forecasting.series import DAILY, Frequency, build_panel

KEYS = pd.DataFrame(
    {
        "sku": ["A", "A", "B", "B", "C", "C"],
        "location": ["s1", "s2", "s1", "s2", "s1", "s2"],
    }
)
PRODUCTS = pd.DataFrame(
    {
        "sku": ["A", "B", "C"],
        "category": ["drinks", "drinks", "snacks"],
        "unit_price": [2.0, 3.0, 4.0],
    }
)
DATES = pd.date_range("2024-01-01", periods=20, freq="D")


def campaign(start, end, sku="", category="", location="", kind="price_promo", pct=0.0):
    return {
        "sku": sku,
        "category": category,
        "location": location,
        "start_date": start,
        "end_date": end,
        "kind": kind,
        "discount_pct": pct,
    }


def covariates(rows, dates=DATES, horizon=5, freq=DAILY, **kwargs):
    return build_covariates(
        KEYS, dates, horizon, freq, campaigns=pd.DataFrame(rows), products=PRODUCTS, **kwargs
    )


def row_of(sku, location):
    return int(np.flatnonzero((KEYS["sku"] == sku) & (KEYS["location"] == location))[0])


def test_shapes_and_dates_cover_history_and_horizon():
    cov = covariates([campaign("2024-01-03", "2024-01-04", sku="A")])
    assert cov.n_history == 20 and cov.horizon == 5
    assert list(cov.dates[18:22].strftime("%m-%d")) == ["01-19", "01-20", "01-21", "01-22"]
    for name in (
        "campaign_active",
        "campaign_discount",
        "campaign_kind",
        "days_into_campaign",
        "days_after_campaign",
        "event",
        "holiday",
        "price",
    ):
        assert getattr(cov, name).shape == (6, 25), name
    assert cov.category.tolist() == [1, 1, 1, 1, 2, 2]
    assert cov.category_names == ["unknown", "drinks", "snacks"]
    assert cov.kind_names[0] == "none"


def test_sku_campaign_marks_exactly_its_dates_at_every_location():
    cov = covariates([campaign("2024-01-03", "2024-01-05", sku="A", pct=20)])
    marked = np.argwhere(cov.campaign_active > 0)
    assert marked.tolist() == [[r, d] for r in (0, 1) for d in (2, 3, 4)]
    a = row_of("A", "s1")
    assert cov.campaign_discount[a, 2:5] == pytest.approx([0.2] * 3)
    assert cov.campaign_kind[a, 2:5].tolist() == [cov.kind_names.index("price_promo")] * 3
    assert cov.days_into_campaign[a, :7].tolist() == [-1, -1, 0, 1, 2, -1, -1]
    assert cov.days_after_campaign[a, :8].tolist() == [0, 0, 0, 0, 0, 1, 2, 3]
    # capped at 28 days after the campaign, 0 before any campaign
    long = covariates([campaign("2024-01-01", "2024-01-01", sku="A")], horizon=40)
    assert long.days_after_campaign[a, 28] == 28 and long.days_after_campaign[a, 29] == 0
    assert (cov.campaign_active[row_of("B", "s1")] == 0).all()


def test_category_campaign_hits_all_skus_of_the_category_at_one_location():
    cov = covariates([campaign("2024-01-10", "2024-01-11", category="drinks", location="s2")])
    hit = np.flatnonzero(cov.campaign_active.any(axis=1))
    assert hit.tolist() == [row_of("A", "s2"), row_of("B", "s2")]
    assert (cov.campaign_active[hit][:, 9:11] == 1).all()


def test_location_empty_hits_every_location_and_named_location_only_that_one():
    cov = covariates(
        [
            campaign("2024-01-02", "2024-01-02", sku="C"),
            campaign("2024-01-06", "2024-01-06", sku="B", location="s1"),
        ]
    )
    assert cov.campaign_active[row_of("C", "s1"), 1] == 1
    assert cov.campaign_active[row_of("C", "s2"), 1] == 1
    assert cov.campaign_active[row_of("B", "s1"), 5] == 1
    assert cov.campaign_active[row_of("B", "s2")].sum() == 0


def test_overlap_takes_max_discount_and_strongest_kind():
    cov = covariates(
        [
            campaign("2024-01-05", "2024-01-10", category="drinks", kind="email"),
            campaign("2024-01-07", "2024-01-08", sku="A", kind="price_promo", pct=30),
            campaign("2024-01-08", "2024-01-09", sku="A", kind="price_promo", pct=10),
        ]
    )
    a = row_of("A", "s1")
    promo, email = cov.kind_names.index("price_promo"), cov.kind_names.index("email")
    assert cov.campaign_discount[a, 4:10] == pytest.approx([0, 0, 0.3, 0.3, 0.1, 0], abs=1e-6)
    assert cov.campaign_kind[a, 4:10].tolist() == [email, email, promo, promo, promo, email]
    assert cov.campaign_active[a, 4:10].tolist() == [1] * 6
    assert cov.days_after_campaign[a, 10] == 1
    # B only gets the e-mail
    assert cov.campaign_kind[row_of("B", "s1"), 4:10].tolist() == [email] * 6


def test_planned_campaign_in_the_future_and_campaign_before_history():
    cov = covariates(
        [
            campaign("2024-01-22", "2024-01-23", sku="B", pct=25),
            campaign("2023-12-25", "2024-01-02", sku="C", kind="email"),
        ]
    )
    b = row_of("B", "s1")
    assert cov.campaign_active[b, 21:23].tolist() == [1, 1]
    c = row_of("C", "s1")
    assert cov.campaign_active[c, :3].tolist() == [1, 1, 0]
    assert cov.days_into_campaign[c, :2].tolist() == [7, 8]  # counted from the real start


def test_weekly_panel_campaign_marks_the_weeks_it_overlaps():
    weekly = Frequency("W", "W-MON", 7.0, 52)
    dates = pd.date_range("2024-01-01", periods=8, freq="W-MON")  # Mondays
    cov = covariates(
        [
            campaign("2024-01-10", "2024-01-16", sku="A", pct=10),  # Wed week 2 .. Tue week 3
            campaign("2024-01-15", "2024-01-15", sku="A", pct=40),  # Monday of week 3
            campaign("2024-02-27", "2024-03-01", sku="B", pct=5),  # in the future part
        ],
        dates=dates,
        horizon=4,
        freq=weekly,
    )
    a = row_of("A", "s1")
    assert cov.campaign_active[a, :5].tolist() == [0, 1, 1, 0, 0]
    assert cov.campaign_discount[a, 1:3] == pytest.approx([0.1, 0.4])
    assert cov.days_into_campaign[a, 1:3].tolist() == [0, 0]
    assert cov.days_after_campaign[a, 3:8].tolist() == [1, 2, 3, 4, 0]  # cap 28 days = 4 weeks
    assert cov.campaign_active[row_of("B", "s1"), 8] == 1  # week starting 26 Feb


def test_future_price_applies_planned_discounts():
    n, t = len(KEYS), len(DATES)
    price = np.full((n, t), np.nan)
    price[:, 2:] = 5.0
    a = row_of("A", "s1")
    price[a, 18:] = 4.0  # the last two history days are a 20% promotion
    cov = covariates(
        [
            campaign("2024-01-19", "2024-01-20", sku="A", location="s1", pct=20),
            campaign("2024-01-22", "2024-01-23", sku="A", pct=50),
        ],
        price=price,
    )
    assert cov.price[a, :2] == pytest.approx([5.0, 5.0])  # back-filled before the first price
    assert cov.price[a, 18:20] == pytest.approx([4.0, 4.0])
    # regular price 5 (the promo price is not carried into the future), 50% off on 22-23 Jan
    assert cov.price[a, 20:25] == pytest.approx([5.0, 2.5, 2.5, 5.0, 5.0])
    assert cov.price[row_of("A", "s2"), 20:25] == pytest.approx([5.0, 2.5, 2.5, 5.0, 5.0])
    # without panel prices: the product's unit price x (1 - discount)
    cov = covariates([campaign("2024-01-22", "2024-01-23", sku="A", pct=50)])
    assert cov.price[a, 19:23] == pytest.approx([2.0, 2.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="price has shape"):
        covariates([], price=np.ones((2, 3)))


def test_events_by_location_and_holidays():
    events = pd.DataFrame(
        {
            "date": ["2024-01-03", "2024-01-05", "2024-01-22"],
            "name": ["fair", "sale", "launch"],
            "kind": ["local", "retail", "retail"],
            "location": ["s2", "", ""],
        }
    )
    cov = build_covariates(KEYS, DATES, 5, DAILY, events=events, products=PRODUCTS)
    s1, s2 = row_of("A", "s1"), row_of("A", "s2")
    assert np.flatnonzero(cov.event[s1]).tolist() == [4, 21]
    assert np.flatnonzero(cov.event[s2]).tolist() == [2, 4, 21]
    assert np.flatnonzero(cov.events_by_kind["local"][s2]).tolist() == [2]
    # US holidays: New Year's Day and Martin Luther King Jr. Day (15 Jan 2024)
    assert np.flatnonzero(cov.holiday[s1]).tolist() == [0, 14]
    none = build_covariates(KEYS, DATES, 5, DAILY, country=None)
    assert none.holiday.sum() == 0 and none.event.sum() == 0
    with pytest.raises(ValueError, match="holidays package"):
        build_covariates(KEYS, DATES, 5, DAILY, country="XX")


def test_category_campaign_without_products_warns():
    with pytest.warns(UserWarning, match="no products"):
        cov = build_covariates(
            KEYS,
            DATES,
            5,
            DAILY,
            campaigns=pd.DataFrame([campaign("2024-01-02", "2024-01-03", category="drinks")]),
        )
    assert cov.campaign_active.sum() == 0 and cov.category.tolist() == [0] * 6


def test_calendar_features():
    f = calendar_features(pd.DatetimeIndex(["2024-01-01", "2024-02-29", "2024-12-31"]))
    assert f["day_of_week"].tolist() == [0, 3, 1]
    assert f["month"].tolist() == [1, 2, 12]
    assert f["is_month_start"].tolist() == [1, 0, 0]
    assert f["is_month_end"].tolist() == [0, 1, 1]
    assert f["week_of_year"].tolist() == [1, 9, 1]
    assert f["day_of_year_sin"][2] == pytest.approx(np.sin(2 * np.pi * 366 / 365.25), abs=1e-6)
    assert all(v.dtype == np.float32 for v in f.values())


def test_ten_thousand_campaign_rows_mark_exactly_their_skus_days():
    rng = np.random.default_rng(0)
    n_skus, n_loc = 500, 4
    keys = pd.DataFrame(
        {
            "sku": np.repeat([f"S{i}" for i in range(n_skus)], n_loc),
            "location": np.tile(["a", "b", "c", "d"], n_skus),
        }
    )
    dates = pd.date_range("2023-01-01", periods=730, freq="D")
    start = dates[rng.integers(0, 700, 10_000)]
    rows = pd.DataFrame(
        {
            "sku": [f"S{i}" for i in rng.integers(0, n_skus, 10_000)],
            "category": "",
            "location": "",
            "start_date": start,
            "end_date": start + pd.to_timedelta(rng.integers(0, 14, 10_000), unit="D"),
            "kind": "price_promo",
            "discount_pct": 20.0,
        }
    )
    cov = build_covariates(keys, dates, 28, DAILY, campaigns=rows)  # its speed: bench/
    # independently: a SKU is in a campaign on a day that one of its 10,000 rows covers, at
    # every location (the rows name no location), inclusive of both ends
    axis = pd.date_range(dates[0], periods=len(dates) + 28, freq="D")
    sku_index = {f"S{i}": i for i in range(n_skus)}
    active = np.zeros((n_skus, len(axis)), dtype=bool)
    for sku, first, last in rows[["sku", "start_date", "end_date"]].itertuples(index=False):
        active[sku_index[sku], (axis >= first) & (axis <= last)] = True
    expected = active[keys["sku"].map(sku_index).to_numpy()]
    assert expected.sum() > 10_000
    np.testing.assert_array_equal(cov.campaign_active.astype(bool), expected)


# ------------------------------------------------------------------------------------------
# campaign uplift on the demo data
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_uplift(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo_uplift")
    generate_demo(folder, seed=7, n_skus=30, days=500)
    sales = pd.read_csv(folder / "sales.csv.gz")
    panel = build_panel(sales[["date", "sku", "location", "quantity", "price", "on_hand"]])
    cov = build_covariates(
        panel.keys,
        panel.dates,
        28,
        panel.freq,
        campaigns=pd.read_csv(folder / "campaigns.csv"),
        events=pd.read_csv(folder / "events.csv"),
        products=pd.read_csv(folder / "products.csv"),
        price=panel.price,
    )
    truth = json.loads((folder / "truth.json").read_text())
    result = estimate_campaign_uplift(panel.demand, cov)
    true = [
        truth["campaign_uplift"][k][c]["mean_multiplier"]
        for k, c in zip(result["kind"], result["category"])
    ]
    result["true"] = true
    return result, truth


def test_uplift_multiplier_within_20_percent_of_truth(demo_uplift):
    result, _ = demo_uplift
    assert list(result.columns[:6]) == [
        "kind",
        "category",
        "campaigns",
        "periods",
        "uplift",
        "post_dip",
    ]
    enough = result[result["campaigns"] >= 5]
    assert len(enough) >= 12
    # |estimated multiplier - true mean multiplier| / true multiplier <= 0.2
    rel = (enough["uplift"] - enough["true"]).abs() / enough["true"]
    assert (rel <= 0.2).all(), enough.assign(rel=rel).to_string()
    # the uplift part (multiplier - 1) of price promotions, the large effects: within 35%
    promo = enough[enough["kind"] == "price_promo"]
    rel_part = (promo["uplift"] - promo["true"]).abs() / (promo["true"] - 1)
    assert (rel_part <= 0.35).all(), promo.assign(rel_part=rel_part).to_string()
    # every campaign kind lifts demand on average
    assert (enough.groupby("kind")["uplift"].mean() > 1.05).all()


def test_uplift_post_promo_dip(demo_uplift):
    result, truth = demo_uplift
    dip = truth["post_campaign_dip"]["multiplier"]  # 0.8 for 7 days after price promos
    promo = result[result["kind"] == "price_promo"]
    assert promo["post_dip"].median() == pytest.approx(dip, abs=0.1)
    others = result[result["kind"] != "price_promo"]
    assert others["post_dip"].median() == pytest.approx(1.0, abs=0.1)


def test_uplift_without_campaigns_is_empty():
    cov = build_covariates(KEYS, DATES, 5, DAILY)
    out = estimate_campaign_uplift(np.ones((6, 20)), cov)
    assert out.empty and "uplift" in out.columns
    with pytest.raises(ValueError, match="panel_demand has shape"):
        estimate_campaign_uplift(np.ones((6, 3)), cov)


# ------------------------------------------------------------------------------------------
# per-kind flags, regular price, what the other series of the location do
# ------------------------------------------------------------------------------------------
def test_overlapping_kinds_each_keep_their_flag():
    # A feature ad running inside a week of deal: the cell's kind is the stronger campaign, but
    # the feature ad keeps its own flag (Dominick's: every feature ad is in a deal week).
    rows = [
        campaign("2024-01-03", "2024-01-09", sku="A", kind="in_store_deal", pct=10.0),
        campaign("2024-01-05", "2024-01-06", sku="A", kind="feature_ad"),
    ]
    cov = covariates(rows)
    a1 = row_of("A", "s1")
    assert set(cov.campaigns_by_kind) == {"feature_ad", "in_store_deal"}
    assert np.flatnonzero(cov.campaigns_by_kind["in_store_deal"][a1]).tolist() == list(range(2, 9))
    assert np.flatnonzero(cov.campaigns_by_kind["feature_ad"][a1]).tolist() == [4, 5]
    assert cov.kind_names[cov.campaign_kind[a1, 4]] == "in_store_deal"  # the strongest
    assert cov.campaigns_by_kind["feature_ad"][row_of("B", "s1")].sum() == 0


def test_regular_price_is_the_trailing_maximum_and_reads_no_later_price():
    weekly = Frequency("W", "W-MON", 7.0, 52)
    dates = pd.date_range("2024-01-01", periods=40, freq="W-MON")
    price = np.full((len(KEYS), 40), 2.0)
    price[0, 10:12] = 1.5  # a two-week deal
    price[0, 20:] = 2.4  # a permanent rise of the regular price
    price[1, :] = np.nan  # no price known: NaN, not an error
    cov = build_covariates(KEYS, dates, 4, weekly, products=PRODUCTS, price=price)
    regular = cov.regular_price[0]
    assert regular.shape == (44,)
    np.testing.assert_allclose(regular[:20], 2.0)  # the deal does not lower it
    np.testing.assert_allclose(regular[20:], 2.4)  # the rise shows at once
    assert np.isnan(cov.regular_price[1]).all()
    # Only prices up to t: changing a later price leaves every earlier regular price alone.
    later = price.copy()
    later[0, 30] = 9.0
    again = build_covariates(KEYS, dates, 4, weekly, products=PRODUCTS, price=later)
    np.testing.assert_array_equal(again.regular_price[0, :30], cov.regular_price[0, :30])
    assert again.regular_price[0, 30] == pytest.approx(9.0)


def test_location_share_and_relative_price_of_the_other_series():
    # s1 holds A, B, C; a campaign on B at s1 only, and B's price at s1 halved on day 3.
    rows = [campaign("2024-01-03", "2024-01-04", sku="B", location="s1")]
    price = np.full((len(KEYS), len(DATES)), 2.0)
    price[row_of("B", "s1"), 2] = 1.0
    cov = covariates(rows, price=price)
    a1, b1, c1, a2 = row_of("A", "s1"), row_of("B", "s1"), row_of("C", "s1"), row_of("A", "s2")
    share = cov.location_campaign_share
    assert share[a1, 2] == pytest.approx(0.5) and share[c1, 3] == pytest.approx(0.5)
    assert share[b1, 2] == 0.0  # its own campaign is not counted
    assert share[a2].sum() == 0.0  # another location
    np.testing.assert_array_equal(cov.location_share_by_kind["price_promo"], share)
    rel = cov.location_relative_price
    assert rel[a1, 2] == pytest.approx(0.75)  # (0.5 + 1.0) / 2 others
    assert rel[b1, 2] == pytest.approx(1.0)
    assert rel[a2, 2] == pytest.approx(1.0)


def test_mean_of_others_alone_is_nan():
    values = np.array([[1.0, np.nan], [3.0, 4.0], [5.0, 6.0]])
    out = mean_of_others(values, np.array([0, 0, 1]))
    np.testing.assert_allclose(out[0], [3.0, 4.0])
    assert out[1, 0] == pytest.approx(1.0) and np.isnan(out[1, 1])  # its only other is NaN
    assert np.isnan(out[2]).all()


def _brute_others(values, group, reduce):
    out = np.full(values.shape, np.nan)
    for r in range(values.shape[0]):
        others = (group == group[r]) & (np.arange(values.shape[0]) != r)
        for c in range(values.shape[1]):
            out[r, c] = reduce(values[others, c], others)
    return out


def test_weighted_mean_and_min_of_the_others_match_a_row_by_row_computation():
    rng = np.random.default_rng(3)
    values = rng.uniform(0.5, 1.0, size=(40, 9))
    values[rng.random(values.shape) < 0.2] = np.nan
    group = rng.integers(0, 6, size=40)
    group[-1] = 99  # a store with one series: nothing to compare with
    weights = rng.uniform(0.0, 5.0, size=40)

    def weighted(v, others):
        w = weights[others]
        ok = ~np.isnan(v)
        return np.sum(v[ok] * w[ok]) / np.sum(w[ok]) if ok.any() and np.sum(w[ok]) > 0 else np.nan

    def smallest(v, others):
        return np.nanmin(v) if np.isfinite(v).any() else np.nan

    others = OthersInGroup(group, weights)
    others.add("x", values)
    rows, periods = np.divmod(np.arange(values.size), values.shape[1])
    np.testing.assert_allclose(
        others.mean("x", rows, periods).reshape(values.shape),
        _brute_others(values, group, weighted),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        others.min("x", rows, periods).reshape(values.shape),
        _brute_others(values, group, smallest),
        rtol=1e-6,
    )
    # Ties: two series share the group's minimum, so each one's "others" still hold it.
    tied = OthersInGroup(np.zeros(3, int))
    tied.add("x", np.array([[0.7], [0.7], [0.9]]))
    np.testing.assert_allclose(tied.min("x", np.arange(3), np.zeros(3, int)), [0.7] * 3, rtol=1e-6)
