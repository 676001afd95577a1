"""The cancellation curve: default, censored maximum-likelihood fit, and the risk of a line."""

from __future__ import annotations

import doctest
from datetime import date

import numpy as np
import pandas as pd
import pytest

from forecast.backorders import cancellation as cx
from forecast.backorders.cancellation import (
    DEFAULT_CURVE,
    CancellationCurve,
    cancellation_durations,
    curve_from_history,
    fit_curve,
    line_risk,
)

TRUE = CancellationCurve(limit=0.3, scale_days=10.0, shape=1.8)


def _sample(n: int, seed: int, curve: CancellationCurve = TRUE, follow_up: int = 40):
    """Whole days late at cancellation (or never), and the day each line would ship."""
    rng = np.random.default_rng(seed)
    leaves = rng.random(n) < curve.limit
    day = np.ceil(curve.scale_days * rng.weibull(curve.shape, n))  # event in (d - 1, d]
    cancel_day = np.where(leaves, np.maximum(day, 1), np.inf)
    ship_day = rng.integers(0, follow_up, n).astype(float)
    cancelled = cancel_day <= ship_day
    return np.where(cancelled, cancel_day, ship_day), cancelled


def test_doctests() -> None:
    result = doctest.testmod(cx, extraglobs={"np": np})
    assert result.attempted >= 4 and result.failed == 0


def test_default_curve_values() -> None:
    # F(d) = 0.4 (1 - exp(-(d / 14) ^ 1.5))
    assert DEFAULT_CURVE.cdf([0, 7, 14, 30, np.inf]) == pytest.approx(
        [0.0, 0.4 * (1 - np.exp(-(0.5**1.5))), 0.4 * (1 - np.exp(-1)),
         0.4 * (1 - np.exp(-((30 / 14) ** 1.5))), 0.4])
    assert DEFAULT_CURVE.cdf(-5) == 0.0
    h = DEFAULT_CURVE.hazard(np.arange(1, 60))
    # Rising over the first week (shape > 1), then falling: those who would leave have left.
    assert (h > 0).all() and (np.diff(h[:8]) > 0).all() and h.argmax() == 8 and h[-1] < h[8] / 100
    with pytest.raises(ValueError, match="limit"):
        CancellationCurve(limit=1.5, scale_days=1, shape=1)


def test_fit_recovers_known_parameters() -> None:
    days, cancelled = _sample(6000, seed=1)
    curve = fit_curve(days, cancelled)
    assert curve.source == "fitted"
    assert curve.limit == pytest.approx(0.3, abs=0.03)
    assert curve.scale_days == pytest.approx(10.0, rel=0.1)
    assert curve.shape == pytest.approx(1.8, rel=0.1)
    assert curve.cancellations == int(cancelled.sum()) and curve.censored == int((~cancelled).sum())
    grid = np.arange(0, 41)
    assert np.abs(curve.cdf(grid) - TRUE.cdf(grid)).max() < 0.02


def test_censoring_is_what_makes_the_fit_unbiased() -> None:
    # Most lines ship within a week: their customers never had the time to leave.
    days, cancelled = _sample(6000, seed=2, follow_up=10)
    fair = fit_curve(days, cancelled)
    # Ignoring censoring = treating shipped lines as never cancelled however long they waited.
    naive = fit_curve(np.where(cancelled, days, 10_000.0), cancelled)
    share_cancelled = cancelled.mean()
    assert abs(fair.cdf(9) - TRUE.cdf(9)) < 0.02
    assert naive.cdf(30) < TRUE.cdf(30) - 0.1  # far too low
    assert naive.limit == pytest.approx(share_cancelled, abs=0.01)
    assert abs(fair.cdf(30) - TRUE.cdf(30)) < abs(naive.cdf(30) - TRUE.cdf(30)) / 2


def test_fit_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="no cancellations"):
        fit_curve([1.0, 2.0], [False, False])
    with pytest.raises(ValueError, match="at least 1 day late"):
        fit_curve([0.0, 2.0], [True, False])
    with pytest.raises(ValueError, match="same length"):
        fit_curve([1.0, 2.0], [True])


def _history(days: np.ndarray, cancelled: np.ndarray) -> pd.DataFrame:
    n = len(days)
    order_date = pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(n) % 200, "D")
    promised = order_date + pd.Timedelta(days=5)
    return pd.DataFrame({
        "order_id": [f"SO{i}" for i in range(n)], "sku": "A", "location": "DC",
        "order_date": order_date.date, "promised_date": promised.date,
        "status": np.where(cancelled, "cancelled", "shipped"),
        "status_date": (promised + pd.to_timedelta(days, "D")).date,
    })


def test_curve_from_history_fits_with_enough_cancellations() -> None:
    days, cancelled = _sample(3000, seed=3)
    history = _history(days, cancelled)
    # Lines cancelled before their promise are not delay cancellations; a line without a
    # promise is promised 7 days after its order; open lines are censored at today's delay.
    extra = pd.DataFrame({
        "order_id": ["X1", "X2", "X3"], "sku": "A", "location": "DC",
        "order_date": [date(2026, 8, 1), date(2026, 8, 1), date(2026, 8, 1)],
        "promised_date": [date(2026, 8, 10), None, date(2026, 8, 10)],
        "status": ["cancelled", "cancelled", "open"],
        "status_date": [date(2026, 8, 3), date(2026, 8, 12), None],
    })
    durations = cancellation_durations(pd.concat([history, extra]), as_of=date(2026, 8, 20))
    assert durations.attrs["cancelled_before_promise"] == 1
    assert durations["cancelled"].sum() == cancelled.sum() + 1  # X2: 12 Aug is 4 days late
    assert durations.iloc[-1].to_dict() == {"days_late": 10.0, "cancelled": False}  # X3
    curve = curve_from_history(pd.concat([history, extra]), as_of=date(2026, 8, 20))
    assert curve.source == "fitted" and curve.cancelled_before_promise == 1
    assert curve.limit == pytest.approx(0.3, abs=0.04)
    assert "fitted on" in curve.note
    row = curve.to_frame()
    assert list(row.columns) == cx.CURVE_COLUMNS and row.loc[0, "source"] == "fitted"


def test_too_few_cancellations_use_the_default_curve() -> None:
    days, cancelled = _sample(200, seed=4, follow_up=3)
    assert cancelled.sum() < cx.MIN_CANCELLATIONS
    curve = curve_from_history(_history(days, cancelled))
    assert curve.source == "default" and curve.limit == DEFAULT_CURVE.limit
    assert f"fewer than the {cx.MIN_CANCELLATIONS}" in curve.note
    assert curve.cancellations == cancelled.sum()
    # Without statuses there is no history at all.
    assert curve_from_history(pd.DataFrame({"order_id": ["a"]})).cancellations == 0


def test_line_risk_is_conditional_on_having_waited() -> None:
    lines = pd.DataFrame({
        "order_date": [date(2026, 10, 1)] * 4,
        "promised_date": [date(2026, 10, 20), date(2026, 10, 20), date(2026, 11, 10), None],
        "eta": [date(2026, 11, 10), None, date(2026, 11, 5), date(2026, 11, 1)],
        "quantity": [4.0, 2.0, 1.0, 3.0],
        "allocated_now": [1.0, 0.0, 0.0, 0.0],
        "unit_price": [10.0, 5.0, 8.0, None],
    })
    risk = line_risk(lines, date(2026, 11, 1), DEFAULT_CURVE)
    f = DEFAULT_CURVE.cdf
    # 12 days late now, ships 21 days late: P = (F(21) - F(12)) / (1 - F(12)).
    assert risk.loc[0, "cancel_probability"] == pytest.approx((f(21) - f(12)) / (1 - f(12)))
    p0 = risk.loc[0, "cancel_probability"]
    assert risk.loc[0, "expected_revenue_lost"] == pytest.approx(3 * 10 * p0)
    # No supply: the curve's limit, conditional on 12 days survived.
    assert risk.loc[1, "cancel_probability"] == pytest.approx((0.4 - f(12)) / (1 - f(12)))
    assert risk.loc[2, "cancel_probability"] == 0.0  # ships before its promise
    # No promise: order date + 7 days = 8 Oct, 24 days late on 1 Nov and shipping then.
    assert risk.loc[3, "cancel_probability"] == 0.0 and risk.loc[3, "expected_revenue_lost"] == 0
