"""The figures of the run report and of the notebooks: one series' forecast, its stock
projection, small multiples of either, the risk histograms and the allocation bars.

:func:`plot_series` and :func:`plot_stock_projection` draw on a matplotlib ``Axes`` (a new pyplot
figure when none is given; the notebooks call them through :mod:`forecast.publish.report` and
:mod:`forecast.analysis`). The report's figures are ``matplotlib.figure.Figure`` objects that
pyplot never registers, so no global figure state is kept and no backend has to be switched
(PNG rendering is Agg); :func:`png_base64` renders one for an inline ``<img>`` and clears it.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from forecast.publish.report_format import finite

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Key = tuple[str, str]
_DPI = 80


def floored(forecast: pd.DataFrame) -> bool:
    """Whether a series' distribution is planned on its rate floor somewhere (``planned``, from
    :func:`forecast.ingest.published.forecasts_of`, above ``mean``): its intervals are then of
    the floor, above the point forecast."""
    if "planned" not in forecast or forecast.empty:
        return False
    mean, planned = forecast["mean"].to_numpy(float), forecast["planned"].to_numpy(float)
    return bool((planned > mean * (1 + 1e-9) + 1e-12).any())


def plot_series(history: pd.DataFrame, forecast: pd.DataFrame, title: str = "", ax=None):
    """History (stockout days marked) and forecast with its 50% and 90% intervals; for a slow
    mover planned on its rate floor, the planned rate dashed (the intervals are of it)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(11, 4))
    ax.plot(history["date"], history["quantity"], color="0.3", lw=1, label="sales")
    out = history[history["stockout"]]
    if len(out):
        ax.scatter(out["date"], out["quantity"], color="red", s=12, zorder=3, label="stockout day")
    ax.fill_between(
        forecast["date"],
        forecast["q05"],
        forecast["q95"],
        alpha=0.2,
        color="C0",
        label="90% interval",
    )
    ax.fill_between(
        forecast["date"],
        forecast["q25"],
        forecast["q75"],
        alpha=0.35,
        color="C0",
        label="50% interval",
    )
    ax.plot(forecast["date"], forecast["mean"], color="C0", lw=2, label="forecast mean")
    if floored(forecast):
        ax.plot(forecast["date"], forecast["planned"], color="C1", lw=1.5, ls="--",
                label="planned rate (long-run floor)")
        ax.text(0.99, 0.97, "dashed: long-run rate floor", transform=ax.transAxes, ha="right",
                va="top", fontsize=6, color="C1")
    ax.set_title(title)
    ax.set_ylabel("units")
    ax.legend(loc="upper left", fontsize=8)
    return ax


def plot_stock_projection(
    bands: pd.DataFrame,
    reorder_point: float | None = None,
    max_level: float | None = None,
    title: str = "",
    ax: Axes | None = None,
) -> Axes:
    """Simulated net stock of one series (``risk_bands``: 10-50-90%) against its min and max."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 3.5))
    ax.fill_between(
        bands["date"],
        bands["stock_p10"],
        bands["stock_p90"],
        color="C0",
        alpha=0.25,
        label="net stock 10-90%",
    )
    ax.plot(bands["date"], bands["stock_p50"], color="C0", lw=1.5, label="median")
    ax.axhline(0, color="0.5", lw=0.8)
    if reorder_point is not None and np.isfinite(reorder_point):
        ax.axhline(reorder_point, color="C1", ls="--", lw=1.2, label="reorder point (min)")
    if max_level is not None and np.isfinite(max_level):
        ax.axhline(max_level, color="C2", ls=":", lw=1.2, label="max level")
    ax.set_ylabel("units")
    ax.tick_params(axis="x", labelsize=7, rotation=30)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    return ax


# -- the report's figures ----------------------------------------------------------------------


def forecast_grid(
    keys: list[Key],
    histories: Mapping[Key, pd.DataFrame],
    futures: Mapping[Key, pd.DataFrame],
    probability: Mapping[Key, float],
    at_risk_above: float,
) -> Figure:
    """One :func:`plot_series` panel per series; titles in red for series at risk."""

    def draw(ax: Axes, key: Key, first: bool) -> None:
        hist = histories.get(key, pd.DataFrame({"date": [], "quantity": [], "stockout": []}))
        hist = hist.astype({"stockout": bool})
        future = futures.get(
            key, pd.DataFrame(columns=["date", "mean", "q05", "q25", "q75", "q95"])
        )
        plot_series(hist, future, ax=ax)
        _panel_title(ax, key, probability.get(key), at_risk_above)
        ax.set_ylabel("units", fontsize=8)
        _tidy(ax, legend=first)

    return _grid(keys, draw)


def projection_grid(
    keys: list[Key],
    bands: Mapping[Key, pd.DataFrame],
    levels: Mapping[Key, tuple[float, float]],
    probability: Mapping[Key, float],
    at_risk_above: float,
) -> Figure:
    """One :func:`plot_stock_projection` panel per series, with its reorder point and max."""

    def draw(ax: Axes, key: Key, first: bool) -> None:
        reorder_point, max_level = levels.get(key, (np.nan, np.nan))
        plot_stock_projection(bands[key], reorder_point, max_level, ax=ax)
        _panel_title(ax, key, probability.get(key), at_risk_above)
        ax.set_ylabel("units", fontsize=8)
        _tidy(ax, legend=first)

    return _grid(keys, draw)


def risk_histograms(probability: pd.Series, fill: pd.Series, at_risk_above: float) -> Figure:
    """Histograms of the stockout probability (with the at-risk threshold) and the fill rate."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3.2), layout="constrained")
    ax_p, ax_f = fig.subplots(1, 2)
    ax_p.hist(probability, bins=np.linspace(0, 1, 21), color="C3", alpha=0.8)
    ax_p.axvline(at_risk_above, color="0.3", ls="--", lw=1, label="at-risk threshold")
    ax_p.set(title="Stockout probability over the horizon", xlabel="probability", ylabel="series")
    ax_p.legend(fontsize=8)
    low = math.floor(20 * fill.min()) / 20 if len(fill) else 0.0
    ax_f.hist(fill, bins=np.linspace(min(low, 0.95), 1, 21), color="C2", alpha=0.8)
    ax_f.set(title="Expected fill rate", xlabel="fill rate", ylabel="series")
    return fig


def allocation_bars(summary: pd.DataFrame, segments: list[str], policies: list[str]) -> Figure:
    """Per segment, one bar per allocation policy: share on time, mean days late, lines with
    no supply planned (``summary``: :func:`forecast.backorders.allocation.summarise_allocation`)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3.2), layout="constrained")
    axes = fig.subplots(1, 3)
    x = np.arange(len(segments))
    width = 0.8 / max(len(policies), 1)
    for i, policy in enumerate(policies):
        rows = summary[summary["policy"] == policy].set_index("segment").reindex(segments)
        offset = x + (i - (len(policies) - 1) / 2) * width
        for ax, column, fmt in zip(
            axes,
            ("on_time", "mean_delay", "no_supply"),
            ("{:.0%}", "{:.1f}", "{:.0f}"),
            strict=True,
        ):
            bars = ax.bar(
                offset,
                rows[column].to_numpy(dtype=float),
                width,
                label=_label(policy),
                color=f"C{i}",
            )
            ax.bar_label(bars, fmt=fmt, fontsize=7, padding=1)
    for ax, title in zip(
        axes,
        ("share of lines on time", "mean days late", "lines with no supply planned"),
        strict=True,
    ):
        ax.set_xticks(x, [_label(s) for s in segments])
        ax.set_title(title, fontsize=10)
        ax.set_ylim(0, max(ax.get_ylim()[1], 1) * 1.12)
        ax.tick_params(labelsize=8)
    axes[0].set_ylim(0, 1.12)
    fig.legend(
        *axes[0].get_legend_handles_labels(), title="policy", loc="outside right upper", fontsize=8
    )
    return fig


def png_base64(fig: Figure) -> str:
    """The figure as a base64 PNG (for an inline ``<img>``); the figure is cleared."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    fig.clear()
    return base64.b64encode(buffer.getvalue()).decode("ascii")


# -- plotting helpers --------------------------------------------------------------------------


def _grid(
    keys: Sequence[Key], draw: Callable[[Axes, Key, bool], None], ncols: int = 4
) -> Figure:
    """Small multiples, one panel per series."""
    from matplotlib.figure import Figure

    ncols = max(1, min(ncols, len(keys)))
    nrows = math.ceil(len(keys) / ncols)
    width, height = 3.6 * ncols, 2.6 * nrows
    fig = Figure(figsize=(width, height))
    # Fixed margins (inches) instead of a layout engine, which would draw every figure twice.
    fig.subplots_adjust(
        left=0.55 / width,
        right=1 - 0.15 / width,
        bottom=0.45 / height,
        top=1 - 0.3 / height,
        wspace=0.3,
        hspace=0.45,
    )
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for i, (ax, key) in enumerate(zip(axes, keys, strict=False)):
        draw(ax, key, i == 0)
    for ax in axes[len(keys) :]:
        ax.set_visible(False)
    return fig


def _tidy(ax: Axes, legend: bool) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=5)
    # 2-3 years of history (weekly or monthly data) have under 3 year ticks and over 24 months:
    # without a 12-month step matplotlib warns on the user's terminal and falls back to 6.
    locator.intervald[mdates.MONTHLY] = [1, 2, 3, 4, 6, 12]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.tick_params(labelsize=7)
    if legend:
        ax.legend(loc="upper left", fontsize=6, framealpha=0.8)
    elif ax.get_legend() is not None:
        ax.get_legend().remove()


def _panel_title(ax: Axes, key: Key, probability: float | None, at_risk_above: float) -> None:
    text = f"{key[0]} @ {key[1]}"
    at_risk = probability is not None and probability > at_risk_above
    if probability is not None and finite(probability):
        text += f"  P(out) {probability:.0%}"
    ax.set_title(_label(text), fontsize=9, color="C3" if at_risk else "black")


def _label(text: object) -> str:
    """Text for a matplotlib label: a ``$`` in a SKU must not start mathtext."""
    return str(text).replace("$", r"\$")
