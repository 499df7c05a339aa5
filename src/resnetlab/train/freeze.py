"""Fine-tuning's frozen stages: weights that do not train and BN layers that keep their pretrained statistics."""

from __future__ import annotations

from torch import nn

from resnetlab.errors import UserInputError
from resnetlab.models.network import ResNet


class FrozenBatchNorm2d(nn.BatchNorm2d):
    """A BatchNorm2d that stays in eval mode whatever `model.train()` says.

    A frozen stage's BN must normalise with the pretrained running statistics: in train mode it would use the
    (small, shifted) fine-tuning batches' statistics and update the running ones, which changes the stage after all.
    Same parameters and buffers as BatchNorm2d, so state dicts, BN folding and export are unaffected.
    """

    def train(self, mode: bool = True) -> FrozenBatchNorm2d:
        return super().train(False)


def freeze_stages(model: nn.Module, count: int) -> None:
    """Freeze the stem and the first `count` stages (layer1..layer{count}); 0 freezes nothing."""
    if count == 0:
        return
    if not isinstance(model, ResNet):
        raise UserInputError("model.freeze_stages needs a resnetlab ResNet")
    if count > len(model.stage_names):
        raise UserInputError(
            f"model.freeze_stages must be at most {len(model.stage_names)} (the network's stages), got {count}"
        )
    frozen: list[nn.Module] = [model.conv1, model.bn1]
    frozen += [getattr(model, name) for name in model.stage_names[:count]]
    for part in frozen:
        for parameter in part.parameters():
            parameter.requires_grad_(False)
        for module in part.modules():
            if type(module) is nn.BatchNorm2d:
                # Same class layout, so the swap keeps every tensor; see FrozenBatchNorm2d for why.
                module.__class__ = FrozenBatchNorm2d
                module.eval()


def is_head(parameter_name: str) -> bool:
    """The classifier: the part fine-tuning trains from scratch, at the full learning rate."""
    return parameter_name.startswith("fc.")
