"""Stage 2, forecasting: demand per SKU and location as a distribution, chosen by backtest.

- ``series``: long rows -> aligned panel (frequency detection);
- ``features`` (with ``covariate_calendar``, ``covariate_campaigns``, ``covariate_prices``):
  calendar, event, holiday, price and campaign covariates; ``campaign_uplift``: uplift estimates;
- ``forecasters/``: one module per model family (estimator shape: fit / predict);
- ``engine``: candidates, inner backtest, choice or combination per series, dispersion;
  ``calibration``: the distribution calibrated on the inner folds;
- ``distribution``: the probabilistic forecast (quantiles, sample paths, lead-time sums);
- ``evaluation``: metrics; ``backtesting``: rolling origin; ``artifacts``: models/<run_id>/.

Imports from ingest only.
"""

from forecast._lazy import lazy_exports

#: submodule -> the public names it defines
_EXPORTS = {
    "series": ("Panel", "Frequency", "build_panel", "detect_frequency"),
    "features": ("build_covariates", "estimate_campaign_uplift"),
    "engine": ("EngineConfig", "EngineResult", "forecast_panel"),
    "distribution": ("DemandForecast",),
    "backtesting": ("run_backtest",),
    "artifacts": ("write_model_artifacts",),
}
__all__ = [name for names in _EXPORTS.values() for name in names]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
