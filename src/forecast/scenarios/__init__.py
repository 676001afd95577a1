"""Stage 6, scenarios: questions asked of the published plan.

- ``whatif``: a planned campaign, a demand shock or a supplier delay on a few SKUs, before and
  after;
- ``replay`` (module; its function is ``replay.replay``): replan through a past period and play the actual demand against a simple ERP rule.

Imports from every earlier stage.
"""

from forecast._lazy import lazy_exports

#: submodule -> the public names it defines
_EXPORTS = {
    "whatif": ("Scenario", "WhatIfResult", "what_if", "comparison_rows"),
    "replay": ("ReplayConfig", "ReplayResult"),
}
__all__ = [name for names in _EXPORTS.values() for name in names]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
