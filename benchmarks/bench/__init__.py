"""`wenda bench`: the measuring tool (what `wenda bench` runs; the CLI imports it from a checkout)."""

from bench.suite import CMRC, format_report, plot, run

__all__ = ["CMRC", "format_report", "plot", "run"]
