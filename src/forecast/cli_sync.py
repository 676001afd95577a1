"""``forecast sync``: the intraday stock sync from the command line (:mod:`forecast.sync`).

Prints what changed: the movements read, the threshold alerts raised and closed, the waiting
lines released with the customers to tell, and the reorder recommendations that changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataOpt = Annotated[Path | None, typer.Option("--data", help="folder with the input tables (stock_movements.csv ...)")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="output folder of the published plan")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="settings file (TOML)")]
FormatOpt = Annotated[str, typer.Option("--format", help="table, csv or json (of what changed)")]
WaitOpt = Annotated[bool, typer.Option("--wait", help="wait for a running nightly run instead of failing")]


def sync_command(data: DataOpt = None, out: OutOpt = None, config: ConfigOpt = None,
                 format: FormatOpt = "table", wait: WaitOpt = False) -> None:
    """Apply the stock movements since the last sync to the published plan: positions,
    threshold alerts, release of waiting lines, changed recommendations; published atomically
    (nothing is refitted or re-planned)."""
    from forecast import cli
    from forecast.sync import SyncError, run_sync

    settings = cli._load(config, {"data_dir": data, "out_dir": out}, need_data=True).settings
    try:
        with cli.console.status("Syncing stock movements") as status:
            result = run_sync(settings, progress=lambda step: status.update(f"Sync: {step}"), wait=wait)
    except (SyncError, *cli._operator_errors()) as exc:
        cli._fail(str(exc))
    show(result, format, cli.console)


def show(result, fmt: str, console) -> None:
    """The sync's outcome: a summary line and its tables (``--format csv/json``: what changed)."""
    from forecast.publish.tables import Col, render

    if fmt != "table":
        render(result.changes, _cols(), fmt, console=console)
        return
    if not result.published:
        console.print(f"Nothing new since the last sync (plan {result.base_run}); "
                      f"{result.seconds:.2f} s. Nothing was published.")
        return
    console.print(
        f"Sync {result.sync_id} on plan {result.base_run}: {result.movements_new} new movements "
        f"to {result.synced_to:%Y-%m-%d %H:%M}" if result.synced_to is not None else
        f"Sync {result.sync_id} on plan {result.base_run}: no movements", soft_wrap=True)
    rejected = sum(result.rejected.values())
    if rejected:
        console.print(f"[yellow]{rejected} rows rejected[/yellow] ({', '.join(f'{k} {v}' for k, v in result.rejected.items() if v)}): "
                      "see `forecast rejects`", soft_wrap=True)
    render(result.changes, _cols(), "table", title="What changed", console=console)
    render(result.raised, [Col("kind", kind="key"), Col("sku", kind="key"), Col("location", kind="key"),
                           Col("opened_at", "at", "datetime"), Col("message", kind="wrap", priority=1)],
           "table", title=f"Alerts raised ({len(result.raised)})", console=console, empty="none")
    if len(result.closed):
        render(result.closed, [Col("kind", kind="key"), Col("sku", kind="key"),
                               Col("location", kind="key"), Col("opened_by", "raised by", priority=1)],
               "table", title=f"Alerts closed ({len(result.closed)}): recovered", console=console)
    render(result.released, [Col("sku", kind="key"), Col("location", kind="key"),
                             Col("order_id", kind="key"), Col("customer_id", "customer", "key"),
                             Col("released", "units", "num", 2), Col("status_before", "was"),
                             Col("status", "now")],
           "table", title=f"Waiting lines released ({len(result.released)})", console=console, empty="none")
    render(result.notices, [Col("customer_id", "customer", "key"), Col("order_id", kind="key"),
                            Col("sku", kind="key"), Col("location", kind="key"), Col("kind"),
                            Col("eta", kind="date"), Col("promised_date", "promised", "date", priority=1)],
           "table", title=f"Customers to tell ({result.notices['customer_id'].nunique() if len(result.notices) else 0})",
           console=console, empty="none")
    render(result.recommendations, [Col("sku", kind="key"), Col("location", kind="key"), Col("change"),
                                    Col("order_quantity_before", "qty before", "num", 2),
                                    Col("order_quantity", "qty now", "num", 2),
                                    Col("order_by", "order by", "date"), Col("urgent")],
           "table", title=f"Recommendations changed ({len(result.recommendations)})", console=console,
           empty="none")
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)
    console.print(f"{result.seconds:.2f} s. Messages to send: customer_messages.csv; what changed: "
                  "stock_sync.csv (OUT/exports)", soft_wrap=True)


def _cols():
    from forecast.publish.tables import Col

    return [Col("sku", kind="key"), Col("location", kind="key"), Col("movements", "moves", "int"),
            Col("on_hand_before", "on hand was", "num", 2), Col("on_hand", "on hand", "num", 2),
            Col("position_before", "position was", "num", 2, priority=2),
            Col("position", "position", "num", 2), Col("reorder_point", "min", "num", 2),
            Col("alerts_raised", "alerts", "wrap"), Col("alerts_closed", "closed", priority=3),
            Col("lines_released", "released", "int", priority=1),
            Col("recommendation", "order", "wrap", priority=2)]

