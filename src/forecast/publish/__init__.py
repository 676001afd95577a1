"""Stage 5, publish: what planners, buyers and the webhook receive.

- ``exports``: CSV exports and the purchasing workbook (per supplier);
- ``report`` (markup in ``templates/``, figures in ``report_plots``, cells in ``report_format``):
  the HTML report of a published run, read from the snapshot;
- ``digest``: the run summary and its webhook post.

Imports from every earlier stage; nothing imports from here but scenarios and the top level.
"""

from forecast._lazy import lazy_exports

_EXPORTS = {
    "write_csv_exports": "exports",
    "write_purchasing_workbook": "exports",
    "write_rejects": "exports",
    "write_html_report": "report",
    "write_snapshot_report": "report",
    "build_digest": "digest",
    "post_webhook": "digest",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
