"""The demo data generator: determinism, the input contract, and the features it plants."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from forecast.demo import TABLE_FILES, generate_demo

END = "2026-10-31"
SMALL = {"seed": 7, "n_skus": 20, "n_locations": 2, "days": 400, "end_date": END}

# fmt: off
COLUMNS = {
    "sales": ["date", "sku", "location", "quantity", "price", "on_hand"],
    "products": [
        "sku", "name", "category", "department", "unit_cost", "unit_price", "supplier",
        "lead_time_days", "lead_time_sd_days", "moq", "pack_size", "service_level",
    ],
    "suppliers": ["supplier", "name", "lead_time_days", "lead_time_sd_days", "order_cost"],
    "campaigns": [
        "sku", "category", "location", "start_date", "end_date", "kind", "discount_pct",
    ],
    "events": ["date", "name", "kind", "location"],
    "inventory": ["sku", "location", "on_hand", "as_of"],
    "purchase_orders": ["po_id", "sku", "location", "supplier", "quantity", "expected_date"],
    "customers": ["customer_id", "segment", "lifetime_value"],
    "customer_orders": [
        "order_id", "customer_id", "sku", "location", "quantity", "order_date", "shipping",
        "promised_date", "unit_price",
    ],
}
# fmt: on


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("demo")
    return out, generate_demo(out, **SMALL)


@pytest.fixture(scope="module")
def tables(demo: tuple[Path, dict]) -> dict[str, pd.DataFrame]:
    out, _ = demo
    return {name: pd.read_csv(out / file) for name, file in TABLE_FILES.items()}


@pytest.fixture(scope="module")
def truth(demo: tuple[Path, dict]) -> dict:
    return json.loads((demo[0] / "truth.json").read_text())


def _days_after_end(values: pd.Series) -> pd.Series:
    return (pd.to_datetime(values) - pd.Timestamp(END)).dt.days


def _open_vs_stock(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    open_qty = tables["customer_orders"].groupby(["sku", "location"])["quantity"].sum()
    stock = tables["inventory"].set_index(["sku", "location"])["on_hand"]
    out = pd.DataFrame({"open": open_qty}).join(stock, how="inner")
    po_keys = tables["purchase_orders"].set_index(["sku", "location"]).index
    out["has_po"] = out.index.isin(po_keys)
    return out


def test_same_seed_gives_identical_bytes(demo, tmp_path):
    first, _ = demo
    generate_demo(tmp_path, **SMALL)
    for file in [*TABLE_FILES.values(), "truth.json"]:
        assert (first / file).read_bytes() == (tmp_path / file).read_bytes(), file


def test_another_seed_gives_other_data(demo, tmp_path):
    generate_demo(tmp_path, **{**SMALL, "seed": 8})
    assert (demo[0] / "sales.csv.gz").read_bytes() != (tmp_path / "sales.csv.gz").read_bytes()


def test_every_table_is_written_with_its_columns(demo, tables):
    out, summary = demo
    assert (out / "sales.csv.gz").exists() and (out / "truth.json").exists()
    for name, columns in COLUMNS.items():
        assert list(tables[name].columns) == columns, name
        assert summary[name] == len(tables[name]) > 0, name
    assert summary["as_of"] == END


def test_history_ends_at_the_as_of_date(tables, truth):
    sales = tables["sales"]
    assert sales["date"].max() == END
    assert (
        sales["date"].min()
        == (date.fromisoformat(END) - timedelta(days=SMALL["days"] - 1)).isoformat()
    )
    assert set(tables["inventory"]["as_of"]) == {END}
    assert truth["as_of"] == END


def test_one_row_per_series_and_day_from_launch(tables, truth):
    sales = tables["sales"]
    assert not sales.duplicated(["date", "sku", "location"]).any()
    first_day = sales.groupby("sku")["date"].min()
    for sku, launch in truth["launch_dates"].items():
        assert first_day[sku] == launch
        assert 30 <= (date.fromisoformat(END) - date.fromisoformat(launch)).days <= 120
    old = first_day.drop(truth["new_skus"])
    assert (old == sales["date"].min()).all()


def test_no_negative_quantities(tables):
    assert (tables["sales"][["quantity", "on_hand"]] >= 0).all().all()
    assert (tables["sales"]["price"] > 0).all()
    assert (tables["purchase_orders"]["quantity"] > 0).all()
    assert (tables["customer_orders"]["quantity"] > 0).all()


def test_inventory_matches_the_last_day_of_sales(tables):
    sales = tables["sales"]
    last = sales[sales["date"] == END].set_index(["sku", "location"])["on_hand"]
    inventory = tables["inventory"].set_index(["sku", "location"])["on_hand"]
    pd.testing.assert_series_equal(inventory.sort_index(), last.sort_index())


def test_products_fall_back_to_supplier_lead_times(tables):
    products, suppliers = tables["products"], tables["suppliers"]
    assert products["lead_time_days"].isna().any() and products["lead_time_days"].notna().any()
    assert set(products["supplier"]) <= set(suppliers["supplier"])
    assert suppliers["lead_time_days"].between(3, 30).all()
    assert set(products["service_level"].dropna()) <= {0.97, 0.99}
    assert products["service_level"].isna().mean() > 0.5


def test_campaigns_past_and_planned(tables):
    campaigns = tables["campaigns"]
    assert (campaigns["sku"].isna() ^ campaigns["category"].isna()).all()
    starts = _days_after_end(campaigns["start_date"])
    planned = campaigns[starts > 0]
    assert len(planned) > 0 and starts[starts > 0].le(60).all()
    assert (starts <= 0).sum() > len(planned)
    length = pd.to_datetime(campaigns["end_date"]) - pd.to_datetime(campaigns["start_date"])
    assert length.dt.days.between(2, 13).all()
    promos = campaigns[campaigns["kind"] == "price_promo"]
    assert promos["discount_pct"].between(10, 40).all()
    assert (campaigns.loc[campaigns["kind"] == "email", "discount_pct"] == 0).all()
    assert campaigns["category"].notna().any()


def test_events_include_holidays_retail_and_local(tables):
    events = tables["events"]
    assert {"holiday", "retail", "local"} <= set(events["kind"])
    assert "Black Friday" in set(events["name"])
    assert _days_after_end(events["date"]).max() > 60
    local = events[events["kind"] == "local"]
    assert local["location"].notna().all()


def test_store_closed_on_christmas(tables, truth):
    sales = tables["sales"]
    closed = sales[sales["date"].isin(truth["closed_dates"])]
    assert len(closed) > 0 and (closed["quantity"] == 0).all()


def test_stockout_spells_have_no_stock_and_no_sales(tables, truth):
    sales = tables["sales"].set_index(["sku", "location", "date"]).sort_index()
    assert (sales["on_hand"] == 0).any()
    spells = truth["stockout_spells"]
    n_series = len(tables["inventory"])
    assert 0.15 <= len({(s[0], s[1]) for s in spells}) / n_series <= 0.35
    for sku, location, first, last in spells:
        days = pd.date_range(first, last).strftime("%Y-%m-%d")
        window = sales.loc[(sku, location)].loc[days]
        assert (window["on_hand"] == 0).all()
        assert (window["quantity"].iloc[1:] == 0).all()


def test_intermittent_skus_have_many_zero_days(tables, truth):
    sales = tables["sales"]
    zero = (sales["quantity"] == 0).groupby(sales["sku"]).mean()
    assert truth["intermittent_skus"]
    assert (zero[truth["intermittent_skus"]] > 0.4).all()
    assert zero.drop(truth["intermittent_skus"]).median() < 0.1


def test_campaign_days_sell_more(tables):
    sales = tables["sales"].copy()
    sales["date"] = pd.to_datetime(sales["date"])
    campaigns = tables["campaigns"]
    promos = campaigns[(campaigns["kind"] == "price_promo") & campaigns["sku"].notna()]
    promos = promos[pd.to_datetime(promos["end_date"]) <= pd.Timestamp(END)]
    days = [
        (row.sku, day)
        for row in promos.itertuples()
        for day in pd.date_range(row.start_date, row.end_date)
    ]
    on = pd.MultiIndex.from_tuples(days, names=["sku", "date"])
    sales = sales[sales["on_hand"] > 0]  # leave out censored days
    sales = sales[sales["sku"].isin(promos["sku"])]
    in_promo = pd.MultiIndex.from_frame(sales[["sku", "date"]]).isin(on)
    # campaign rows at one store count for both here; compare the per-SKU means
    ratio = (
        sales[in_promo].groupby("sku")["quantity"].mean()
        / sales[~in_promo].groupby("sku")["quantity"].mean()
    )
    assert ratio.median() > 1.2
    assert (ratio > 1).mean() > 0.7


def test_promo_price_is_discounted(tables):
    sales, products = tables["sales"], tables["products"]
    list_price = sales["sku"].map(products.set_index("sku")["unit_price"])
    assert (sales["price"] <= list_price + 1e-9).all()
    assert (sales["price"] < list_price - 1e-9).any()


def test_open_purchase_orders_are_due_after_the_end(tables):
    po = tables["purchase_orders"]
    assert _days_after_end(po["expected_date"]).between(1, 30).all()
    n_series = len(tables["inventory"])
    assert 0.1 <= po.groupby(["sku", "location"]).ngroups / n_series <= 0.4
    assert po["po_id"].is_unique


def test_customer_orders_express_and_backorders(tables):
    orders = tables["customer_orders"]
    assert (orders["shipping"] == "express").any()
    assert set(orders["shipping"]) == {"express", "standard"}
    promise = pd.to_datetime(orders["promised_date"]) - pd.to_datetime(orders["order_date"])
    express = orders["shipping"] == "express"
    assert promise[express].dt.days.between(1, 2).all()
    assert promise[~express].dt.days.between(3, 7).all()
    assert (orders["promised_date"] < END).any()  # past promise: backordered
    assert (orders["order_date"] <= END).all()
    assert _days_after_end(orders["order_date"]).min() >= -21
    assert orders["order_id"].duplicated().any()  # some orders have several lines
    assert set(orders["customer_id"]) <= set(tables["customers"]["customer_id"])


def test_open_orders_exceed_stock(tables, truth):
    short = _open_vs_stock(tables)
    short = short[short["open"] > short["on_hand"]]
    assert len(short) >= 4
    assert ((short["on_hand"] == 0) & short["has_po"]).any()
    assert ((short["on_hand"] == 0) & ~short["has_po"]).any()
    assert (short["on_hand"] > 0).any()
    for sku, location in truth["scenarios"]["zero_stock_no_po"]:
        assert not short.loc[(sku, location), "has_po"]


def test_customers_have_segments(tables):
    customers = tables["customers"]
    assert set(customers["segment"]) == {"vip", "loyal", "regular", "new"}
    assert (customers["lifetime_value"] > 0).all()


def test_truth_describes_the_planted_effects(truth):
    uplift = truth["campaign_uplift"]
    assert set(uplift) == {"price_promo", "email", "feature_ad"}
    beverages = uplift["price_promo"]["beverages"]
    expected = 1 + beverages["elasticity"] * beverages["mean_discount_pct"] / 100
    assert beverages["mean_multiplier"] == pytest.approx(expected, abs=1e-3)
    assert truth["post_campaign_dip"]["length_days"] == 7
    assert 0 < truth["post_campaign_dip"]["depth"] < 1
    assert truth["new_skus"] and truth["intermittent_skus"]
    assert not set(truth["new_skus"]) & set(truth["intermittent_skus"])


def test_rejects_too_small_a_request(tmp_path):
    with pytest.raises(ValueError, match="days"):
        generate_demo(tmp_path, days=30)
    with pytest.raises(ValueError, match="n_skus"):
        generate_demo(tmp_path, n_skus=3)
