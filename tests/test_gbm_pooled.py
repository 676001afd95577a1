"""PooledGBM: the global model bottom-up and top-down from each SKU's total over its locations."""

from __future__ import annotations

import numpy as np
import pytest

from forecast.forecasting.forecasters.gbm import GlobalGBM
from forecast.forecasting.forecasters.gbm_pooled import (
    PooledGBM,
    group_totals,
    pooling_groups,
    recent_shares,
)
from tests.test_gbm import SMALL, H, T, synthetic


@pytest.fixture(scope="module")
def data():
    return synthetic(n_skus=8, seed=3)


def test_totals_and_shares_by_hand() -> None:
    y = np.array([[1.0, np.nan, 4.0, np.nan], [2.0, 3.0, np.nan, np.nan], [0.0, 0.0, 0.0, 5.0]])
    groups = np.array([0, 0, 1])
    np.testing.assert_array_equal(group_totals(y, groups), [[3.0, 3.0, 4.0, np.nan], [0.0, 0.0, 0.0, 5.0]])
    # periods 1-2 (end 3, window 2): series 0 sold 4, series 1 sold 3; group 1 nothing (even split)
    np.testing.assert_allclose(recent_shares(y, groups, 3, 2), [4 / 7, 3 / 7, 1.0])
    np.testing.assert_allclose(recent_shares(y, groups, 2, 2), [1 / 6, 5 / 6, 1.0])
    assert pooling_groups(np.array(["a", "b"])) is None  # no SKU at two locations
    assert pooling_groups(np.array(["b", "a", "b"])).tolist() == [1, 0, 1]


def test_forecast_is_the_weighted_sum_of_bottom_up_and_top_down(data) -> None:
    groups = np.repeat(np.arange(8), 2)  # synthetic(): SKU s at rows 2s, 2s + 1
    model = PooledGBM(groups, weight=0.5, share_window=56, **SMALL).fit(data.y, 7, covariates=data.cov)
    own = GlobalGBM(**SMALL).fit(data.y, 7, covariates=data.cov).predict(H)
    from forecast.forecasting.candidates import _take_rows

    total = GlobalGBM(**SMALL).fit(group_totals(data.y, groups), 7,
                                   covariates=_take_rows(data.cov, np.arange(0, 16, 2))).predict(H)
    y = data.y[:, -56:]
    share = y.sum(axis=1) / np.repeat(y.reshape(8, 2, -1).sum(axis=(1, 2)), 2)
    expected = 0.5 * own + 0.5 * total[groups] * share[:, None]
    np.testing.assert_allclose(model.predict(H), expected, rtol=1e-9)
    np.testing.assert_allclose(model.predict_at(T, H), expected, rtol=1e-9)
    one_by_one = PooledGBM(groups, weight=0.5, parallel=False, **SMALL).fit(data.y, 7, covariates=data.cov)
    np.testing.assert_allclose(one_by_one.predict(H), expected, rtol=1e-9)
    # weight 0: the bottom-up model alone
    alone = PooledGBM(groups, weight=0.0, **SMALL).fit(data.y, 7, covariates=data.cov).predict(H)
    np.testing.assert_allclose(alone, own, rtol=1e-9)
    with pytest.raises(ValueError, match="weight"):
        PooledGBM(groups, weight=1.5)
    with pytest.raises(ValueError, match="groups name"):
        PooledGBM(groups[:-1], **SMALL).fit(data.y, 7, covariates=data.cov)


def test_pooled_predict_at_reads_nothing_after_its_origin(data) -> None:
    groups = np.repeat(np.arange(8), 2)
    end = T - 14
    model = PooledGBM(groups, **SMALL, max_horizon=H).fit(data.y, 7, covariates=data.cov, train_until=end)
    changed = data.y.copy()
    changed[:, end:] *= 3.0
    other = PooledGBM(groups, **SMALL, max_horizon=H).fit(changed, 7, covariates=data.cov, train_until=end)
    np.testing.assert_allclose(other.predict_at(end, 14), model.predict_at(end, 14))


def test_the_engine_pools_only_skus_at_several_locations() -> None:
    from forecast.forecasting.candidates import _Context, _global_model
    from forecast.forecasting.engine import EngineConfig

    ctx = _Context(np.zeros((4, 10)), 7, None, None, np.ones((4, 10)), np.array([], int),
                   groups=np.array([0, 0, 1, 1]), pool_window=56)
    assert isinstance(_global_model(EngineConfig(), ctx, 1000), PooledGBM)
    assert isinstance(_global_model(EngineConfig(gbm_pool_weight=0.0), ctx, 1000), GlobalGBM)
    single = _Context(np.zeros((4, 10)), 7, None, None, np.ones((4, 10)), np.array([], int))
    assert isinstance(_global_model(EngineConfig(), single, 1000), GlobalGBM)
