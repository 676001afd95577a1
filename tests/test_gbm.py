"""GlobalGBM: estimator shape, accuracy against seasonal naive, campaigns, censoring, determinism."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from forecast.forecasting.features import Covariates, build_covariates
from forecast.forecasting.forecasters import NotFittedError
from forecast.forecasting.forecasters.gbm import GlobalGBM
from forecast.forecasting.series import DAILY, Frequency

H = 28
T = 336
SMALL = {"max_iter": 60, "max_rows": 40_000, "fitted_periods": 7}


@dataclass
class Synthetic:
    y: np.ndarray  # (n, T) observed history
    actual: np.ndarray  # (n, H) holdout draws
    mean: np.ndarray  # (n, T + H) true mean demand
    cov: Covariates
    planned: list[tuple[int, int, int]]  # (series, first, last) holdout day of planned promos


def synthetic(n_skus: int = 12, seed: int = 0) -> Synthetic:
    """Two locations per SKU, weekly seasonality, 30% price promos lifting demand x1.9."""
    rng = np.random.default_rng(seed)
    skus = [f"SKU{i:02d}" for i in range(n_skus)]
    keys = pd.DataFrame(
        {"sku": np.repeat(skus, 2), "location": np.tile(["north", "south"], n_skus)}
    )
    products = pd.DataFrame({"sku": skus, "category": np.where(np.arange(n_skus) % 2, "a", "b")})
    dates = pd.date_range("2024-01-01", periods=T, freq="D")
    all_dates = pd.date_range(dates[0], periods=T + H, freq="D")
    rows, planned_skus = [], []
    for s, sku in enumerate(skus):
        start = int(rng.integers(5, 40))
        while start < T - 10:
            length = int(rng.integers(4, 10))
            rows.append((sku, all_dates[start], all_dates[start + length - 1]))
            start += length + int(rng.integers(25, 60))
        if s % 2 == 0:  # a planned promotion inside the forecast window
            first = T + int(rng.integers(3, 14))
            rows.append((sku, all_dates[first], all_dates[first + 6]))
            planned_skus.append((s, first - T, first - T + 6))
    campaigns = pd.DataFrame(rows, columns=["sku", "start_date", "end_date"])
    campaigns = campaigns.assign(category="", location="", kind="price_promo", discount_pct=30.0)
    cov = build_covariates(keys, dates, H, DAILY, campaigns=campaigns, products=products)
    n = len(keys)
    t = np.arange(T + H)
    level = rng.gamma(3.0, 3.0, (n, 1)) + 0.5
    weekly = np.array([0.8, 0.85, 0.9, 1.0, 1.15, 1.4, 0.9])[(t + 0) % 7]  # 2024-01-01 is Monday
    mean = level * weekly[None, :] * (1.0 + 3.0 * cov.campaign_discount)
    draws = rng.poisson(mean).astype(float)
    planned = [(2 * s + loc, a, b) for s, a, b in planned_skus for loc in (0, 1)]
    return Synthetic(draws[:, :T], draws[:, T:], mean, cov, planned)


@pytest.fixture(scope="module")
def data() -> Synthetic:
    return synthetic()


@pytest.fixture(scope="module")
def fitted(data: Synthetic) -> tuple[GlobalGBM, np.ndarray]:
    model = GlobalGBM(**SMALL).fit(data.y, season_length=7, covariates=data.cov)
    return model, model.predict(H)


def seasonal_naive(y: np.ndarray, h: int) -> np.ndarray:
    """Last week repeated."""
    return np.tile(y[:, -7:], (1, h // 7 + 1))[:, :h]


def test_estimator_shape():
    model = GlobalGBM(max_iter=10)
    assert model.get_params()["max_iter"] == 10
    assert "GlobalGBM(loss='tweedie'" in repr(model)
    with pytest.raises(NotFittedError):
        model.predict(3)
    with pytest.raises(ValueError, match="loss"):
        GlobalGBM(loss="gamma").fit(np.ones((2, 30)))
    with pytest.raises(ValueError, match="tweedie_power"):
        GlobalGBM(tweedie_power=2.0).fit(np.ones((2, 30)))


def test_beats_seasonal_naive_on_the_holdout(data, fitted):
    _, forecast = fitted
    assert forecast.shape == (data.y.shape[0], H) and forecast.dtype == np.float64
    rmse_gbm = np.sqrt(np.mean((forecast - data.actual) ** 2))
    rmse_naive = np.sqrt(np.mean((seasonal_naive(data.y, H) - data.actual) ** 2))
    assert rmse_gbm < 0.85 * rmse_naive, (rmse_gbm, rmse_naive)
    # and it is close to the true mean on average (no overall bias)
    assert forecast.sum() / data.mean[:, T:].sum() == pytest.approx(1.0, abs=0.08)


def test_forecast_rises_inside_a_planned_campaign(data, fitted):
    _, forecast = fitted
    ratios, by_campaign = [], []
    for series, first, last in data.planned:
        inside = np.arange(first, last + 1)  # 7 days: every weekday once
        days = []
        for day in inside:  # against the same weekday one or two weeks away, outside it
            same = [d for d in day + 7 * np.array([-2, -1, 1, 2]) if 0 <= d < H]
            same = [d for d in same if not first <= d <= last]
            days.append(forecast[series, day] / forecast[series, same].mean())
        ratios += days
        by_campaign.append(np.mean(days))
    # true lift 1 + 3 x 0.3 = 1.9: every planned campaign rises on average, no day falls
    # (single days of a 60-tree model on 24 series vary: 1.0 to 1.6 at the lowest by seed)
    assert np.median(ratios) > 1.5, ratios
    assert min(by_campaign) > 1.4, by_campaign
    assert min(ratios) > 1.0, ratios


def test_censored_days_do_not_bias_the_forecast_down(data):
    rng = np.random.default_rng(1)
    y_nan = data.y.copy()
    hit = np.arange(0, y_nan.shape[0], 2)
    for i in hit:  # stockout spells covering ~30% of the history, one at the very end
        for start in rng.integers(0, T - 20, 6):
            y_nan[i, start : start + 16] = np.nan
        y_nan[i, T - 5 :] = np.nan
    y_zero = np.nan_to_num(y_nan, nan=0.0)  # the mistake: stockouts read as zero demand
    truth = data.mean[hit, T:].sum()
    with_nan = GlobalGBM(**SMALL).fit(y_nan, 7, covariates=data.cov).predict(H)[hit].sum()
    with_zero = GlobalGBM(**SMALL).fit(y_zero, 7, covariates=data.cov).predict(H)[hit].sum()
    assert with_nan / truth == pytest.approx(1.0, abs=0.1)
    assert with_zero / truth < with_nan / truth - 0.1


def test_both_backends_learn_the_same_effects(data, fitted):
    """LightGBM (the default) and scikit-learn's HistGradientBoosting fit the same kind of
    trees on the same rows: both track the true mean of the holdout, including the planned
    campaigns, and their forecasts agree closely."""
    model, lgb = fitted
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(H), lgb)
    hgb = GlobalGBM(**SMALL, backend="sklearn").fit(data.y, 7, covariates=data.cov).predict(H)
    truth = data.mean[:, T:]
    for forecast in (lgb, hgb):
        assert np.sqrt(np.mean((forecast - truth) ** 2)) < 0.15 * truth.mean()
    assert np.abs(lgb - hgb).mean() < 0.08 * truth.mean()
    assert not np.array_equal(lgb, hgb)  # two boosters, not one twice
    with pytest.raises(ValueError, match="backend"):
        GlobalGBM(backend="xgboost").fit(data.y, 7, covariates=data.cov)


def test_without_lightgbm_the_scikit_learn_booster_is_used(data, monkeypatch):
    """A machine where LightGBM cannot load (no OpenMP runtime) still forecasts: the default
    model then grows scikit-learn's trees, exactly as ``backend="sklearn"``."""
    from forecast.forecasting.forecasters import gbm

    sklearn = GlobalGBM(**SMALL, backend="sklearn").fit(data.y, 7, covariates=data.cov).predict(H)
    monkeypatch.setattr(gbm, "lightgbm_available", lambda: False)
    fallback = GlobalGBM(**SMALL).fit(data.y, 7, covariates=data.cov).predict(H)
    np.testing.assert_array_equal(fallback, sklearn)


def test_deterministic(data, fitted):
    _, forecast = fitted
    again = GlobalGBM(**SMALL).fit(data.y, 7, covariates=data.cov).predict(H)
    np.testing.assert_array_equal(forecast, again)


def test_horizon_and_covariate_checks(data, fitted):
    model, forecast = fitted
    np.testing.assert_allclose(model.predict(7), forecast[:, :7])
    with pytest.raises(ValueError, match="exceeds"):
        model.predict(H + 1)
    with pytest.raises(ValueError, match="history periods"):
        GlobalGBM(**SMALL).fit(data.y[:, :-1], 7, covariates=data.cov)
    with pytest.raises(ValueError, match="series"):
        GlobalGBM(**SMALL).fit(data.y[:-1], 7, covariates=data.cov)
    short = GlobalGBM(max_iter=5, max_rows=5_000, max_horizon=40).fit(data.y, 7, data.cov)
    with pytest.raises(ValueError, match="covariates' future part"):
        short.predict(29)


def test_fitted_values_cover_the_last_periods(data, fitted):
    model, _ = fitted
    assert model.fitted_.shape == data.y.shape
    assert np.isnan(model.fitted_[:, : T - 7]).all()
    tail = model.fitted_[:, T - 7 :]
    assert np.isfinite(tail).all() and (tail >= 0).all()


def test_without_covariates_and_with_empty_series(data):
    y = data.y.copy()
    y[0] = 0.0
    y[1] = np.nan
    model = GlobalGBM(**SMALL, max_horizon=14).fit(y, season_length=7)
    forecast = model.predict(14)
    assert forecast.shape == (y.shape[0], 14)
    assert (forecast[:2] == 0).all()
    rmse_gbm = np.sqrt(np.mean((forecast[2:] - data.actual[2:, :14]) ** 2))
    rmse_naive = np.sqrt(np.mean((seasonal_naive(y, 14)[2:] - data.actual[2:, :14]) ** 2))
    assert rmse_gbm < rmse_naive
    with pytest.raises(ValueError, match="exceeds"):
        model.predict(15)


# ------------------------------------------------------------------------------------------
# Dominick's-like weekly data: campaigns without a discount, the deal is in the price
# ------------------------------------------------------------------------------------------
WEEKLY = Frequency("W", "W-THU", 7.0, 52)
TW, HW = 104, 12
DEAL_LIFT, FEATURE_LIFT = 2.0, 2.0  # a 25% deal doubles demand; a feature ad doubles it again


def weekly_deals(seed: int = 0) -> dict:
    """8 brands x 6 stores, weekly. Deals (in_store_deal, no discount_pct) lower the price by
    25% and lift demand x2; half of them also have a feature ad (x2 more). The forecast window
    plans a deal alone in week 3 and a deal with a feature ad in week 7 for every series, at
    the planned deal price."""
    rng = np.random.default_rng(seed)
    brands, stores = [f"OJ{b}" for b in range(8)], [f"s{s}" for s in range(6)]
    keys = pd.DataFrame({"sku": np.repeat(brands, 6), "location": np.tile(stores, 8)})
    n, total = len(keys), TW + HW
    dates = pd.date_range("2020-01-02", periods=total, freq="W-THU")
    deal = rng.random((n, total)) < 0.2
    feature = deal & (rng.random((n, total)) < 0.5)
    deal[:, TW:] = feature[:, TW:] = False
    deal[:, TW + 2] = deal[:, TW + 6] = feature[:, TW + 6] = True
    price = np.where(deal, 1.5, 2.0)
    lift = np.where(deal, DEAL_LIFT, 1.0) * np.where(feature, FEATURE_LIFT, 1.0)
    level = rng.gamma(4.0, 25.0, (n, 1)) + 20.0
    y = rng.poisson(level * lift).astype(float)
    cells = [
        (i, t, k)
        for k, m in (("in_store_deal", deal), ("feature_ad", feature))
        for i, t in zip(*np.nonzero(m))
    ]
    campaigns = pd.DataFrame(
        {
            "sku": [keys["sku"][i] for i, _, _ in cells],
            "location": [keys["location"][i] for i, _, _ in cells],
            "start_date": [dates[t] for _, t, _ in cells],
            "end_date": [dates[t] + pd.Timedelta(days=6) for _, t, _ in cells],
            "kind": [k for _, _, k in cells],
        }
    )
    # Covariates over history + window with the planned prices known, seen from week TW.
    full = build_covariates(keys, dates, 0, WEEKLY, campaigns=campaigns, price=price)
    cov = dataclasses.replace(full, n_history=TW)
    return {"y": y[:, :TW], "cov": cov, "level": level}


@pytest.fixture(scope="module")
def weekly() -> dict:
    return weekly_deals()


def test_deal_and_feature_ad_lift_read_from_price_and_kind_flags(weekly):
    model = GlobalGBM(max_iter=100, max_rows=60_000).fit(weekly["y"], 52, weekly["cov"])
    fc = model.predict(HW)
    plain = np.delete(fc, [2, 6], axis=1).mean(axis=1)  # the weeks without a campaign
    deal_ratio = np.median(fc[:, 2] / plain)
    feature_ratio = np.median(fc[:, 6] / plain)
    # truth: x2 for the deal (seen only as a 25% lower price and the deal flag), x4 with a
    # feature ad (the feature ad overlaps the deal: only its own flag tells it apart)
    assert deal_ratio == pytest.approx(DEAL_LIFT, rel=0.25), deal_ratio
    assert feature_ratio == pytest.approx(DEAL_LIFT * FEATURE_LIFT, rel=0.25), feature_ratio
    assert np.median(plain / weekly["level"][:, 0]) == pytest.approx(1.0, rel=0.15)


def test_without_campaign_information_the_deal_is_not_seen(weekly):
    # The same data with the price held at its regular level and no campaigns table: the
    # planned weeks look like any other (what the bench's "without" model sees).
    cov = weekly["cov"]
    blind = build_covariates(
        pd.DataFrame({"sku": ["x"] * cov.n_series, "location": ["s"] * cov.n_series}),
        cov.dates[:TW],
        HW,
        WEEKLY,
        price=np.full((cov.n_series, TW), 2.0),
    )
    fc = GlobalGBM(max_iter=100, max_rows=60_000).fit(weekly["y"], 52, blind).predict(HW)
    plain = np.delete(fc, [2, 6], axis=1).mean(axis=1)
    assert np.median(fc[:, 6] / plain) < 1.3


def test_recency_draw_weights_halve_every_halflife(weekly):
    # 0.5 ** (age_days / 182): the last history week weighs 1, 26 weeks earlier 0.5, 52 0.25.
    model = GlobalGBM(max_iter=5, max_rows=5_000).fit(weekly["y"], 52, weekly["cov"])
    t = np.array([TW - 1, TW - 27, TW - 53])
    np.testing.assert_allclose(model._recency(t, TW), [1.0, 0.5, 0.25])
    flat = GlobalGBM(max_iter=5, max_rows=5_000, recency_halflife_days=None)
    assert flat.fit(weekly["y"], 52, weekly["cov"])._recency(t, TW) is None


def test_recency_weights_apply_only_with_campaigns(data):
    # Without campaigns in the history the draw stays uniform (m5_dev: recency only cost there).
    cov = dataclasses.replace(
        data.cov,
        campaign_active=np.zeros_like(data.cov.campaign_active),
        campaign_discount=np.zeros_like(data.cov.campaign_discount),
        campaigns_by_kind={},
    )
    a = GlobalGBM(**SMALL).fit(data.y, 7, covariates=cov).predict(H)
    b = GlobalGBM(**SMALL, recency_halflife_days=None).fit(data.y, 7, covariates=cov).predict(H)
    np.testing.assert_array_equal(a, b)
    c = GlobalGBM(**SMALL, recency_always=True).fit(data.y, 7, covariates=cov).predict(H)
    assert not np.array_equal(a, c)


def test_cross_effect_features_weigh_the_other_series_by_their_mean_demand(weekly):
    # A big brand's feature ad takes more from the others than a small one's: the share of
    # the store's other series in a campaign is also weighted by their mean demand.
    y, cov = weekly["y"], weekly["cov"]
    model = GlobalGBM(max_iter=5, max_rows=5_000).fit(y, 52, cov)
    names = model.feature_names_
    i = np.arange(cov.n_series)
    t = np.full(cov.n_series, TW - 1)
    design = model._state.design(i, t - 1, np.ones_like(t))
    weight = np.nanmean(y, axis=1)
    code = cov.location_code
    flags = cov.campaigns_by_kind["feature_ad"][:, TW - 1]  # one category: all compete
    for r in (0, 7, 20):
        others = (code == code[r]) & (i != r)
        expected = np.sum(flags[others] * weight[others]) / np.sum(weight[others])
        got = design[r, names.index("competitor_share_feature_ad")]
        assert got == pytest.approx(expected, rel=1e-5)
        rel = model._state.relative_price[others, TW - 1]
        assert design[r, names.index("competitor_min_relative_price")] == pytest.approx(rel.min())


def test_predict_at_reads_nothing_after_its_origin(data):
    """One fit with train_until scores several inner folds: predict_at(end) is the forecast
    from origin end - 1 whatever the history after it holds, and at the end equals predict."""
    end = T - 14
    model = GlobalGBM(**SMALL, max_horizon=H).fit(data.y, 7, covariates=data.cov, train_until=end)
    at_end = model.predict_at(end, 14)
    changed = data.y.copy()
    changed[:, end:] *= 3.0  # a different future: neither the training rows nor the origin see it
    other = GlobalGBM(**SMALL, max_horizon=H).fit(changed, 7, covariates=data.cov, train_until=end)
    np.testing.assert_allclose(other.predict_at(end, 14), at_end)
    np.testing.assert_allclose(model.predict_at(T, H), model.predict(H))
    with pytest.raises(ValueError, match="before train_until"):
        model.predict_at(end - 1, 14)


def test_year_change_reads_the_year_before_for_steps_beyond_four_weeks() -> None:
    """From step 29 on, daily data read how demand moved 52 weeks before from the origin's time
    of year to the target's: the mean of the 29 days around t - 364 over the mean of the 28
    days up to o - 364, NaN before step 29 or without that history; a 28-day model is the model
    without the feature."""
    rng = np.random.default_rng(3)
    days = 900
    season = 1.0 + 0.6 * np.sin(2 * np.pi * np.arange(days) / 364)
    y = rng.poisson(8.0 * season, (6, days)).astype(float)
    y[2, 300:330] = np.nan  # censored days are not counted
    model = GlobalGBM(max_iter=20, max_rows=20_000, max_horizon=56).fit(y, 7)
    names = model.feature_names_
    i = np.repeat(np.arange(6), 4)
    o = np.tile([700, 700, 700, 380], 6)
    k = np.tile([28, 29, 56, 40], 6)
    got = model._state.design(i, o, k)[:, names.index("year_change")]

    def mean(lo: int, hi: int, r: int) -> float:  # days lo..hi inclusive, NaN-aware
        return float(np.nanmean(y[r, lo : hi + 1]))

    for row, (r, origin, step) in enumerate(zip(i, o, k)):
        t = origin + step
        if step < 29 or origin - 364 < 27:
            assert np.isnan(got[row])
        else:
            expected = mean(t - 364 - 14, t - 364 + 14, r) / mean(origin - 364 - 27, origin - 364, r)
            assert got[row] == pytest.approx(expected, rel=1e-5)
    assert np.isfinite(got[1])
    # a 28-day model never sees the feature: the same forecast as without it
    short = GlobalGBM(max_iter=20, max_rows=20_000, max_horizon=28).fit(y, 7).predict(28)
    off = GlobalGBM(max_iter=20, max_rows=20_000, max_horizon=28, yearly_from_step=None).fit(y, 7).predict(28)
    np.testing.assert_allclose(short, off)
