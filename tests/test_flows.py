"""The Prefect flows under Prefect's test harness (a temporary local API)."""

from __future__ import annotations

import pandas as pd

from forecast.ingest.warehouse import Warehouse
from tests.conftest import FAST_MODELS


def test_nightly_flow_end_to_end(prefect_harness, demo_dir, tmp_path) -> None:
    from pipelines.nightly import nightly_flow

    result = nightly_flow(data_dir=demo_dir, out_dir=tmp_path, horizon=14, n_paths=50,
                          models=list(FAST_MODELS))
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
    assert forecast_flow(data_dir=demo_dir, out_dir=tmp_path, horizon=7, models=list(FAST_MODELS))["horizon"] == 7
    assert plan_flow(data_dir=demo_dir, out_dir=tmp_path)["policies"] > 0
    assert simulate_flow(data_dir=demo_dir, out_dir=tmp_path, n_paths=20)["series"] > 0


def test_nightly_flow_publishes_artifacts_and_posts_the_digest(prefect_harness, demo_dir, tmp_path,
                                                               webhook) -> None:
    from prefect.client.orchestration import get_client

    from pipelines.nightly import nightly_flow

    url, received = webhook
    result = nightly_flow(data_dir=demo_dir, out_dir=tmp_path, horizon=7, n_paths=20, alert_webhook=url,
                          models=list(FAST_MODELS))
    assert len(received) == 1
    payload = received[0]
    assert payload["run_id"] == result["run_id"]
    assert {"orders_today", "new_alerts", "at_risk", "customers_to_notify"} <= set(payload["counts"])
    assert payload["text"].startswith(f"# Plan {result['run_id']}")

    async def artifact_keys() -> set[str]:
        async with get_client() as client:
            artifacts = await client.read_artifacts()
        return {a.key for a in artifacts}

    import asyncio

    keys = asyncio.run(artifact_keys())
    assert {"plan-summary", "orders-today", "new-alerts", "at-risk", "customers-to-notify"} <= keys


def test_deployments_have_schedules_and_typed_parameters(tmp_path) -> None:
    from pipelines.serve import deployments

    nightly, weekly = deployments(tmp_path / "data", tmp_path / "out", timezone="Europe/Berlin",
                                  horizon=28)
    assert nightly.name == "nightly-plan" and weekly.name == "weekly-model-reselection"
    cron = nightly.schedules[0].schedule
    assert cron.cron == "0 2 * * *" and cron.timezone == "Europe/Berlin"
    assert nightly.parameters["horizon"] == 28  # given; otherwise the settings file's
    assert "horizon" not in deployments(tmp_path / "data", tmp_path / "out")[0].parameters
    schema = nightly._parameter_openapi_schema.model_dump()["properties"]
    # optional (None = the settings file's value) but typed: an integer when given
    assert {"type": "integer"} in schema["horizon"]["anyOf"] and "allocation_policy" in schema
    assert "config_file" in schema
    assert nightly.enforce_parameter_schema  # typed parameters are validated when a run starts


def test_the_stock_sync_is_served_every_n_minutes_beside_the_nightly(tmp_path) -> None:
    from pipelines.serve import deployments

    served = deployments(tmp_path / "data", tmp_path / "out", sync_every_minutes=15)
    assert [d.name for d in served] == ["nightly-plan", "weekly-model-reselection", "stock-sync"]
    schedule = served[2].schedules[0].schedule
    assert schedule.interval.total_seconds() == 15 * 60
    assert served[2].parameters == {"data_dir": str(tmp_path / "data"), "out_dir": str(tmp_path / "out")}
    assert len(deployments(tmp_path / "data", tmp_path / "out")) == 2  # 0 = off


def test_stock_sync_flow_applies_the_demo_movements_once(prefect_harness, demo_run, tmp_path) -> None:
    import shutil

    import pandas as pd

    from pipelines.sync import sync_flow

    settings, _ = demo_run
    out = tmp_path / "out"
    shutil.copytree(settings.out_dir, out, symlinks=True)
    first = sync_flow(data_dir=settings.data_dir, out_dir=out)
    movements = pd.read_csv(settings.data_dir / "stock_movements.csv")
    assert first["sync_id"] and first["movements_new"] == len(movements)
    assert first["lines_released"] > 0 and first["alerts_raised"] > 0
    again = sync_flow(data_dir=settings.data_dir, out_dir=out)
    assert again["sync_id"] is None and again["alerts_raised"] == 0


def test_dask_runner_gives_exactly_the_local_results(prefect_harness, demo_dir, tmp_path, monkeypatch) -> None:
    """The same chunks of series through a local Dask cluster with 2 workers and through the
    local thread runner give exactly the same plan; on Dask each chunk's data is scattered to
    the cluster first (the tasks get futures of it), on threads nothing is."""
    from pipelines import nightly

    clients: list[str] = []
    real = nightly._dask_client

    def spy():
        client = real()
        clients.append(type(client).__name__)
        return client

    monkeypatch.setattr(nightly, "_dask_client", spy)
    common = {"data_dir": demo_dir, "horizon": 7, "n_paths": 30, "chunk_size": 5,
              "models": ["seasonal_naive", "ets", "tsb"]}
    nightly.run_nightly("dask", workers=2, out_dir=tmp_path / "dask", **common)
    assert clients and set(clients) == {"PrefectDaskClient"}  # forecast and simulation chunks
    clients.clear()
    nightly.run_nightly("threads", out_dir=tmp_path / "local", **common)
    assert set(clients) == {"NoneType"}

    def outputs(folder):
        with Warehouse(folder / "warehouse.duckdb") as wh:
            fc = wh.output("forecasts").drop(columns="run_id").sort_values(["sku", "location", "date"])
            risk = wh.output("risk").drop(columns="run_id").sort_values(["sku", "location"])
        return fc.reset_index(drop=True), risk.reset_index(drop=True)

    dask_fc, dask_risk = outputs(tmp_path / "dask")
    local_fc, local_risk = outputs(tmp_path / "local")
    assert len(dask_fc) == len(local_fc) > 0
    pd.testing.assert_frame_equal(dask_risk, local_risk)
    pd.testing.assert_frame_equal(dask_fc, local_fc)
