"""Every network of [R1] and [R2], built from specs by one set of blocks, behind one registry."""

from resnetlab.models import cifar, imagenet  # noqa: F401  (importing registers the models)
from resnetlab.models.features import FeatureExtractor
from resnetlab.models.network import FeatureInfo, ResNet
from resnetlab.models.registry import UnknownModelError, create_model, list_models, model_entry
from resnetlab.models.shortcuts import ZeroPadShortcut
from resnetlab.models.spec import ResNetSpec
from resnetlab.models.unit import ResidualUnit

__all__ = [
    "FeatureExtractor",
    "FeatureInfo",
    "ResNet",
    "ResNetSpec",
    "ResidualUnit",
    "UnknownModelError",
    "ZeroPadShortcut",
    "create_model",
    "list_models",
    "model_entry",
]
