"""4. What-if: side-by-side tables and plots of :func:`forecast.scenarios.whatif.what_if` results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from forecast.analysis.plots import _axes
from forecast.analysis.snapshot import KEYS, for_series

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def scenario_table(results: Mapping[str, object], changes: bool = False) -> pd.DataFrame:
    """The comparisons of several :func:`forecast.scenarios.whatif.what_if` results side by side.

    ``results`` maps a scenario name to a result with a ``comparison`` frame (sku, location,
    metric, before, after, change). Returns one row per sku, location and metric with the
    ``before`` value and each scenario's ``after`` value (or, with ``changes``, each scenario's
    change against before).
    """
    if not results:
        raise ValueError("no scenarios to compare")
    index = [*KEYS, "metric"]
    before = None
    columns = []
    for name, result in results.items():
        comparison = result.comparison.set_index(index)  # type: ignore[attr-defined]
        before = (
            comparison["before"] if before is None else before.combine_first(comparison["before"])
        )
        columns.append(comparison["change" if changes else "after"].rename(name))
    parts = columns if changes else [before.rename("before"), *columns]
    table = pd.concat(parts, axis=1)
    metric_order = list(dict.fromkeys(m for r in results.values() for m in r.comparison["metric"]))  # type: ignore[attr-defined]
    table = table.reset_index()
    table["metric"] = pd.Categorical(table["metric"], categories=metric_order, ordered=True)
    return table.sort_values(index, ignore_index=True).astype({"metric": str})


def plot_before_after(
    history: pd.DataFrame,
    before: pd.DataFrame,
    after: pd.DataFrame,
    window: tuple[str | date, str | date] | None = None,
    title: str = "",
    ax: Axes | None = None,
    legend: bool = True,
) -> Axes:
    """One series: recent sales, then the forecast before (grey) and after (colour) a scenario,
    each with its 90% interval; ``window`` (start, end) is shaded."""
    ax = _axes(ax, (6, 3.5))
    if len(history):
        ax.plot(history["date"], history["quantity"], color="0.3", lw=1, label="sales")
    for frame, colour, label in ((before, "0.5", "before"), (after, "C3", "after")):
        ax.fill_between(frame["date"], frame["q05"], frame["q95"], color=colour, alpha=0.18)
        ax.plot(frame["date"], frame["mean"], color=colour, lw=1.8, label=f"forecast {label}")
    if window is not None:
        ax.axvspan(
            pd.Timestamp(window[0]),
            pd.Timestamp(window[1]) + pd.Timedelta(days=1),
            color="C1",
            alpha=0.15,
            label="scenario window",
        )
    ax.set_ylabel("units")
    ax.tick_params(axis="x", labelsize=7, rotation=30)
    ax.set_title(title, fontsize=9)
    if legend:
        ax.legend(fontsize=7, loc="upper left")
    return ax


def plot_what_if(
    results: Mapping[str, object],
    sales: pd.DataFrame,
    windows: Mapping[str, tuple[str, str]] | None = None,
    history_days: int = 42,
) -> np.ndarray:
    """Grid of :func:`plot_before_after`: one row per series, one column per scenario.

    ``results`` maps scenario names to :func:`forecast.scenarios.whatif.what_if` results; ``sales`` holds
    the series' sales rows (the last ``history_days`` before the forecast are drawn);
    ``windows`` maps a scenario name to the (start, end) to shade."""
    import matplotlib.pyplot as plt

    names = list(results)
    first = results[names[0]].forecast_before  # type: ignore[attr-defined]
    series = first[KEYS].drop_duplicates().sort_values(KEYS).itertuples(index=False)
    series = list(series)
    origin = pd.Timestamp(first["date"].min())
    recent = sales[sales["date"] > origin - pd.Timedelta(days=history_days + 1)]
    fig, axes = plt.subplots(
        len(series),
        len(names),
        figsize=(5 * len(names), 3.3 * len(series)),
        squeeze=False,
        sharey="row",
    )
    for i, (sku, location) in enumerate(series):
        history = for_series(recent, sku, location)
        for j, name in enumerate(names):
            result = results[name]
            plot_before_after(
                history,
                for_series(result.forecast_before, sku, location),  # type: ignore[attr-defined]
                for_series(result.forecast_after, sku, location),  # type: ignore[attr-defined]
                window=(windows or {}).get(name),
                title=f"{sku} @ {location}: {name}",
                ax=axes[i, j],
                legend=i == 0,
            )
    fig.tight_layout()
    return axes


def plot_scenario_changes(
    changes: pd.DataFrame,
    metrics: Sequence[str],
    title: str = "",
    axes: Sequence[Axes] | None = None,
) -> Sequence[Axes]:
    """One panel per metric: the change each scenario makes, per series
    (:func:`scenario_table` with ``changes=True``)."""
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.5), squeeze=False)
        axes = list(axes[0])
    scenarios = [c for c in changes.columns if c not in (*KEYS, "metric")]
    for ax, metric in zip(axes, metrics, strict=True):
        part = changes[changes["metric"] == metric].set_index(KEYS)[scenarios]
        part.index = [f"{s}\n@ {loc}" for s, loc in part.index]
        part.plot.bar(ax=ax, rot=0, legend=False)
        ax.axhline(0, color="0.4", lw=0.8)
        ax.set_title(f"change in {metric}", fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    fig = axes[0].figure
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="upper center", ncol=len(labels), fontsize=8, bbox_to_anchor=(0.5, 1.0)
    )
    fig.suptitle(title, y=1.06)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    return axes
