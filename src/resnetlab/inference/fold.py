"""Batch normalisation folded into the convolution before it, for inference.

In eval mode a BN after a conv is a per-channel affine map, so conv -> BN is one conv with rescaled weights and a
bias: one pass over the activations instead of two. Only a BN whose input is a conv's output and nothing else's is
folded; pre-activation units' BN-before-conv (on the sum, which the shortcut also reads) stays as it is.
"""

from __future__ import annotations

import copy

import torch.fx
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """An eval-mode copy of `model` with every foldable conv -> BN pair merged (same outputs up to rounding)."""
    copied = copy.deepcopy(model).eval()
    graph = torch.fx.GraphModule(copied, _BatchNormLeafTracer().trace(copied))
    modules = dict(graph.named_modules())
    calls: dict[str, int] = {}
    for node in graph.graph.nodes:
        if node.op == "call_module":
            calls[str(node.target)] = calls.get(str(node.target), 0) + 1
    for node in list(graph.graph.nodes):
        if node.op != "call_module" or not isinstance(modules[str(node.target)], nn.BatchNorm2d):
            continue
        source = node.args[0]
        if not isinstance(source, torch.fx.Node) or source.op != "call_module":
            continue
        conv_name, bn_name = str(source.target), str(node.target)
        conv, bn = modules[conv_name], modules[bn_name]
        # A conv read by anything besides this BN, or a module called at two places, cannot be rewritten in place.
        if not isinstance(conv, nn.Conv2d) or len(source.users) != 1:
            continue
        if calls[conv_name] != 1 or calls[bn_name] != 1 or not bn.track_running_stats:
            continue
        _replace(graph, conv_name, fuse_conv_bn_eval(conv, bn))
        modules[conv_name] = graph.get_submodule(conv_name)
        node.replace_all_uses_with(source)
        graph.graph.erase_node(node)
    graph.graph.lint()
    graph.delete_all_unused_submodules()
    graph.recompile()
    return graph


class _BatchNormLeafTracer(torch.fx.Tracer):
    """Every BatchNorm2d is one call, subclasses too (fine-tuning's FrozenBatchNorm2d lives outside torch.nn, which
    the default tracer would trace into)."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return isinstance(m, nn.BatchNorm2d) or super().is_leaf_module(m, module_qualified_name)


def _replace(graph: torch.fx.GraphModule, target: str, module: nn.Module) -> None:
    parent_name, _, name = target.rpartition(".")
    parent = graph.get_submodule(parent_name) if parent_name else graph
    setattr(parent, name, module)
