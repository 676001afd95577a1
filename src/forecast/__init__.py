"""forecast: demand forecasting, stock planning and backorder simulation."""

__version__ = "0.1.0"
