"""Plots of the sales exploration, forecast diagnostics and stock policy sections.

Each draws on a matplotlib ``Axes`` (a new pyplot figure when none is given) and returns it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from forecast.analysis.sales import ADI_CUTOFF, CV2_CUTOFF, stockout_spells
from forecast.analysis.snapshot import KEYS, for_series

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _axes(ax: Axes | None, figsize: tuple[float, float] = (11, 4)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_heatmap(
    matrix: pd.DataFrame,
    title: str = "",
    fmt: str = "{:.0f}",
    cmap: str = "Blues",
    center: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    """A labelled, annotated heatmap of a small matrix (class counts, uplift by kind/category).
    ``center`` puts that value at the middle of a diverging colour map."""
    ax = _axes(ax, (6, 4))
    values = matrix.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    low, high = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    if center is not None:
        spread = max(np.max(np.abs(finite - center)) if finite.size else 1.0, 1e-9)
        low, high = center - spread, center + spread
    high = high if high > low else low + 1.0
    image = ax.imshow(values, cmap=cmap, vmin=low, vmax=high, aspect="auto")
    labels = [str(c) for c in matrix.columns]
    slanted = max(map(len, labels), default=0) > 4
    ax.set_xticks(
        range(matrix.shape[1]),
        labels,
        rotation=30 if slanted else 0,
        ha="right" if slanted else "center",
    )
    ax.set_yticks(range(matrix.shape[0]), [str(r) for r in matrix.index])
    ax.set_xlabel(str(matrix.columns.name or ""))
    ax.set_ylabel(str(matrix.index.name or ""))
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            # Light text on the dark end(s) of the colour map.
            share = (v - low) / (high - low)
            dark = abs(share - 0.5) > 0.3 if center is not None else share > 0.6
            ax.text(
                j,
                i,
                fmt.format(v),
                ha="center",
                va="center",
                fontsize=9,
                color="white" if dark else "black",
            )
    ax.figure.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title(title)
    return ax


def plot_weekly(
    weekly: pd.DataFrame, by: str = "category", title: str = "", ax: Axes | None = None
) -> Axes:
    """Weekly units per group ``by`` (summed over any other columns), one line per group."""
    ax = _axes(ax)
    wide = weekly.pivot_table(index="week", columns=by, values="units", aggfunc="sum")
    for name in wide.columns:
        ax.plot(wide.index, wide[name], lw=1.2, label=str(name))
    ax.set_ylabel("units per week")
    ax.set_title(title)
    ax.legend(fontsize=8, ncol=min(len(wide.columns), 4), loc="upper left")
    return ax


def plot_profiles(
    profile: pd.DataFrame, by: str = "category", title: str = "", ax: Axes | None = None
) -> Axes:
    """Seasonal indices (:func:`seasonality_profile`), one line per group; 1 = average."""
    ax = _axes(ax, (7, 4))
    for name, part in profile.groupby(by):
        ax.plot(part["position"], part["index"], marker="o", ms=3, lw=1.2, label=str(name))
    first = profile.drop_duplicates("position").sort_values("position")
    ax.set_xticks(first["position"], first["label"])
    ax.axhline(1.0, color="0.5", lw=0.8, ls="--")
    ax.set_ylabel("index (1 = average)")
    ax.set_title(title)
    ax.legend(fontsize=8, ncol=2)
    return ax


_KIND_COLOURS = {"price_promo": "C1", "feature_ad": "C2", "email": "C4", "promotion": "C5"}


def plot_sales_context(
    history: pd.DataFrame,
    campaigns: pd.DataFrame | None = None,
    title: str = "",
    ax: Axes | None = None,
) -> Axes:
    """Daily sales of one series with its campaigns shaded (colour per kind) and its stockout
    spells (censored days, whose sales understate demand) in red."""
    ax = _axes(ax)
    ax.plot(history["date"], history["quantity"], color="0.25", lw=1, label="sales")
    start, end = history["date"].min(), history["date"].max()
    seen: set[str] = set()
    if campaigns is not None and len(campaigns):
        shown = campaigns[
            (pd.to_datetime(campaigns["end_date"]) >= start)
            & (pd.to_datetime(campaigns["start_date"]) <= end)
        ]
        for row in shown.itertuples():
            kind = str(row.kind)
            ax.axvspan(
                pd.Timestamp(row.start_date),
                pd.Timestamp(row.end_date) + pd.Timedelta(days=1),
                color=_KIND_COLOURS.get(kind, "C5"),
                alpha=0.2,
                label=None if kind in seen else f"campaign: {kind}",
            )
            seen.add(kind)
    for i, spell in enumerate(stockout_spells(history).itertuples()):
        ax.axvspan(
            spell.start,
            spell.end + pd.Timedelta(days=1),
            color="red",
            alpha=0.3,
            label="stockout spell" if i == 0 else None,
        )
    ax.set_ylabel("units")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    return ax


def plot_stockout_timeline(
    spells: pd.DataFrame, n: int = 20, title: str = "", ax: Axes | None = None
) -> Axes:
    """Stockout spells of the ``n`` series with the most stockout days, one row per series."""
    totals = spells.groupby(KEYS)["days"].sum().sort_values(ascending=False).head(n)
    ax = _axes(ax, (11, max(2.5, 0.28 * len(totals) + 1)))
    for i, (sku, location) in enumerate(totals.index):
        rows = for_series(spells, sku, location)
        ax.broken_barh(
            [
                (pd.Timestamp(s), pd.Timedelta(days=int(d)))
                for s, d in zip(rows["start"], rows["days"], strict=True)
            ],
            (i - 0.4, 0.8),
            color="red",
            alpha=0.6,
        )
    ax.set_yticks(range(len(totals)), [f"{s} @ {loc}" for s, loc in totals.index], fontsize=8)
    ax.invert_yaxis()
    ax.set_title(title)
    return ax


def plot_patterns(patterns: pd.DataFrame, title: str = "", ax: Axes | None = None) -> Axes:
    """ADI against CV^2 per series with the Syntetos-Boylan-Croston cut-offs."""
    ax = _axes(ax, (7, 5))
    shown = patterns[np.isfinite(patterns["adi"]) & patterns["cv2"].notna()]
    for pattern, part in shown.groupby("pattern"):
        ax.scatter(part["adi"], part["cv2"], s=18, alpha=0.7, label=f"{pattern} ({len(part)})")
    ax.axvline(ADI_CUTOFF, color="0.4", ls="--", lw=0.8)
    ax.axhline(CV2_CUTOFF, color="0.4", ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("ADI (periods per demand)")
    ax.set_ylabel("CV$^2$ of demand sizes")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_metric_by_segment(
    table: pd.DataFrame,
    metric: str = "mase",
    by: str = "abc_class",
    title: str = "",
    ax: Axes | None = None,
) -> Axes:
    """Grouped bars of one metric (:func:`metrics_by_segment`): segments on x, one bar per model."""
    ax = _axes(ax)
    wide = table.pivot(index=by, columns="model", values=metric)
    wide.plot.bar(ax=ax, width=0.85, rot=0)
    ax.set_ylabel(metric)
    ax.set_title(title or f"{metric} by {by} and model")
    ax.legend(fontsize=7, ncol=min(len(wide.columns), 4))
    return ax


def plot_calibration(coverage: pd.DataFrame, title: str = "", ax: Axes | None = None) -> Axes:
    """Observed share of actuals below each quantile (:func:`quantile_coverage`) against its
    level: the bar spans ``below`` .. ``at_or_below``; a calibrated forecast crosses the
    diagonal."""
    ax = _axes(ax, (5, 5))
    ax.plot([0, 1], [0, 1], color="0.5", ls="--", lw=0.8, label="perfect calibration")
    ax.vlines(
        coverage["level"],
        coverage["below"],
        coverage["at_or_below"],
        color="C0",
        lw=6,
        alpha=0.6,
        label="share of actuals < q .. <= q",
    )
    ax.scatter(
        coverage["level"], (coverage["below"] + coverage["at_or_below"]) / 2, color="C0", s=12
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("quantile level")
    ax.set_ylabel("share of actuals below the quantile")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left")
    return ax


def plot_calibration_grid(coverage: pd.DataFrame, by: str, title: str = "") -> Sequence[Axes]:
    """:func:`plot_calibration` for each group ``by`` of a :func:`quantile_coverage` table."""
    import matplotlib.pyplot as plt

    groups = list(coverage.groupby(by))
    fig, axes = plt.subplots(
        1, max(len(groups), 1), figsize=(5 * max(len(groups), 1), 5), squeeze=False
    )
    for ax, (name, part) in zip(axes[0], groups, strict=False):
        n = int(part["n"].iloc[0])
        plot_calibration(part, title=f"{by} = {name} ({n} actuals)", ax=ax)
    fig.suptitle(title)
    return list(axes[0])


def plot_holdout(
    history: pd.DataFrame, holdout: pd.DataFrame, title: str = "", ax: Axes | None = None
) -> Axes:
    """One series' history (through the holdout) against the forecast made at the cutoff."""
    from forecast.publish.report import plot_series

    ax = plot_series(history, holdout, title=title, ax=_axes(ax))
    if len(holdout):
        ax.axvline(holdout["cutoff"].iloc[0], color="0.4", ls=":", lw=1)
    return ax


def plot_policy_by_class(
    summary: pd.DataFrame, by: str = "abc_class", title: str = "", ax: Axes | None = None
) -> Axes:
    """Stacked bars of safety stock and cycle stock value per class (:func:`policy_by_class`)."""
    ax = _axes(ax, (6, 4))
    labels = summary[by].astype(str)
    ax.bar(labels, summary["safety_stock_value"], color="C3", label="safety stock")
    ax.bar(
        labels,
        summary["cycle_stock_value"],
        bottom=summary["safety_stock_value"],
        color="C0",
        alpha=0.7,
        label="cycle stock (Q/2)",
    )
    ax.set_ylabel("stock value")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_min_max(
    policies: pd.DataFrame, n: int = 20, title: str = "", ax: Axes | None = None
) -> Axes:
    """Per series (the ``n`` with the largest max level): safety stock, the rest of the reorder
    point (lead-time demand) and the order quantity up to the max level, as stacked bars."""
    top = policies.sort_values("max_level", ascending=False).head(n).iloc[::-1]
    ax = _axes(ax, (9, max(2.5, 0.3 * len(top) + 1)))
    labels = [f"{s} @ {loc}" for s, loc in zip(top["sku"], top["location"], strict=True)]
    safety = top["safety_stock"].to_numpy(dtype=float)
    reorder = top["reorder_point"].to_numpy(dtype=float)
    high = top["max_level"].to_numpy(dtype=float)
    ax.barh(labels, safety, color="C3", label="safety stock")
    ax.barh(labels, reorder - safety, left=safety, color="C1", alpha=0.7, label="lead-time demand")
    ax.barh(
        labels, high - reorder, left=reorder, color="C0", alpha=0.5, label="up to max (order qty)"
    )
    ax.set_xlabel("units (reorder point = end of orange, max = end of blue)")
    ax.tick_params(axis="y", labelsize=8)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    return ax


def plot_service_curve(
    curve: pd.DataFrame, current_value: float | None = None, title: str = "", ax: Axes | None = None
) -> Axes:
    """Safety-stock value against service level (:func:`service_level_curve`), one line per kind."""
    ax = _axes(ax, (7, 4))
    for kind, part in curve.groupby("kind"):
        ax.plot(
            part["level"], part["safety_stock_value"], marker="o", ms=2.5, label=f"{kind} target"
        )
    if current_value is not None:
        ax.axhline(current_value, color="0.4", ls=":", lw=1, label="today's plan")
    ax.set_xlabel("service level (same for every series)")
    ax.set_ylabel("safety stock value")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_risk_ranking(ranking: pd.DataFrame, title: str = "", ax: Axes | None = None) -> Axes:
    """Stockout probability of the ranked series (:func:`risk_ranking`), coloured by ABC class,
    with the simulated fill rate written beside each bar."""
    shown = ranking.iloc[::-1]
    ax = _axes(ax, (9, max(2.5, 0.32 * len(shown) + 1)))
    colours = {"A": "C3", "B": "C1", "C": "C0"}
    classes = shown.get("abc_class", pd.Series("?", index=shown.index)).fillna("?")
    labels = [
        f"{s} @ {loc} ({c})"
        for s, loc, c in zip(shown["sku"], shown["location"], classes, strict=True)
    ]
    ax.barh(labels, shown["stockout_probability"], color=[colours.get(c, "0.5") for c in classes])
    for y, (p, fill) in enumerate(
        zip(shown["stockout_probability"], shown["fill_rate"], strict=True)
    ):
        if np.isfinite(fill):
            ax.text(p + 0.01, y, f"fill {fill:.0%}", va="center", fontsize=7)
    ax.set_xlim(0, 1.15)
    ax.set_xlabel("probability of a stockout within the simulation horizon (colour = ABC class)")
    ax.tick_params(axis="y", labelsize=8)
    ax.set_title(title)
    return ax


def plot_allocation(
    table: pd.DataFrame, title: str = "", axes: Sequence[Axes] | None = None
) -> Sequence[Axes]:
    """Share on time and mean delay per segment, one bar per allocation policy
    (:func:`allocation_by_segment`)."""
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    table["on_time"].plot.bar(ax=axes[0], rot=0)
    axes[0].set_ylim(0, 1.05)
    axes[0].set_ylabel("share of lines on time")
    table["mean_delay"].plot.bar(ax=axes[1], rot=0)
    axes[1].set_ylabel("mean days late")
    for ax in axes:
        ax.legend(title="policy", fontsize=8)
    axes[0].figure.suptitle(title)
    return axes
