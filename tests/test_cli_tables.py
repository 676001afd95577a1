"""Every table command fits 100 columns on the demo with SKU@location whole and nothing shown
as None/NaN/NaT; every listing command's ``--format json`` parses; the settings file drives a
run and is shown with it."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from forecast.cli import app
from forecast.ingest.warehouse import Warehouse

WIDTH = 100
RAW_MISSING = re.compile(r"\b(None|NaN|NaT|nan)\b")


def _invoke(*args: str, width: int = WIDTH):
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    return result.output


def _keys(settings, table: str) -> set[str]:
    with Warehouse(settings.warehouse_path, read_only=True) as wh:
        frame = wh.output(table)
    return set(frame["sku"].astype(str) + "@" + frame["location"].astype(str))


def _table_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(("│", "┃", "┏", "┡", "└", "╇"))]


def _cells(output: str) -> set[str]:
    """The text of every body cell of the tables in ``output``."""
    return {c.strip() for line in _table_lines(output) if line.startswith("│") for c in line.split("│")}


TABLE_COMMANDS = [
    ("runs",), ("rejects",), ("backorders", "--limit", "40"), ("suppliers", "--no-verdicts"),
    ("simulate", "--compare"), ("flash-sales",), ("messages",),
]


@pytest.mark.parametrize("command", TABLE_COMMANDS, ids=lambda c: c[0])
def test_tables_fit_100_columns(demo_run, command) -> None:
    settings, _ = demo_run
    output = _invoke(*command, "--out", str(settings.out_dir))
    lines = _table_lines(output)
    assert all(len(line) <= WIDTH for line in lines), max(lines, key=len)
    assert not RAW_MISSING.search("\n".join(lines)), output


def test_backorder_book_keeps_every_sku_at_location_whole(demo_run) -> None:
    settings, _ = demo_run
    with Warehouse(settings.warehouse_path, read_only=True) as wh:
        book = wh.output("backorders")
    assert len(book), "the demo has waiting lines"
    output = _invoke("backorders", "--out", str(settings.out_dir), "--limit", str(len(book)))
    cells = _cells(output)
    expected = set(book["sku"].astype(str) + "@" + book["location"].astype(str))
    assert expected <= cells
    # dates as dates, numbers right-aligned: a row's ETA cell is an ISO date or '-'
    first = book.iloc[0]
    row = next(line for line in _table_lines(output) if f" {first['order_id']} " in line)
    assert re.search(r"│ (\d{4}-\d{2}-\d{2}|-)\s+│", row)
    wide = _invoke("backorders", "--out", str(settings.out_dir), width=220)
    assert "P(cancel)" in wide and "P(cancel)" not in output.split("\n", 3)[2]  # wider shows more


def test_simulate_risk_list_names_whole_series(demo_run) -> None:
    settings, _ = demo_run
    output = _invoke("simulate", "--out", str(settings.out_dir))
    cells = _cells(output)
    keys = _keys(settings, "risk")
    listed = {c for c in cells if "@" in c}
    assert listed <= keys and len(listed) == min(10, len(keys))


@pytest.mark.parametrize("command", [("runs",), ("rejects",), ("backorders",), ("suppliers",),
                                     ("simulate",), ("flash-sales",), ("messages",), ("config", "show")],
                         ids=lambda c: c[0])
def test_format_json_parses(demo_run, command) -> None:
    settings, _ = demo_run
    args = [*command] if command[0] == "config" else [*command, "--out", str(settings.out_dir)]
    rows = json.loads(_invoke(*args, "--format", "json"))
    assert isinstance(rows, list)
    if command[0] == "backorders":
        with Warehouse(settings.warehouse_path, read_only=True) as wh:
            book = wh.output("backorders")
        assert {(r["order_id"], r["sku"]) for r in rows} == set(zip(book["order_id"], book["sku"], strict=True))
    if command[0] == "messages":
        with Warehouse(settings.warehouse_path, read_only=True) as wh:
            sent = wh.customer_messages()
        assert len(sent), "the demo sends customer messages"
        newest = sent.sort_values(["day", "customer_id"], ascending=[False, True]).head(50)
        assert [r["message_id"] for r in rows] == newest["message_id"].tolist()
        assert rows[0]["text"] == newest["text"].iloc[0]


def test_runs_show_timings_counts_fingerprints_and_settings(demo_run) -> None:
    settings, summary = demo_run
    output = _invoke("runs", "--out", str(settings.out_dir))
    line = next(line for line in output.splitlines() if summary.run_id in line)
    assert "succeeded" in line and f"{sum(summary.ingest.loaded.values()):,}" in line
    details = json.loads(_invoke("runs", "--out", str(settings.out_dir), "--id", summary.run_id, "--format", "json"))
    assert {r["step"] for r in details["steps"]} == {"ingest", "forecast", "plan", "simulate", "publish", "deliver"}
    assert {r["table"]: r["loaded"] for r in details["tables"]} == summary.ingest.loaded
    assert {r["sha256"] for r in details["inputs"]} == set(summary.ingest.fingerprints.values())
    used = {r["key"]: r["value"] for r in details["settings"]}
    assert used["n_paths"] == 100 and used["service_kind"] == settings.service_kind
    text = _invoke("runs", "--out", str(settings.out_dir), "--id", summary.run_id[:15])
    assert all(len(line) <= WIDTH for line in _table_lines(text))
    assert summary.ingest.fingerprints[next(iter(summary.ingest.fingerprints))][:12] in text


def test_help_is_fast_and_imports_no_heavy_library() -> None:
    import subprocess
    import sys

    code = ("import sys; from forecast.cli import app; print(sorted(m for m in ('pandas', 'numpy', "
            "'duckdb', 'scipy', 'prefect', 'sklearn', 'pydantic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out  # what makes --help fast (bench/ times commands, not tests)
    from forecast import cli, cli_config, config

    assert cli.DEFAULT_OUT_DIR == config.DEFAULT_OUT_DIR and cli_config.SETTINGS_FILE == config.SETTINGS_FILE
