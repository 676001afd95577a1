"""The demo data generator: determinism, the input contract, and the features it plants."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecast.demo import _RELIABILITY, TABLE_FILES, generate_demo
from forecast.ingest.contract import FLASH_SALE, ORDER_STATUSES

END = "2026-10-31"
SMALL = {"seed": 7, "n_skus": 20, "n_locations": 2, "days": 400, "end_date": END}

# fmt: off
COLUMNS = {
    "sales": ["date", "sku", "location", "quantity", "price", "on_hand"],
    "products": [
        "sku", "name", "category", "department", "unit_cost", "unit_price", "supplier",
        "lead_time_days", "lead_time_sd_days", "moq", "pack_size", "service_level",
        "preorder", "launch_date", "dropship",
    ],
    "suppliers": ["supplier", "name", "lead_time_days", "lead_time_sd_days", "order_cost"],
    "campaigns": [
        "sku", "category", "location", "start_date", "end_date", "kind", "discount_pct",
        "stock_quantity",
    ],
    "events": ["date", "name", "kind", "location"],
    "inventory": ["sku", "location", "on_hand", "as_of"],
    "purchase_orders": ["po_id", "sku", "location", "supplier", "quantity", "expected_date"],
    "receipts": [
        "po_id", "sku", "location", "supplier", "order_date", "expected_date", "received_date",
        "quantity",
    ],
    "customers": ["customer_id", "segment", "lifetime_value", "language", "email", "phone"],
    "customer_orders": [
        "order_id", "customer_id", "sku", "location", "quantity", "order_date", "shipping",
        "promised_date", "unit_price", "status", "status_date",
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


def _open_lines(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    orders = tables["customer_orders"]
    return orders[orders["status"] == "open"]


def _flagged(products: pd.DataFrame, column: str) -> list[str]:
    return products.loc[products[column] == "yes", "sku"].tolist()


def _open_vs_stock(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    open_qty = _open_lines(tables).groupby(["sku", "location"])["quantity"].sum()
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
    assert (tables["sales"]["quantity"] >= 0).all()
    assert (tables["sales"]["on_hand"].dropna() >= 0).all()
    assert (tables["sales"]["price"] > 0).all()
    assert (tables["purchase_orders"]["quantity"] > 0).all()
    assert (tables["customer_orders"]["quantity"] > 0).all()


def test_inventory_matches_the_last_day_of_sales(tables):
    sales = tables["sales"]
    sales = sales[~sales["sku"].isin(_flagged(tables["products"], "dropship"))]
    last = sales[sales["date"] == END].set_index(["sku", "location"])["on_hand"]
    inventory = tables["inventory"].set_index(["sku", "location"])["on_hand"]
    pd.testing.assert_series_equal(inventory.sort_index(), last.sort_index(), check_dtype=False)


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
    orders = _open_lines(tables)
    assert (orders["shipping"] == "express").any()
    assert set(orders["shipping"]) == {"express", "standard"}
    products = tables["products"]
    stocked = tables["customer_orders"]
    stocked = stocked[
        ~stocked["sku"].isin(_flagged(products, "dropship") + _flagged(products, "preorder"))
    ]
    promise = pd.to_datetime(stocked["promised_date"]) - pd.to_datetime(stocked["order_date"])
    express = stocked["shipping"] == "express"
    assert promise[express].dt.days.between(1, 2).all()
    assert promise[~express].dt.days.between(3, 7).all()
    assert (orders["promised_date"] < END).any()  # past promise: backordered
    assert (orders["order_date"] <= END).all()
    assert _days_after_end(orders["order_date"]).min() >= -60
    assert orders["order_id"].duplicated().any()  # some orders have several lines
    assert set(tables["customer_orders"]["customer_id"]) <= set(tables["customers"]["customer_id"])
    assert not tables["customer_orders"].duplicated(["order_id", "sku", "location"]).any()


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


def test_customers_have_languages_and_contacts_for_the_messages(tables):
    customers = tables["customers"]
    assert set(customers["language"].dropna()) == {"fr", "en"}
    assert customers["language"].isna().any()  # these take the default language
    email, phone = customers["email"].notna(), customers["phone"].notna()
    assert customers.loc[email, "email"].str.endswith("@example.com").all()
    assert (email & phone).any() and (email & ~phone).any() and (~email & phone).any()
    assert (~email & ~phone).any()  # no contact on file: nothing is invented for them


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


# -- the tables of issue #8: receipts, order history, dropship, pre-orders, flash sale ----------
def _days_between(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return (pd.to_datetime(later) - pd.to_datetime(earlier)).dt.days


def test_the_demo_loads_with_no_rejects(demo, tmp_path):
    from forecast.ingest.contract import LOAD_ORDER, TABLES, find_table_files
    from forecast.ingest.warehouse import Warehouse

    out, summary = demo
    files = find_table_files(out)
    assert set(files) == set(TABLE_FILES)
    with Warehouse(tmp_path / "w.duckdb") as wh:  # as `forecast ingest` loads a folder
        results = [wh.load_file(TABLES[name], files[name]) for name in LOAD_ORDER if name in files]
    assert {r.table: r.rejected for r in results} == dict.fromkeys(TABLE_FILES, 0)
    assert {r.table: r.loaded for r in results} == {name: summary[name] for name in TABLE_FILES}
    assert not any(r.ignored_columns for r in results)


def test_receipts_are_the_simulated_deliveries(tables, truth):
    receipts, products = tables["receipts"], tables["products"]
    assert receipts["po_id"].is_unique
    assert not set(receipts["po_id"]) & set(tables["purchase_orders"]["po_id"])
    assert (receipts["quantity"] > 0).all()
    assert (receipts["order_date"] <= receipts["expected_date"]).all()
    assert (receipts["order_date"] < receipts["received_date"]).all()
    assert (receipts["received_date"] <= END).all()
    # stocked SKUs only: no dropship or pre-order product is ever received
    no_stock = _flagged(products, "dropship") + _flagged(products, "preorder")
    assert set(receipts["sku"]) <= set(products["sku"]) - set(no_stock)
    # expected = order date + the quoted lead time: the product's own, else its supplier's
    suppliers = tables["suppliers"].set_index("supplier")["lead_time_days"]
    own = receipts["sku"].map(products.set_index("sku")["lead_time_days"])
    quoted = own.where(own.notna(), receipts["supplier"].map(suppliers))
    switch = truth["supplier_switch"]
    moved = (receipts["sku"] == switch["sku"]) & (receipts["supplier"] == switch["to"])
    quoted[moved] = suppliers[switch["to"]]
    was = receipts[(receipts["sku"] == switch["sku"]) & ~moved]
    assert (was["supplier"] == switch["from"]).all() and (was["order_date"] < switch["date"]).all()
    assert (receipts.loc[moved, "order_date"] >= switch["date"]).all()
    stated = ~((receipts["sku"] == switch["sku"]) & ~moved)  # the old quote is no longer listed
    lead = _days_between(receipts["expected_date"], receipts["order_date"])
    assert (lead[stated] == quoted[stated]).all()


def test_supplier_reliability_shows_in_the_receipts(tables, truth):
    receipts = tables["receipts"]
    receipts = receipts.assign(
        delay=_days_between(receipts["received_date"], receipts["expected_date"]),
        on_time=receipts["received_date"] <= receipts["expected_date"],
    )
    by = receipts.groupby("supplier")
    on_time, delay, count = by["on_time"].mean(), by["delay"].mean(), by.size()
    reliability = truth["supplier_reliability"]
    for supplier, n in count.items():
        if n >= 30:  # sd of a rate over 30 receipts <= 0.09
            assert on_time[supplier] == pytest.approx(
                reliability[supplier]["on_time_probability"], abs=0.2
            )
            assert delay[supplier] == pytest.approx(
                reliability[supplier]["mean_delay_days"], abs=2.5
            )
    # SUP01 reliably on time, SUP06 often late with a long tail
    assert on_time["SUP01"] > 0.85 and on_time["SUP06"] < 0.5
    assert by["delay"].quantile(0.9)["SUP06"] >= 10 > by["delay"].quantile(0.9)["SUP01"]
    # enough receipts for most suppliers, too few for the one onboarded late
    assert (count >= 10).sum() >= 5
    assert 1 <= count[truth["supplier_switch"]["to"]] < 8
    assert (
        tables["products"].set_index("sku").loc[truth["supplier_switch"]["sku"], "supplier"]
        == "SUP07"
    )


@pytest.mark.parametrize("supplier", sorted(_RELIABILITY))
def test_on_time_probability_formula_matches_a_simulation(supplier):
    rel = _RELIABILITY[supplier]
    rng = np.random.default_rng(0)
    n = 400_000
    tail = np.where(
        rng.random(n) < rel.late_probability, rng.exponential(rel.late_mean_days, n), 0.0
    )
    delay = np.rint(rel.bias_days + rel.sd_days * rng.normal(size=n) + tail)
    assert (delay <= 0).mean() == pytest.approx(rel.on_time_probability(), abs=0.004)
    assert delay.mean() == pytest.approx(rel.mean_delay(), abs=0.02)


def test_order_history_statuses(tables, truth):
    orders = tables["customer_orders"]
    assert set(orders["status"]) == set(ORDER_STATUSES)
    done = orders[orders["status"] != "open"]
    assert orders.loc[orders["status"] == "open", "status_date"].isna().all()
    assert done["status_date"].notna().all()
    assert (done["status_date"] >= done["order_date"]).all() and (done["status_date"] <= END).all()
    assert _days_after_end(done["order_date"]).min() >= -180
    late = done["status_date"] > done["promised_date"]
    shipped = done["status"] == "shipped"
    assert 0.03 < late[shipped].mean() < 0.25  # mostly on time
    cancelled = done[~shipped]
    delay_driven = cancelled["status_date"] > cancelled["promised_date"]
    assert delay_driven.sum() >= 30 and delay_driven.mean() > 0.7  # a few changed their minds
    history = truth["order_history"]
    assert (history["shipped"], history["cancelled"]) == (shipped.sum(), len(cancelled))
    # lines held up by a stockout spell ship when the stock is back
    spell = truth["stockout_spells"][0]
    during = done[
        (done["sku"] == spell[0])
        & (done["location"] == spell[1])
        & done["order_date"].between(spell[2], spell[3])
        & (done["status"] == "shipped")
    ]
    assert (during["status_date"] > spell[3]).all()


@pytest.fixture(scope="module")
def big_history(tmp_path_factory) -> tuple[pd.DataFrame, dict]:
    out = tmp_path_factory.mktemp("history")
    generate_demo(out, seed=11, n_skus=60, n_locations=2, days=200, end_date=END)
    return pd.read_csv(out / "customer_orders.csv"), json.loads((out / "truth.json").read_text())


def test_cancellations_follow_the_known_delay_curve(big_history):
    orders, truth = big_history
    curve = truth["cancellation"]
    limit, shape, scale = curve["limit"], curve["shape"], curve["scale_days"]
    # days late at the outcome (or at the end, for lines still waiting), late lines only:
    # cancellations on or before the promise are changes of mind, not caused by a delay
    at = orders["status_date"].where(orders["status"] != "open", END)
    late_days = _days_between(at, orders["promised_date"])
    cancelled = orders["status"] == "cancelled"
    assert 0 < (cancelled & (late_days <= 0)).mean() < 0.02
    lines = pd.DataFrame({"t": late_days, "event": cancelled})[late_days > 0]
    # Kaplan-Meier on whole days: hazard(s) = cancelled on day s / lines still waiting on day s
    events = lines[lines["event"]].groupby("t").size()
    steps = np.arange(1, 31)
    at_risk = np.array([(lines["t"] >= s).sum() for s in steps])
    hazard = events.reindex(steps, fill_value=0).to_numpy() / np.maximum(at_risk, 1)
    fitted = 1 - np.cumprod(1 - hazard)
    true = limit * (1 - np.exp(-((steps / scale) ** shape)))
    for t in (5, 10, 15, 20):
        assert fitted[t - 1] == pytest.approx(true[t - 1], rel=0.2), t
    # the hazard grows with the delay over the first weeks: days 6-15 against days 1-5
    assert hazard[5:15].mean() > 1.2 * hazard[:5].mean()


def test_dropship_products_have_sales_and_orders_but_no_stock(tables, truth):
    products = tables["products"]
    dropship = _flagged(products, "dropship")
    assert dropship == truth["dropship_skus"] and len(dropship) >= 1
    sales = tables["sales"][tables["sales"]["sku"].isin(dropship)]
    assert len(sales) > 0 and sales["on_hand"].isna().all() and sales["quantity"].sum() > 0
    for table in ("inventory", "purchase_orders", "receipts"):
        assert not tables[table]["sku"].isin(dropship).any(), table
    assert tables["customer_orders"]["sku"].isin(dropship).any()
    supplier = products.set_index("sku").loc[dropship, "supplier"]
    assert supplier.notna().all() and set(supplier) <= set(tables["suppliers"]["supplier"])
    assert tables["receipts"]["supplier"].isin(supplier).any()  # its reliability is measured


def test_preorder_products_take_orders_before_launch(tables, truth):
    products = tables["products"].set_index("sku")
    preorder = _flagged(tables["products"], "preorder")
    assert preorder == sorted(truth["preorders"]) and len(preorder) >= 1
    assert not tables["sales"]["sku"].isin(preorder).any()
    orders = tables["customer_orders"]
    for sku in preorder:
        launch = products.loc[sku, "launch_date"]
        assert launch == truth["preorders"][sku]["launch_date"] and launch > END
        assert products.loc[sku, "dropship"] == "no"
        lines = orders[orders["sku"] == sku]
        assert len(lines) >= 5 and (lines["status"] == "open").all()
        assert (lines["order_date"] <= END).all() and (lines["promised_date"] >= launch).all()
        assert (
            _days_between(lines["promised_date"], pd.Series(launch, index=lines.index)).le(3).all()
        )
        # pre-orders per day ~ Poisson(share * daily demand after launch)
        info = truth["preorders"][sku]
        window = _days_between(pd.Series([END]), pd.Series([info["preorders_from"]]))[0] + 1
        expected = info["preorder_share"] * sum(info["daily_demand_after_launch"].values()) * window
        assert abs(len(lines) - expected) < 4 * math.sqrt(expected) + 3
    assert (
        tables["products"].loc[tables["products"]["preorder"] == "no", "launch_date"].isna().all()
    )


def test_flash_sale_is_planned_with_tight_stock(tables, truth):
    campaigns = tables["campaigns"]
    flash = campaigns[campaigns["kind"] == FLASH_SALE]
    assert len(flash) == 1
    row, info = flash.iloc[0], truth["flash_sale"]
    assert campaigns.loc[campaigns["kind"] != FLASH_SALE, "stock_quantity"].isna().all()
    assert (row["sku"], row["location"], row["start_date"]) == (
        info["sku"],
        info["location"],
        info["start_date"],
    )
    assert row["start_date"] > END and row["stock_quantity"] == info["stock_quantity"] > 0
    assert _days_after_end(pd.Series([row["end_date"]]))[0] <= 28  # inside the default horizon
    assert row["discount_pct"] == info["discount_pct"] > 0
    # it sells out (the cap binds) and the stock set aside exceeds what is spare at its start
    assert info["stock_quantity"] < info["expected_uncapped_sale_demand"]
    assert 0.3 * info["stock_quantity"] <= info["spare_stock_at_start"] < info["stock_quantity"]
    key = (info["sku"], info["location"])
    assert info["on_hand"] == tables["inventory"].set_index(["sku", "location"]).loc[key, "on_hand"]
    open_qty = _open_lines(tables).groupby(["sku", "location"])["quantity"].sum()
    assert info["open_order_quantity"] == open_qty[key] > 0
    # no other campaign on that SKU, its category or everywhere runs near it
    category = tables["products"].set_index("sku").loc[info["sku"], "category"]
    near = campaigns[
        (campaigns["kind"] != FLASH_SALE)
        & ((campaigns["sku"] == info["sku"]) | (campaigns["category"] == category))
        & (
            pd.to_datetime(campaigns["start_date"])
            <= pd.Timestamp(info["end_date"]) + pd.Timedelta(days=3)
        )
        & (
            pd.to_datetime(campaigns["end_date"])
            >= pd.Timestamp(info["start_date"]) - pd.Timedelta(days=10)
        )
    ]
    assert near.empty


def test_large_catalogue_order_lines_follow_the_same_distribution():
    # The 10,000-SKU bench draws order lines by successive sampling instead of Gumbel top-k
    # over an (order x SKU) array that would not fit in memory: same line counts, same SKU
    # frequencies, never a SKU without demand, never a SKU twice in an order.
    from forecast import demo as D

    rng = np.random.default_rng(0)
    n_skus, n_loc, days = 300, 2, 50
    mu = rng.gamma(0.7, 5.0, size=(n_skus, n_loc, days))
    mu[:20] = 0.0
    o_day = np.repeat(np.arange(10, days), 3000)
    loc = rng.integers(n_loc, size=o_day.size)
    a_lines, a_top = D._lines_gumbel(np.random.default_rng(1), mu, loc, o_day)
    b_lines, b_top = D._lines_successive(np.random.default_rng(2), mu, loc, o_day, 10)

    def frequency(lines, top):
        used = np.arange(top.shape[1])[None, :] < lines[:, None]
        return np.bincount(top[used], minlength=n_skus) / used.sum(), used

    fa, _ = frequency(a_lines, a_top)
    fb, used = frequency(b_lines, b_top)
    assert b_lines.mean() == pytest.approx(a_lines.mean(), rel=0.01)
    assert np.corrcoef(fa, fb)[0, 1] > 0.95 and np.abs(fa - fb).max() < 0.002
    assert fb[:20].sum() == 0.0
    assert all(len(set(row[u])) == u.sum() for row, u in zip(b_top[:5000], used[:5000]))
