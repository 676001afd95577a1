"""Stage 5, publish: what planners, buyers and the webhook receive.

- ``exports``: CSV exports and the purchasing workbook (per supplier);
- ``report`` (markup in ``templates/``, figures in ``report_plots``, cells in ``report_format``):
  the HTML report of a published run, read from the snapshot;
- ``digest``: the run summary and its webhook post.

Imports from every earlier stage; nothing imports from here but scenarios and the top level.
"""

from forecast._lazy import lazy_exports

#: submodule -> the public names it defines
_EXPORTS = {
    "exports": ("write_csv_exports", "write_purchasing_workbook", "write_rejects"),
    "report": ("write_html_report", "write_snapshot_report"),
    "digest": ("build_digest", "post_webhook"),
}
__all__ = [name for names in _EXPORTS.values() for name in names]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
