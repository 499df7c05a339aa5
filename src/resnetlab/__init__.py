"""resnetlab: the residual networks of He et al. (2015, 2016), faithful and fast on PyTorch."""

from resnetlab.analysis import Complexity, complexity
from resnetlab.inference.optimize import optimize_for_inference
from resnetlab.inference.quantize import quantize_int8
from resnetlab.models import ResNet, ResNetSpec, UnknownModelError, create_model, list_models

__version__ = "0.1.0"

__all__ = [
    "Complexity",
    "ResNet",
    "ResNetSpec",
    "UnknownModelError",
    "__version__",
    "complexity",
    "create_model",
    "list_models",
    "optimize_for_inference",
    "quantize_int8",
]
