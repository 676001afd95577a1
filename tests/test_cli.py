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
