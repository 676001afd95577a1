"""The per-run HTML report, on a real pipeline run and on an empty snapshot."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from forecast.publish.report import SECTION_TITLES, open_results, write_html_report

PNG = '<img src="data:image/png;base64,'


def _copy_snapshot(
    source: Path,
    target: Path,
    *,
    where: str = "true",
    drop: tuple[str, ...] = (),
    replace: dict[str, str] | None = None,
) -> Path:
    """A copy of a snapshot, each table filtered by ``where``; ``drop`` leaves tables out and
    ``replace`` maps a table to a ``SELECT * REPLACE (...)`` clause."""
    target.mkdir()
    con = duckdb.connect()
    for file in sorted(source.glob("*.parquet")):
        if file.stem in drop:
            continue
        select = f"SELECT * {(replace or {}).get(file.stem, '')} FROM read_parquet('{file}') WHERE {where}"
        con.execute(f"COPY ({select}) TO '{target / file.name}' (FORMAT parquet)")
    con.close()
    return target


@pytest.fixture(scope="module")
def report_html(demo_run, tmp_path_factory: pytest.TempPathFactory) -> str:
    import matplotlib.pyplot as plt

    settings, summary = demo_run
    con = open_results(settings.snapshot_dir)
    path = write_html_report(
        con, tmp_path_factory.mktemp("report") / "run.html", run_id=summary.run_id
    )
    con.close()
    assert path.is_file()
    assert plt.get_fignums() == []  # no figure left open
    return path.read_text(encoding="utf-8")


def test_report_has_every_section_and_inline_plots(report_html: str, demo_run) -> None:
    _, summary = demo_run
    for title in SECTION_TITLES:
        assert f"<h2>{title}</h2>" in report_html, title
    assert report_html.count(PNG) >= 4  # forecasts, stock projection, risk, allocation
    assert summary.run_id in report_html
    # Nothing is fetched: no script, no remote source, link or stylesheet (sample customer
    # messages quote their cancellation links as text).
    assert "<script" not in report_html
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:|url\(\s*["']?https?:""", report_html)


def test_report_header_counts_match_the_snapshot(report_html: str, demo_run) -> None:
    settings, _ = demo_run
    con = open_results(settings.snapshot_dir)
    as_of = con.execute("SELECT max(date) FROM sales").fetchone()[0]
    due = con.execute(
        "SELECT count(*) FROM recommendations WHERE urgent OR order_by <= ?", [as_of]
    ).fetchone()[0]
    at_risk = con.execute("SELECT count(*) FROM risk WHERE at_risk").fetchone()[0]
    con.close()
    assert f"<div class='value'>{as_of:%Y-%m-%d}</div>" in report_html
    assert f"Orders to place today</div><div class='value'>{due:,} " in report_html
    assert f"<div class='value'>{at_risk:,} <small>of" in report_html


def test_empty_snapshot_still_gives_a_report(demo_run, tmp_path: Path) -> None:
    settings, _ = demo_run
    empty = _copy_snapshot(settings.snapshot_dir, tmp_path / "snapshot", where="false")
    con = open_results(empty)
    html = write_html_report(con, tmp_path / "empty.html").read_text(encoding="utf-8")
    con.close()
    for title in SECTION_TITLES:
        assert f"<h2>{title}</h2>" in html, title
    assert html.count("Nothing to show") >= len(SECTION_TITLES)
    assert PNG not in html


def test_text_is_escaped_and_missing_tables_are_tolerated(demo_run, tmp_path: Path) -> None:
    settings, _ = demo_run
    copy = _copy_snapshot(
        settings.snapshot_dir,
        tmp_path / "snapshot",
        drop=("campaign_uplift", "allocations"),
        replace={"recommendations": "REPLACE ('<script>alert(1)</script> & co' AS explanation)"},
    )
    con = open_results(copy)
    html = write_html_report(con, tmp_path / "r.html", top_n=2, max_risk_plots=1).read_text(
        encoding="utf-8"
    )
    con.close()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "Nothing to show: no campaign uplift estimates" in html
    assert "Nothing to show: no customer order lines" in html


# -- every section's numbers against the warehouse -------------------------------------------------


def _section(html: str, title: str) -> str:
    return html.split(f"<h2>{title}</h2>", 1)[1].split("<section", 1)[0]


def _rows(fragment: str) -> list[list[str]]:
    """The cell texts of every table row in ``fragment``."""
    import html as html_lib
    import re

    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", fragment, flags=re.DOTALL):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.DOTALL)
        if cells:
            rows.append([html_lib.unescape(c).strip() for c in cells])
    return rows


def _tables(fragment: str) -> list[str]:
    return fragment.split("<table>")[1:]


@pytest.fixture(scope="module")
def warehouse_rows(demo_run):
    from forecast.ingest.warehouse import Warehouse

    settings, _ = demo_run
    with Warehouse(settings.warehouse_path) as wh:
        return {name: wh.output(name) for name in (
            "recommendations", "alerts", "risk", "policies", "allocations", "backorders",
            "supplier_scorecard", "campaign_uplift", "forecasts")}, wh.table("customer_orders")


def test_each_section_shows_the_warehouse_numbers(report_html: str, warehouse_rows, demo_run) -> None:
    from forecast.backorders.allocation import open_order_lines, summarise_allocation
    from forecast.publish.report_format import fmt_int, fmt_money, fmt_pct

    rows, orders = warehouse_rows
    settings, _ = demo_run
    # Orders to place: the count, and every row shown is a warehouse recommendation.
    recs = rows["recommendations"]
    section = _section(report_html, "Orders to place")
    assert f"{len(recs):,} recommended orders" in section
    shown = _rows(section)
    known = {(r.sku, r.location, fmt_int(r.order_quantity), fmt_money(r.line_value))
             for r in recs.itertuples()}
    assert shown and all((r[0], r[1], r[3], r[6]) in known for r in shown)
    # Alerts: the count of each severity.
    section = _section(report_html, "Alerts")
    for severity, n in rows["alerts"]["severity"].value_counts().items():
        assert f"{severity}" in section and f"{n:,}" in section
    # Risk overview: the class table is the warehouse's risk joined with the policies.
    risk = rows["risk"].merge(rows["policies"][["sku", "location", "abc_class",
                                                "mean_daily_demand"]], on=["sku", "location"])
    risk = risk[risk["fill_rate"].notna()]
    section = _section(report_html, "Risk overview")
    classes = {r[0]: r for r in _rows(_tables(section)[0])}
    for cls, group in risk.groupby("abc_class"):
        w = group["mean_daily_demand"]
        simulated = (group["fill_rate"] * w).sum() / w.sum()
        assert classes[cls][1] == fmt_int(len(group))
        assert classes[cls][4] == fmt_pct(simulated)
        assert classes[cls][6] == fmt_int(group["at_risk"].sum())
    # Allocation by customer segment: lines and share on time per policy and segment.
    allocations = rows["allocations"].assign(segment=lambda f: f["segment"].fillna("(none)"))
    summary = summarise_allocation(allocations, open_order_lines(orders))
    section = _section(report_html, "Allocation by customer segment")
    table = {(r[0].removesuffix(" (in use)"), r[1]): r for r in _rows(section)}
    assert len(table) == len(summary) > 0
    for r in summary.itertuples():
        assert table[(r.policy, r.segment)][2] == fmt_int(r.lines)
        assert table[(r.policy, r.segment)][3] == fmt_pct(r.on_time)
        assert table[(r.policy, r.segment)][9] == fmt_money(r.expected_revenue_lost)
    # Backorder book: every waiting line of the policy in use.
    book = rows["backorders"]
    section = _section(report_html, "Backorder book")
    assert f"{len(book):,} open order lines under the <b>{settings.allocation_policy}</b>" in section
    # Supplier scorecard and campaign uplift: one row each.
    section = _section(report_html, "Supplier scorecard")
    assert sorted(r[0] for r in _rows(section)) == sorted(rows["supplier_scorecard"]["supplier"])
    section = _section(report_html, "Campaign uplift")
    assert len(_rows(section)) == len(rows["campaign_uplift"])
    # Header: the series count and the at-risk count with its measure.
    header = report_html.split("<h2>", 1)[0]
    series = rows["forecasts"][["sku", "location"]].drop_duplicates()
    assert f"<div class='value'>{len(series):,}" in header
    assert "more than 5 points under the planned one" in header


def test_a_slow_mover_planned_on_its_rate_floor_is_drawn_and_explained(demo_run, tmp_path: Path) -> None:
    # The demo's run floors nothing: no note. A copy whose two top sellers carry a floor of
    # 1,000 a day plots them with the planned rate (the floor) dashed, and says so.
    import matplotlib.pyplot as plt

    from forecast.ingest import published
    from forecast.publish import report_plots

    settings, _ = demo_run
    con = open_results(settings.snapshot_dir)
    plain = write_html_report(con, tmp_path / "plain.html", top_n=2, max_risk_plots=0)
    keys = [tuple(k) for k in con.execute(
        "SELECT sku, location FROM forecast_models ORDER BY sku, location LIMIT 2").fetchall()]
    before = published.forecasts_of(con, keys)
    con.close()
    assert "long-run rate floor" not in plain.read_text(encoding="utf-8")
    assert (before["planned"] == before["mean"]).all()

    copy = _copy_snapshot(settings.snapshot_dir, tmp_path / "snapshot",
                          replace={"forecast_models": "REPLACE (1000.0 AS rate_floor)"})
    con = open_results(copy)
    after = published.forecasts_of(con, keys)
    html = write_html_report(con, tmp_path / "floored.html", top_n=2, max_risk_plots=0).read_text(
        encoding="utf-8")
    con.close()
    assert (after["planned"] == 1000.0).all()
    assert after[["mean", "q05", "q95"]].equals(before[["mean", "q05", "q95"]])
    assert "2 plotted series are slow movers planned on the long-run rate floor" in _section(html, "Forecasts")

    one = after[after["sku"] == keys[0][0]]
    ax = report_plots.plot_series(pd.DataFrame({"date": [], "quantity": [], "stockout": []}), one)
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert [list(line.get_ydata()) for line in dashed] == [[1000.0] * len(one)]
    plt.close(ax.figure)
    ax = report_plots.plot_series(pd.DataFrame({"date": [], "quantity": [], "stockout": []}),
                                  before[before["sku"] == keys[0][0]])
    assert not [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    plt.close(ax.figure)


def test_two_to_three_years_of_weekly_history_get_year_ticks_without_a_warning() -> None:
    # 30 months: under 3 year ticks, over 24 month ticks; matplotlib's own steps stop at 6
    # months and it warned on every report of Dominick's weekly data.
    import warnings

    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    from forecast.publish import report_plots

    dates = pd.date_range("1990-01-04", periods=130, freq="W-THU")
    history = pd.DataFrame({"date": dates, "quantity": 5.0, "stockout": False})
    future = pd.date_range(dates[-1], periods=13, freq="W-THU")[1:]
    forecast = pd.DataFrame({"date": future, **{c: 5.0 for c in ("mean", "q05", "q25", "q75", "q95")}})
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        ax = report_plots.plot_series(history, forecast)
        report_plots._tidy(ax, legend=False)
        ticks = [mdates.num2date(t) for t in ax.xaxis.get_majorticklocs()]
        png = report_plots.png_base64(ax.figure)
    assert png and 3 <= len(ticks) <= 5
    plt.close("all")
