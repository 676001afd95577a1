"""The nightly pipeline end to end on a small demo, as the CLI and the flows run it."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import pandas as pd
import pytest

from forecast.distribution import QUANTILE_COLUMNS
from forecast.warehouse import Warehouse, open_snapshot


def test_run_writes_every_output_and_export(demo_run) -> None:
    settings, summary = demo_run
    forecast = pd.read_csv(settings.exports_dir / "forecast.csv")
    with Warehouse(settings.warehouse_path) as wh:
        sales = wh.table("sales")
        n_series = len(sales[["sku", "location"]].drop_duplicates())
        counts = wh.row_counts()
        run = wh.runs().iloc[0]
    assert len(forecast) == n_series * settings.horizon
    assert {"mean", *QUANTILE_COLUMNS} <= set(forecast.columns)
    assert (forecast[list(QUANTILE_COLUMNS)].diff(axis=1).iloc[:, 1:] >= 0).all().all()
    assert forecast["date"].min() > str(sales["date"].max().date())
    for table in ("forecasts", "policies", "risk", "allocations", "alerts", "recommendations"):
        assert counts[table] > 0, table
    for name in ("reorder_recommendations.csv", "reorder_recommendations.xlsx", "policies.csv",
                 "alerts.csv", "backorder_risk.csv", "allocations.csv", "rejects.csv"):
        assert (settings.exports_dir / name).exists(), name
    assert run["status"] == "succeeded" and run["run_id"] == summary.run_id
    assert set(json.loads(run["step_seconds"])) == {"ingest", "forecast", "plan", "simulate", "publish"}
    assert json.loads(run["rows_loaded"])["sales"] == len(sales)
    assert all(len(v) == 64 for v in json.loads(run["input_fingerprints"]).values())


def test_as_of_ignores_later_history(demo_dir, tmp_path) -> None:
    from forecast.config import RunSettings
    from forecast.pipeline import forecast_step, ingest

    settings = RunSettings(data_dir=demo_dir, out_dir=tmp_path, as_of="2026-09-30", horizon=7)
    ingest(settings, "r")
    result = forecast_step(settings, "r")
    assert str(result["as_of"]) == "2026-09-30"
    with Warehouse(settings.warehouse_path) as wh:
        dates = wh.output("forecasts")["date"]
    assert str(dates.min().date()) == "2026-10-01" and dates.nunique() == 7


def test_snapshot_reads_while_the_writer_holds_the_file(demo_run) -> None:
    settings, _ = demo_run
    code = f"from forecast.warehouse import Warehouse; Warehouse({str(settings.warehouse_path)!r}, read_only=True)"
    with Warehouse(settings.warehouse_path):  # the pipeline holds the file for writing
        blocked = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        con = open_snapshot(settings.snapshot_dir)  # the snapshot is readable all the same
        assert con.execute("SELECT count(*) FROM forecasts").fetchone()[0] > 0
        con.close()
    assert blocked.returncode != 0
    assert "WarehouseLockedError" in blocked.stderr and "in use by another process" in blocked.stderr


def test_same_inputs_same_outputs(demo_dir, tmp_path) -> None:
    from forecast.config import RunSettings
    from forecast.pipeline import run_pipeline

    frames = []
    for name in ("a", "b"):
        settings = RunSettings(data_dir=demo_dir, out_dir=tmp_path / name, n_paths=50, seed=3)
        run_pipeline(settings)
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
        frames.append(con.execute("SELECT * EXCLUDE (run_id) FROM risk ORDER BY sku, location").df())
        con.close()
    pd.testing.assert_frame_equal(frames[0], frames[1])


def test_failed_run_is_recorded(tmp_path) -> None:
    from forecast.config import RunSettings
    from forecast.pipeline import run_pipeline

    data = tmp_path / "data"
    data.mkdir()
    (data / "sales.csv").write_text("date,sku,quantity\nbad,A,1\n")
    settings = RunSettings(data_dir=data, out_dir=tmp_path / "out")
    with pytest.raises(ValueError, match="no sales"):
        run_pipeline(settings)
    with Warehouse(settings.warehouse_path) as wh:
        run = wh.runs().iloc[0]
    assert run["status"] == "failed" and "no sales" in run["error"]
