"""``forecast config``: the settings file (``forecast config init [PATH]`` writes every default;
``forecast config show`` prints the effective settings and where each value came from)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

SETTINGS_FILE = "forecast.toml"  # forecast.config.SETTINGS_FILE (imported lazily: --help stays fast)

config_app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode="markdown",
                         help="The settings file: write every default (init), print the effective settings (show).")
console = Console()


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(1)


@config_app.command("init")
def init(
    path: Annotated[Path, typer.Argument(help=f"file or folder to write (default: ./{SETTINGS_FILE})")] = Path(SETTINGS_FILE),
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")] = False,
) -> None:
    """Write every setting with its default as an active `key = value` line, a comment above
    each (edit the values you want; command-line options still override them)."""
    from forecast.config import SettingsError, write_settings_file
    try:
        written = write_settings_file(path, overwrite=force)
    except SettingsError as exc:
        _fail(str(exc))
    console.print(f"Settings written to [bold]{written}[/bold]; `forecast config show` prints them.")


@config_app.command("show")
def show(
    config: Annotated[Path | None, typer.Option("--config", help="settings file (default: DATA/forecast.toml, else ./forecast.toml)")] = None,
    data: Annotated[Path | None, typer.Option("--data", help="data folder (its forecast.toml is read)")] = None,
    format: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
) -> None:
    """The effective settings: every key, its value and where it came from (default, the
    settings file, or the command line)."""
    import pandas as pd

    from forecast.config import SettingsError, load_settings, toml_value
    from forecast.publish.tables import Col, render

    try:
        loaded = load_settings(config, data)
    except SettingsError as exc:
        _fail(str(exc))
    settings = loaded.settings
    rows = [{"key": k, "value": toml_value(getattr(settings, k)) if format != "json" else
             json.loads(settings.model_dump_json(include={k}))[k], "source": src}
            for k, src in loaded.sources.items()]
    render(pd.DataFrame(rows), [Col("key", kind="key"), Col("value", kind="wrap"), Col("source", kind="wrap")],
           format, title=f"Settings ({loaded.file or 'no settings file: defaults'})", console=console)
