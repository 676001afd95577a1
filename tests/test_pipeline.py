"""The nightly pipeline end to end on a small demo, as the CLI and the flows run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb
import numpy as np
import pandas as pd
import pytest

from forecast.forecasting.distribution import QUANTILE_COLUMNS
from forecast.ingest.published import open_snapshot
from forecast.ingest.warehouse import Warehouse
from tests.conftest import FAST_MODELS


def test_run_writes_every_output_and_export(demo_run) -> None:
    settings, summary = demo_run
    forecast = pd.read_csv(settings.exports_dir / "forecast.csv")
    with Warehouse(settings.warehouse_path) as wh:
        sales = wh.table("sales")
        n_series = len(sales[["sku", "location"]].drop_duplicates())
        counts = wh.row_counts()
        run = wh.runs().iloc[0]
        preorder = set(wh.table("products").query("preorder")["sku"])
    extra = forecast.loc[~forecast["sku"].isin(sales["sku"]), ["sku", "location"]].drop_duplicates()
    assert set(extra["sku"]) <= preorder  # pre-order products get an early forecast
    assert len(forecast) == (n_series + len(extra)) * settings.horizon
    assert {"mean", *QUANTILE_COLUMNS} <= set(forecast.columns)
    # planned_mean: the distribution's mean, max(point forecast, the series' stored rate floor)
    with Warehouse(settings.warehouse_path) as wh:
        models = wh.table("forecast_models")
    floors = models.loc[models["run_id"] == summary.run_id, ["sku", "location", "rate_floor"]]
    joined = forecast.merge(floors, on=["sku", "location"], how="left", validate="many_to_one")
    np.testing.assert_allclose(joined["planned_mean"],
                               np.maximum(joined["mean"], joined["rate_floor"].fillna(0.0)), rtol=1e-12)
    assert (forecast[list(QUANTILE_COLUMNS)].diff(axis=1).iloc[:, 1:] >= 0).all().all()
    assert forecast["date"].min() > str(sales["date"].max().date())
    for table in ("forecasts", "policies", "risk", "allocations", "alerts", "recommendations"):
        assert counts[table] > 0, table
    for name in ("reorder_recommendations.csv", "reorder_recommendations.xlsx", "policies.csv",
                 "alerts.csv", "backorder_risk.csv", "allocations.csv", "rejects.csv"):
        assert (settings.exports_dir / name).exists(), name
    assert run["status"] == "succeeded" and run["run_id"] == summary.run_id
    assert set(json.loads(run["step_seconds"])) == {"ingest", "forecast", "plan", "simulate", "publish", "deliver"}
    assert json.loads(run["rows_loaded"])["sales"] == len(sales)
    assert all(len(v) == 64 for v in json.loads(run["input_fingerprints"]).values())


def test_the_uplift_is_a_campaigns_exactly_where_the_warehouse_plans_one_inside_the_lead_time(
        demo_dir, tmp_path) -> None:
    # Two planned campaigns starting days after the data ends: one SKU at every location, one
    # category. Checked independently of the code under test: a campaign (by SKU, or by the
    # product's category; at the series' location or every one) overlapping [as_of + 1, + P days).
    import shutil

    from forecast.config import RunSettings
    from forecast.pipeline import forecast_step, ingest, plan_step

    data = tmp_path / "data"
    shutil.copytree(demo_dir, data)
    campaigns = pd.read_csv(data / "campaigns.csv")
    added = pd.DataFrame({"sku": ["SKU0004", None], "category": [None, "personal_care"],
                          "start_date": ["2026-11-03", "2026-11-05"], "end_date": ["2026-11-06", "2026-11-08"],
                          "kind": "price_promo", "discount_pct": 25.0})
    pd.concat([campaigns, added], ignore_index=True).to_csv(data / "campaigns.csv", index=False)
    settings = RunSettings(data_dir=data, out_dir=tmp_path / "out", models=FAST_MODELS)
    ingest(settings, "r")
    forecast_step(settings, "r")
    plan_step(settings, "r")
    with Warehouse(settings.warehouse_path) as wh:
        pol, recs = wh.output("policies", "r"), wh.output("recommendations", "r")
        campaigns, products = wh.table("campaigns"), wh.table("products")
        start = wh.output("forecasts", "r")["date"].min()
    rows = pol.merge(products[["sku", "category"]], on="sku", how="left")
    text = campaigns.fillna({"sku": "", "category": "", "location": ""})
    pairs = pd.concat([rows.merge(text[text["sku"] != ""], on="sku", suffixes=("", "_c")),
                       rows.merge(text[text["sku"] == ""], on="category", suffixes=("", "_c"))])
    end = start + pd.to_timedelta(pairs["lead_time_days"] + pairs["review_period_days"], unit="D")
    here = (pairs["location_c"] == "") | (pairs["location_c"] == pairs["location"])
    inside = here & (pd.to_datetime(pairs["start_date"]) < end) & (pd.to_datetime(pairs["end_date"]) >= start)
    planned = set(map(tuple, pairs.loc[inside, ["sku", "location"]].to_numpy()))
    in_campaign = np.array([key in planned for key in zip(pol["sku"], pol["location"], strict=True)])
    assert {"SKU0004", "SKU0008"} <= {sku for sku, _ in planned} and (~in_campaign).any()
    assert (pol["campaign_uplift_pct"][~in_campaign] == 0).all()
    assert (pol["seasonal_uplift_pct"][in_campaign] == 0).all()
    assert (pol["campaign_uplift_pct"][in_campaign] >= 5).any()
    said = recs.set_index(["sku", "location"])["explanation"].str.contains(" incl. campaign ")
    assert all(key in planned for key, says in said.items() if says)


def test_as_of_ignores_later_history(demo_dir, tmp_path) -> None:
    from forecast.config import RunSettings
    from forecast.pipeline import forecast_step, ingest

    settings = RunSettings(data_dir=demo_dir, out_dir=tmp_path, as_of="2026-09-30", horizon=7, models=FAST_MODELS)
    ingest(settings, "r")
    result = forecast_step(settings, "r")
    assert str(result["as_of"]) == "2026-09-30"
    with Warehouse(settings.warehouse_path) as wh:
        dates = wh.output("forecasts", "r")["date"]
    assert str(dates.min().date()) == "2026-10-01" and dates.nunique() == 7


def test_snapshot_reads_while_the_writer_holds_the_file(demo_run) -> None:
    settings, _ = demo_run
    code = f"from forecast.ingest.warehouse import Warehouse; Warehouse({str(settings.warehouse_path)!r}, read_only=True)"
    with Warehouse(settings.warehouse_path):  # the pipeline holds the file for writing
        blocked = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        con = open_snapshot(settings.snapshot_dir)  # the snapshot is readable all the same
        assert con.execute("SELECT count(*) FROM forecasts").fetchone()[0] > 0
        con.close()
    assert blocked.returncode != 0
    assert "WarehouseLockedError" in blocked.stderr
    assert f"in use by PID {os.getpid()} (" in blocked.stderr  # names the real holder


def test_same_inputs_same_outputs(demo_dir, tmp_path) -> None:
    from forecast.config import RunSettings
    from forecast.pipeline import run_pipeline

    frames = []
    for name in ("a", "b"):
        settings = RunSettings(data_dir=demo_dir, out_dir=tmp_path / name, n_paths=50, seed=3, models=FAST_MODELS)
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


def test_a_crashed_run_leaves_the_previous_plan_published(demo_dir, tmp_path, monkeypatch) -> None:
    from forecast import pipeline
    from forecast.config import RunSettings

    settings = RunSettings(data_dir=demo_dir, out_dir=tmp_path, n_paths=20, models=FAST_MODELS)
    good = pipeline.run_pipeline(settings)
    with Warehouse(settings.warehouse_path) as wh:
        before = wh.output("policies")

    def crash(*args, **kwargs):
        raise RuntimeError("killed during simulation")

    monkeypatch.setitem(pipeline.STEP_FUNCTIONS, "simulate", crash)
    with pytest.raises(RuntimeError, match="killed"):
        pipeline.run_pipeline(settings.model_copy(update={"use_cache": False, "service_levels": {"A": 0.8, "B": 0.8, "C": 0.8}}))
    with Warehouse(settings.warehouse_path) as wh:
        assert wh.published_run() == good.run_id
        after = wh.output("policies")
        assert wh.runs().iloc[0]["status"] == "failed"
    pd.testing.assert_frame_equal(before, after)  # complete and unchanged, not half new
    con = open_snapshot(settings.snapshot_dir)
    assert set(con.execute("SELECT DISTINCT run_id FROM policies").df()["run_id"]) == {good.run_id}
    con.close()


def test_second_run_fails_at_once_while_one_writes(demo_dir, tmp_path) -> None:
    from forecast.config import RunSettings
    from forecast.pipeline import PipelineBusyError, run_lock, run_pipeline

    settings = RunSettings(data_dir=demo_dir, out_dir=tmp_path, models=FAST_MODELS)
    with run_lock(tmp_path), pytest.raises(PipelineBusyError, match="another pipeline run is writing here .pid"):
        run_pipeline(settings)
    # After the first releases the lock, a run goes through.
    assert run_pipeline(settings.model_copy(update={"n_paths": 20})).run_id


def test_unchanged_rerun_reuses_the_forecast(demo_dir, tmp_path) -> None:
    from forecast.config import RunSettings
    from forecast.pipeline import run_pipeline

    settings = RunSettings(data_dir=demo_dir, out_dir=tmp_path, n_paths=20, models=FAST_MODELS)
    first = run_pipeline(settings)
    second = run_pipeline(settings)
    assert "cached_from" not in first.steps["forecast"]
    assert second.steps["forecast"]["cached_from"] == first.run_id
    with Warehouse(settings.warehouse_path) as wh:
        a = wh.output("forecasts", first.run_id).drop(columns="run_id")
        b = wh.output("forecasts", second.run_id).drop(columns="run_id")
    pd.testing.assert_frame_equal(a, b)
    third = run_pipeline(settings.model_copy(update={"horizon": 7}))
    assert "cached_from" not in third.steps["forecast"]  # a changed setting fits again


def test_a_failing_model_is_recorded_and_the_run_goes_on(demo_dir, tmp_path, monkeypatch) -> None:
    from forecast.config import RunSettings
    from forecast.forecasting import candidates
    from forecast.pipeline import run_pipeline

    original = candidates._predict_model

    def flaky(name, ctx, h, cfg, *args):
        if name == "theta":
            raise FloatingPointError("diverged on SKU0003")
        return original(name, ctx, h, cfg, *args)

    monkeypatch.setattr(candidates, "_predict_model", flaky)
    settings = RunSettings(data_dir=demo_dir, out_dir=tmp_path, n_paths=20, models=(*FAST_MODELS, "theta"))
    summary = run_pipeline(settings)
    with Warehouse(settings.warehouse_path) as wh:
        run = wh.runs().iloc[0]
        models = wh.output("forecast_models")
    assert run["status"] == "succeeded"
    assert "model theta failed" in run["warnings"] and "diverged on SKU0003" in run["warnings"]
    assert not models["model"].str.contains("theta").any()
    assert summary.steps["forecast"]["warnings"]


def test_a_backtest_never_stops_a_nightly_run(demo_dir, tmp_path, monkeypatch) -> None:
    """While a backtest computes, a nightly run takes the run lock and the warehouse at once;
    a backtest that is done while a run writes waits for it, then writes its results."""
    import threading
    import time

    from forecast import pipeline
    from forecast.config import RunSettings
    from forecast.forecasting import backtesting

    settings = RunSettings(data_dir=demo_dir, out_dir=tmp_path, models=("seasonal_naive",), horizon=7)
    seen = {}
    real = backtesting.run_backtest

    def run_backtest(*args, **kwargs):
        with pipeline.run_lock(tmp_path, reader_wait=0.0):  # a nightly run starting now
            # the warehouse file is free: another process opens it (DuckDB: one process at a time)
            opened = subprocess.run([sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()",
                                     str(settings.warehouse_path)], check=False, capture_output=True, text=True)
            assert opened.returncode == 0, opened.stderr
            seen["free"] = True
        report = real(*args, **kwargs)
        hold.start()  # a nightly run starts before the results are written ...
        time.sleep(0.5)
        return report

    def nightly() -> None:
        with pipeline.run_lock(tmp_path):
            time.sleep(1.5)
            seen["released"] = time.monotonic()

    hold = threading.Thread(target=nightly)
    monkeypatch.setattr(backtesting, "run_backtest", run_backtest)
    summary = pipeline.backtest_step(settings, "bt1", 1, load=True)
    written = time.monotonic()
    hold.join()
    assert seen["free"] and written >= seen["released"]  # ... and the backtest waited for it
    assert set(summary["model"]) == {"seasonal_naive", "auto"}
    with Warehouse(settings.warehouse_path) as wh:
        rows = wh.con.execute("SELECT DISTINCT run_id FROM backtest_summary").fetchall()
    assert rows == [("bt1",)]
    assert (settings.exports_dir / "backtest_summary.csv").is_file()


def test_a_run_waits_for_a_backtest_loading_its_data_longer_than_for_a_reader(tmp_path) -> None:
    """A backtest's ingest (a brief holder) may take minutes: a run starting meanwhile waits for
    it beyond the reader's wait, and fails naming it only after ``brief_wait``."""
    import threading
    import time

    from forecast import pipeline

    held, release = threading.Event(), threading.Event()

    def backtest_ingest() -> None:
        with pipeline.run_lock(tmp_path, wait=True, brief="backtest loading its data and history"):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=backtest_ingest)
    holder.start()
    held.wait(10)
    line = (tmp_path / ".pipeline.lock").read_text()
    assert line.startswith("brief backtest loading its data and history (pid ")
    busy = r"a backtest loading its data and history \(pid \d+ since .*\) has held the output folder for 0.3 s"
    with pytest.raises(pipeline.PipelineBusyError, match=busy), \
            pipeline.run_lock(tmp_path, reader_wait=0.0, brief_wait=0.3):
        pass
    threading.Timer(0.6, release.set).start()  # the ingest ends after 0.6 s: far beyond the
    started = time.monotonic()  # reader's wait (0 s here), within the brief holder's
    with pipeline.run_lock(tmp_path, reader_wait=0.0):
        waited = time.monotonic() - started
        assert (tmp_path / ".pipeline.lock").read_text().startswith("pid ")
    holder.join()
    assert waited >= 0.5
    assert (tmp_path / ".pipeline.lock").read_text() == ""


def test_a_run_taking_or_leaving_the_lock_is_not_mistaken_for_a_read_command(tmp_path) -> None:
    """Between a run's flock and its holder line (and between emptying the line and letting go)
    the lock file is empty, as under a read command: a starting run that gives readers 0 s must
    wait for that run's moment, not fail naming "a read command" (CI failed once on this race).
    A real read command (a shared lock) is still named after ``reader_wait``."""
    import fcntl
    import threading

    from forecast import pipeline

    path = tmp_path / ".pipeline.lock"
    path.touch()
    with open(path, "r+") as leaving:
        fcntl.flock(leaving, fcntl.LOCK_EX)  # a run that emptied its line and is letting go
        threading.Timer(0.3, fcntl.flock, (leaving, fcntl.LOCK_UN)).start()
        with pipeline.run_lock(tmp_path, reader_wait=0.0):
            assert path.read_text().startswith("pid ")
    with pipeline.read_lock(tmp_path) as free:
        assert free
        busy = "a read command has held the output folder for 0 s"
        with pytest.raises(pipeline.PipelineBusyError, match=busy), pipeline.run_lock(tmp_path, reader_wait=0.0):
            pass
