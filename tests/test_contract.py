"""The input contract: every reject reason, wrong layouts, idempotent reloads."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from forecast.ingest.contract import TABLES, ContractError, find_table_files
from forecast.ingest.warehouse import Warehouse


def write(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n")
    return path


@pytest.fixture()
def wh(tmp_path: Path):
    with Warehouse(tmp_path / "w.duckdb") as warehouse:
        yield warehouse


def reasons(wh: Warehouse, table: str) -> dict[int, str]:
    rej = wh.rejects(table)
    return dict(zip(rej["line"].astype(int), rej["reason"]))


def test_sales_rows_are_validated_one_by_one(tmp_path: Path, wh: Warehouse) -> None:
    f = write(
        tmp_path / "sales.csv",
        """
date,sku,quantity,location,price,on_hand
2024-01-01,A,5,S1,2.5,10
2024-01-02,A,x,S1,2.5,10
2024-01-03,A,3,S1,2.5,10,extra
2024-13-01,A,4,S1,2.5,10
2024-01-05,A,-1,S1,2.5,10
2024-01-06,,2,S1,2.5,10
2024-01-07,A,2,S1,-3,10
2024-01-08,A,2,S1,2.5,-1
2024-01-09,A,1,S1,,
2024-01-09,A,7,S1,,
""",
    )
    result = wh.load_file(TABLES["sales"], f, "r1")
    assert (result.rows_read, result.loaded, result.rejected) == (10, 2, 8)
    got = reasons(wh, "sales")
    assert "not a number in quantity: x" in got[3]
    assert "too many columns" in got[4]
    assert "unparseable date in date: 2024-13-01" in got[5]
    assert "negative quantity -1" in got[6]
    assert "missing sku" in got[7]
    assert "negative price -3" in got[8]
    assert "negative on_hand -1" in got[9]
    assert "duplicate key" in got[10] and "line 11" in got[10]
    sales = wh.table("sales")
    assert sorted(sales["quantity"]) == [5.0, 7.0]  # the later duplicate wins
    rej = wh.rejects("sales")
    assert set(rej["file"]) == {str(f)}
    assert rej.loc[rej["line"] == 3, "column_name"].item() == "quantity"


def test_every_row_is_loaded_or_rejected(tmp_path: Path, wh: Warehouse) -> None:
    lines = ["date,sku,quantity"] + [f"2024-01-{d:02d},A,{q}" for d, q in zip(range(1, 29), [1, "?", -2, 4] * 7)]
    f = write(tmp_path / "sales.csv", "\n".join(lines))
    result = wh.load_file(TABLES["sales"], f)
    assert result.loaded + result.rejected == 28 == result.rows_read
    assert len(wh.table("sales")) == result.loaded == 14


def test_missing_required_column_names_file_and_column(tmp_path: Path, wh: Warehouse) -> None:
    f = write(tmp_path / "sales.csv", "day,sku,quantity\n2024-01-01,A,1")
    with pytest.raises(ContractError, match=r"sales\.csv: missing required column\(s\) date"):
        wh.load_file(TABLES["sales"], f)


def test_required_sales_file(tmp_path: Path) -> None:
    write(tmp_path / "products.csv", "sku\nA")
    with pytest.raises(ContractError, match="required table file missing: sales"):
        find_table_files(tmp_path)


def test_column_names_are_case_insensitive_and_defaults_apply(tmp_path: Path, wh: Warehouse) -> None:
    f = write(tmp_path / "sales.csv", "Date,SKU,Quantity,Extra\n2024-01-01,A,1,z")
    result = wh.load_file(TABLES["sales"], f)
    assert result.ignored_columns == ["Extra"]
    row = wh.table("sales").iloc[0]
    assert row["location"] == "main" and row["quantity"] == 1


def test_orders_for_unknown_skus_and_bad_choices_are_rejected(tmp_path: Path, wh: Warehouse) -> None:
    wh.load_file(TABLES["sales"], write(tmp_path / "sales.csv", "date,sku,quantity\n2024-01-01,A,1"))
    f = write(
        tmp_path / "customer_orders.csv",
        """
order_id,customer_id,sku,quantity,order_date,shipping,promised_date
o1,c1,A,2,2024-01-02,express,2024-01-03
o2,c1,ZZZ,1,2024-01-02,standard,2024-01-05
o3,c2,A,1,2024-01-02,drone,2024-01-05
o4,c2,A,0,2024-01-02,standard,2024-01-05
o5,c2,A,1,2024-01-06,standard,2024-01-05
""",
    )
    result = wh.load_file(TABLES["customer_orders"], f)
    assert result.loaded == 1
    got = reasons(wh, "customer_orders")
    assert "unknown sku ZZZ" in got[3]
    assert "shipping drone is not one of standard/express" in got[4]
    assert "quantity 0: must be > 0" in got[5]
    assert "promised_date is before order_date" in got[6]


def test_products_service_level_and_campaign_rules(tmp_path: Path, wh: Warehouse) -> None:
    f = write(tmp_path / "products.csv", "sku,service_level,pack_size\nA,0.95,6\nB,1.5,6\nC,0.9,0")
    wh.load_file(TABLES["products"], f)
    got = reasons(wh, "products")
    assert "service_level 1.5: must be < 1" in got[3]
    assert "pack_size 0: must be > 0" in got[4]
    f = write(
        tmp_path / "campaigns.csv",
        "sku,category,start_date,end_date,kind,discount_pct\nA,,2024-01-01,2024-01-05,promo,20\n"
        ",,2024-01-01,2024-01-05,promo,20\nA,,2024-01-09,2024-01-05,promo,20\nA,,2024-02-01,2024-02-05,promo,120",
    )
    wh.load_file(TABLES["campaigns"], f)
    got = reasons(wh, "campaigns")
    assert "neither sku nor category" in got[3]
    assert "end_date is before start_date" in got[4]
    assert "discount_pct 120: must be <= 100" in got[5]


def test_reload_is_idempotent_and_newer_rows_replace(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    write(data / "sales.csv", "date,sku,quantity\n2024-01-01,A,1\n2024-01-02,A,2\n2024-01-03,A,oops")
    write(data / "inventory.csv", "sku,on_hand\nA,5")
    from forecast.config import RunSettings
    from forecast.pipeline import ingest

    settings = RunSettings(data_dir=data, out_dir=tmp_path / "out")
    ingest(settings, "r1")
    with Warehouse(settings.warehouse_path) as wh:
        first = wh.row_counts()
    ingest(settings, "r2")
    with Warehouse(settings.warehouse_path) as wh:
        assert wh.row_counts() == first
        assert first["sales"] == 2 and first["rejects"] == 1
    write(data / "sales.csv", "date,sku,quantity\n2024-01-02,A,9\n2024-01-04,A,4")
    ingest(settings, "r3")
    with Warehouse(settings.warehouse_path) as wh:
        sales = wh.table("sales").set_index("date")["quantity"]
        assert len(sales) == 3 and sales[pd.Timestamp("2024-01-02")] == 9
        assert len(wh.rejects()) == 0  # the bad line is gone from the new file


def test_parquet_and_gzip_inputs(tmp_path: Path, wh: Warehouse) -> None:
    frame = pd.DataFrame({"date": ["2024-01-01", "2024-01-02", "bad"], "sku": ["A", "A", "A"],
                          "quantity": [1.0, 2.0, 3.0]})
    frame.to_parquet(tmp_path / "sales.parquet")
    result = wh.load_file(TABLES["sales"], tmp_path / "sales.parquet")
    assert (result.loaded, result.rejected) == (2, 1)
    assert wh.rejects()["line"].tolist() == [3]
    frame.to_csv(tmp_path / "sales.csv.gz", index=False, compression="gzip")
    result = wh.load_file(TABLES["sales"], tmp_path / "sales.csv.gz")
    assert (result.loaded, result.rejected) == (2, 1)


def test_unreadable_file_is_a_contract_error(tmp_path: Path, wh: Warehouse) -> None:
    f = tmp_path / "sales.parquet"
    f.write_bytes(b"not parquet at all")
    with pytest.raises(ContractError, match="sales.parquet: cannot be read"):
        wh.load_file(TABLES["sales"], f)


def test_sales_model_columns_receipts_and_flash_sales(tmp_path: Path, wh: Warehouse) -> None:
    """Pre-order needs a launch date, yes/no columns take yes/no words, a receipt cannot arrive
    before it was ordered, a flash sale needs its stock, order statuses are checked."""
    wh.load_file(TABLES["sales"], write(tmp_path / "sales.csv", "date,sku,quantity\n2024-01-01,A,1"))
    products = wh.load_file(TABLES["products"], write(tmp_path / "products.csv", """
sku,preorder,launch_date,dropship
A,yes,2024-02-01,no
B,true,,
C,maybe,,
D,,,Y
"""))
    assert (products.loaded, products.rejected) == (2, 2)
    got = reasons(wh, "products")
    assert got[3] == "pre-order product has no launch_date"
    assert got[4] == "not a yes/no value in preorder: maybe"
    flags = wh.table("products").set_index("sku")[["preorder", "dropship"]]
    assert flags.loc["A"].tolist() == [True, False] and flags.loc["D"].tolist() == [False, True]

    receipts = wh.load_file(TABLES["receipts"], write(tmp_path / "receipts.csv", """
po_id,sku,supplier,order_date,expected_date,received_date,quantity
P1,A,S1,2024-01-10,2024-01-17,2024-01-05,5
P2,A,S1,2024-01-01,2024-01-08,2024-01-09,5
P3,ZZ,S1,2024-01-01,2024-01-08,2024-01-09,5
"""))
    assert (receipts.loaded, receipts.rejected) == (1, 2)
    got = reasons(wh, "receipts")
    assert got[2] == "received_date is before order_date" and "unknown sku ZZ" in got[4]

    campaigns = wh.load_file(TABLES["campaigns"], write(tmp_path / "campaigns.csv", """
start_date,end_date,sku,kind,stock_quantity
2024-01-01,2024-01-02,A,flash_sale,
2024-01-01,2024-01-02,A,email,
2024-01-03,2024-01-04,A,flash_sale,50
"""))
    assert (campaigns.loaded, campaigns.rejected) == (2, 1)
    assert reasons(wh, "campaigns")[2] == "flash_sale campaign has no stock_quantity"

    orders = wh.load_file(TABLES["customer_orders"], write(tmp_path / "customer_orders.csv", """
order_id,customer_id,sku,quantity,order_date,status,status_date
o1,c1,A,1,2024-01-02,shipped,2024-01-04
o2,c1,A,1,2024-01-02,lost,2024-01-04
o3,c1,A,1,2024-01-02,cancelled,2024-01-01
o4,c1,A,1,2024-01-02,,
"""))
    assert (orders.loaded, orders.rejected) == (2, 2)
    got = reasons(wh, "customer_orders")
    assert "status lost is not one of open/shipped/cancelled" in got[3]
    assert got[4] == "status_date is before order_date"
    assert sorted(wh.table("customer_orders")["status"]) == ["open", "shipped"]


def test_an_older_warehouse_gains_new_contract_columns(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE products (sku VARCHAR NOT NULL, name VARCHAR, PRIMARY KEY (sku))")
    con.close()
    with Warehouse(path) as wh:
        assert {"preorder", "launch_date", "dropship"} <= set(wh.table("products").columns)


def test_readme_documents_the_contract() -> None:
    from forecast.ingest.contract import describe_contract_markdown

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Input data contract", 1)[1].split("\n## ", 1)[0]
    assert describe_contract_markdown() in section  # regenerate the table when the contract changes
    for name in TABLES:
        assert f"- `{name}`" in section, name  # and say what each table enables
