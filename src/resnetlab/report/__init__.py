"""Reports read from run and experiment directories: one self-contained HTML page. Reads files, runs nothing."""

from resnetlab.report.html import build_report

__all__ = ["build_report"]
