from __future__ import annotations

from pathlib import Path

import pytest
import torch

from resnetlab.inference.trained import Trained
from resnetlab.models import create_model
from resnetlab.models.record import ModelRecord, Preprocess


@pytest.fixture
def trained() -> Trained:
    torch.manual_seed(0)
    record = ModelRecord(
        model_name="cifar_resnet20",
        model_options={"num_classes": 3},
        classes=("cat", "dog", "horse"),
        preprocess=Preprocess("channel", mean=(0.5,) * 3, std=(0.25,) * 3, input_size=(3, 32, 32)),
    )
    return Trained(create_model("cifar_resnet20", num_classes=3).eval(), record, Path("model.pt"))
