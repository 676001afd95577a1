"""The read commands of the `forecast` CLI on a finished run."""

from __future__ import annotations

from typer.testing import CliRunner

from forecast.cli import app


def test_read_commands_show_the_published_run(demo_run) -> None:
    settings, summary = demo_run
    runner = CliRunner()
    out = str(settings.out_dir)
    runs = runner.invoke(app, ["runs", "--out", out])
    assert runs.exit_code == 0 and summary.run_id in runs.output
    rejects = runner.invoke(app, ["rejects", "--out", out])
    assert rejects.exit_code == 0 and "no rejected rows" in rejects.output
    exported = runner.invoke(app, ["export", "--out", out, "--format", "xlsx"])
    assert exported.exit_code == 0 and "reorder_recommendations.xlsx" in exported.output
    simulated = runner.invoke(app, ["simulate", "--out", out, "--compare"], env={"COLUMNS": "200"})
    assert simulated.exit_code == 0
    for policy in ("fifo", "priority", "fair"):
        assert policy in simulated.output


def test_read_commands_explain_a_missing_warehouse(tmp_path) -> None:
    result = CliRunner().invoke(app, ["runs", "--out", str(tmp_path)])
    assert result.exit_code == 1 and "no warehouse yet" in result.output


def test_run_says_which_series_it_could_not_simulate_for_want_of_a_stock_record(tmp_path) -> None:
    # A sells 3 a day and records its stock; B records none: B is planned but not simulated, and
    # the summary counts only A as simulated instead of calling B's empty risk row "not at risk".
    import numpy as np
    import pandas as pd

    dates = pd.date_range("2026-01-01", periods=90).strftime("%Y-%m-%d")
    rows = [{"date": d, "sku": sku, "quantity": 3, "on_hand": (200 - 3 * i) if sku == "A" else np.nan}
            for sku in ("A", "B") for i, d in enumerate(dates)]
    data = tmp_path / "data"
    data.mkdir()
    pd.DataFrame(rows).to_csv(data / "sales.csv", index=False)
    result = CliRunner().invoke(app, ["run", "--data", str(data), "--out", str(tmp_path / "out"),
                                      "--models", "seasonal_naive", "--paths", "50"],
                                env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "so 2 planned). Plan:" in text and "of 1 simulated series at risk" in text
    assert "Not simulated: 1 series have no stock record" in text
    from forecast.ingest.warehouse import Warehouse
    from forecast.publish.digest import build_digest

    with Warehouse(tmp_path / "out" / "warehouse.duckdb", read_only=True) as wh:
        digest = build_digest(wh)
    assert digest.counts["not_simulated"] == 1
    assert "; **1** not simulated: no stock record" in digest.markdown()
