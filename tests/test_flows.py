"""The Prefect flows under Prefect's test harness (a temporary local API)."""

from __future__ import annotations

import pandas as pd

from forecast.warehouse import Warehouse


def test_nightly_flow_end_to_end(prefect_harness, demo_dir, tmp_path) -> None:
    from pipelines.nightly import nightly_flow

    result = nightly_flow(data_dir=demo_dir, out_dir=tmp_path, horizon=14, n_paths=50)
    assert result["policies"] > 0
    forecast = pd.read_csv(tmp_path / "exports" / "forecast.csv")
    assert forecast.groupby(["sku", "location"]).size().eq(14).all()
    with Warehouse(tmp_path / "warehouse.duckdb") as wh:
        runs = wh.runs()
    assert runs.iloc[0]["status"] == "succeeded" and runs.iloc[0]["run_id"] == result["run_id"]


def test_step_flows_run_alone(prefect_harness, demo_dir, tmp_path) -> None:
    from pipelines.nightly import forecast_flow, ingest_flow, plan_flow, simulate_flow

    loaded = ingest_flow(data_dir=demo_dir, out_dir=tmp_path)
    assert loaded["sales"] > 0
    assert forecast_flow(data_dir=demo_dir, out_dir=tmp_path, horizon=7)["horizon"] == 7
    assert plan_flow(data_dir=demo_dir, out_dir=tmp_path)["policies"] > 0
    assert simulate_flow(data_dir=demo_dir, out_dir=tmp_path, n_paths=20)["series"] > 0
