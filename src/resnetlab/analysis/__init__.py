"""Measuring networks: parameters, MACs, activation memory and layer responses."""

from resnetlab.analysis.complexity import Complexity, PartComplexity, complexity, stage_complexity
from resnetlab.analysis.responses import LayerResponse, layer_responses

__all__ = ["Complexity", "LayerResponse", "PartComplexity", "complexity", "layer_responses", "stage_complexity"]
