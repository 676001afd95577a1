"""Stage 2, forecasting: demand per SKU and location as a distribution, chosen by backtest.

- ``series``: long rows -> aligned panel (frequency detection);
- ``features`` (with ``covariate_calendar``, ``covariate_campaigns``, ``covariate_prices``):
  calendar, event, holiday, price and campaign covariates; ``campaign_uplift``: uplift estimates;
- ``forecasters/``: one module per model family (estimator shape: fit / predict);
- ``engine``: candidates, inner backtest, choice or combination per series, dispersion;
- ``distribution``: the probabilistic forecast (quantiles, sample paths, lead-time sums);
- ``evaluation``: metrics; ``backtesting``: rolling origin; ``artifacts``: models/<run_id>/.

Imports from ingest only.
"""

from forecast._lazy import lazy_exports

_EXPORTS = {
    "Panel": "series",
    "Frequency": "series",
    "build_panel": "series",
    "detect_frequency": "series",
    "build_covariates": "features",
    "estimate_campaign_uplift": "features",
    "EngineConfig": "engine",
    "EngineResult": "engine",
    "forecast_panel": "engine",
    "DemandForecast": "distribution",
    "run_backtest": "backtesting",
    "write_model_artifacts": "artifacts",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
