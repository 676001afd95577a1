"""The per-run HTML report, on a real pipeline run and on an empty snapshot."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
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
    at_risk = con.execute("SELECT count(*) FROM risk WHERE stockout_probability > 0.5").fetchone()[
        0
    ]
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
