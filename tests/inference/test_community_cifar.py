"""The most shared trained CIFAR ResNet files (the akamaster/pytorch_resnet_cifar10 format) load, evaluate and predict
as their own code runs them. The reference forward below is written here from that format's description: option-A
shortcuts that pad the new channels half before and half after, a head named `linear`, nn.DataParallel's prefix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from resnetlab.errors import UserInputError
from resnetlab.inference.trained import input_normalization, load_trained
from resnetlab.models import create_model
from resnetlab.models.pretrained import CIFAR10_CLASSES, IMAGENET_MEAN, IMAGENET_STD
from tests.helpers.batchnorm import randomise_batchnorm
from tests.helpers.command import resnetlab_here


class _Block(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pad = planes // 4 if stride != 1 or in_planes != planes else 0

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if not self.pad:
            return x
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))  # half before, half after

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class _Reference(nn.Module):
    """The format's network: 6n+2 layers, widths 16/32/64, the head `linear`."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, in_planes = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for i in range(n):
                blocks.append(_Block(in_planes, planes, stride if i == 0 else 1))
                in_planes = planes
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.linear = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layer3(self.layer2(self.layer1(F.relu(self.bn1(self.conv1(x))))))
        return self.linear(F.avg_pool2d(out, out.size()[3]).flatten(1))


@pytest.fixture(scope="module")
def community(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, _Reference]:
    torch.manual_seed(0)
    reference = _Reference(n=3)
    randomise_batchnorm(reference, shift=(-0.2, 0.2))  # trained-looking BN: away from 0 and 1
    reference.eval()
    path = tmp_path_factory.mktemp("community") / "resnet20-12fca82f.th"
    state = {f"module.{k}": v for k, v in reference.state_dict().items()}  # saved from nn.DataParallel
    torch.save({"state_dict": state, "best_prec1": 91.73}, path)
    return path, reference


def test_the_format_is_recognised_and_gives_the_reference_logits(community: tuple[Path, _Reference]) -> None:
    path, reference = community
    trained = load_trained(path, torch.device("cpu"))
    record = trained.record
    assert (record.model_name, record.classes, record.model_options["pad_channels"]) == (
        "cifar_resnet20",
        CIFAR10_CLASSES,
        "both",
    )
    assert (record.preprocess.mean, record.preprocess.std) == (IMAGENET_MEAN, IMAGENET_STD)
    pixels = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    inputs = input_normalization(trained, torch.device("cpu"))(pixels)
    with torch.no_grad():
        expected = reference(
            (pixels.float() / 255 - torch.tensor(IMAGENET_MEAN).view(3, 1, 1))
            / torch.tensor(IMAGENET_STD).view(3, 1, 1)
        )
        assert torch.allclose(trained.model(inputs), expected, atol=1e-5)
        # Renaming the head alone, with the zeros appended after (resnetlab's default), loads without complaint and
        # gives other logits: the padding placement is what the format's markers decide.
        renamed = create_model("cifar_resnet20")
        renamed.load_state_dict({k.replace("linear", "fc"): v for k, v in reference.state_dict().items()})
        assert not torch.allclose(renamed.eval()(inputs), expected, atol=1e-3)


def test_a_file_without_the_formats_markers_is_not_read_as_it(community: tuple[Path, _Reference]) -> None:
    path, reference = community
    bare = path.with_name("bare.pth")
    torch.save(reference.state_dict(), bare)  # a `linear` head but no "best_prec1" wrapper: padding unknown
    with pytest.raises(UserInputError, match="fits no registered model"):
        load_trained(bare, torch.device("cpu"))


def test_eval_and_predict_run_it_on_cifar_like_images(community: tuple[Path, _Reference], tmp_path: Path) -> None:
    path, _ = community
    rng = np.random.default_rng(0)
    for split, count in (("train", 2), ("test", 3)):
        for name in CIFAR10_CLASSES:  # a tree in CIFAR-10's class names: sorted, they are its class order too
            (tmp_path / "cifar" / split / name).mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(tmp_path / "cifar" / split / name / f"{i}.png")
    result = resnetlab_here("eval", str(path), "--data", str(tmp_path / "cifar"))
    assert result.returncode == 0, result.stderr
    assert f"on 30 images of {tmp_path / 'cifar'}" in result.stdout  # its test/ part
    result = resnetlab_here("predict", str(path), str(tmp_path / "cifar" / "test" / "cat" / "0.png"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(": ", 1)[1].split()[0] in CIFAR10_CLASSES
