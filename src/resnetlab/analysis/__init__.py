"""Measuring networks: parameters, MACs and activation memory."""

from resnetlab.analysis.complexity import Complexity, PartComplexity, complexity, stage_complexity

__all__ = ["Complexity", "PartComplexity", "complexity", "stage_complexity"]
