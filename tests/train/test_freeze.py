import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnetlab.config import OptimConfig
from resnetlab.errors import UserInputError
from resnetlab.models import create_model
from resnetlab.train.freeze import FrozenBatchNorm2d, freeze_stages
from resnetlab.train.optim import build_optimizer


def _snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_frozen_stages_do_not_change_in_a_training_step_and_their_bn_stays_in_eval_mode() -> None:
    torch.manual_seed(0)
    model = create_model("resnet18", num_classes=3)
    freeze_stages(model, 2)  # the stem, layer1 and layer2
    frozen = [model.conv1, model.bn1, model.layer1, model.layer2]
    before = [_snapshot(part) for part in frozen]
    trained_before = _snapshot(model.layer3)
    optimizer = build_optimizer(model, OptimConfig(lr=0.1, weight_decay=1e-2))
    model.train()
    frozen_norms = [m for part in frozen for m in part.modules() if isinstance(m, nn.BatchNorm2d)]
    assert frozen_norms and all(isinstance(m, FrozenBatchNorm2d) and not m.training for m in frozen_norms)
    assert all(m.training for m in model.layer3.modules() if isinstance(m, nn.BatchNorm2d))

    for _ in range(2):
        loss = F.cross_entropy(model(torch.randn(4, 3, 64, 64)), torch.tensor([0, 1, 2, 0]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for part, state in zip(frozen, before, strict=True):  # weights and BN running statistics alike
        assert all(torch.equal(part.state_dict()[k], v) for k, v in state.items())
    assert not torch.equal(model.layer3[0].conv1.weight, trained_before["0.conv1.weight"])
    assert not torch.equal(model.layer3[0].bn1.running_mean, trained_before["0.bn1.running_mean"])


def test_freezing_keeps_the_state_dict_loadable_into_a_plain_model() -> None:
    model = create_model("cifar_resnet20")
    freeze_stages(model, 3)
    assert all(not p.requires_grad for name, p in model.named_parameters() if not name.startswith("fc."))
    create_model("cifar_resnet20").load_state_dict(model.state_dict())


def test_more_stages_than_the_network_has_is_a_clear_error() -> None:
    with pytest.raises(UserInputError, match=r"model.freeze_stages must be at most 3 \(the network's stages\), got 4"):
        freeze_stages(create_model("cifar_resnet20"), 4)
