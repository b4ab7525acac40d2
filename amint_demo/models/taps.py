"""Tap points ("entry", "middle", "output" or module names) and hook-based activation capture."""
from __future__ import annotations

import threading
from collections.abc import Sequence
from types import TracebackType

import torch
from torch import nn

from amint_demo.errors import InvalidConfig

TAP_DEPTHS = {"entry": 0.25, "middle": 0.5, "output": 0.75}


def stages(model: nn.Module) -> list[dict]:
    """The backbone's stages from timm's `feature_info`, stem excluded.

    Each entry: {"module": name, "num_chs": channels, "reduction": stride}.
    """
    info = [dict(entry) for entry in getattr(model, "feature_info", [])]
    if not info:
        raise InvalidConfig(f"{model.__class__.__name__} has no feature_info; name tap modules explicitly")
    if len(info) > 2 and info[0]["reduction"] < info[1]["reduction"]:
        info = info[1:]  # the stem (resnet act1, densenet norm0, mobilenet bn1)
    return info


def resolve_taps(model: nn.Module, taps: str | Sequence[str]) -> list[str]:
    """Module names for a depth name or a comma-separated list of module names.

    A depth name picks two consecutive stages around that fraction of the depth
    (ResNet: entry = layer1+layer2, middle = layer2+layer3, output = layer3+layer4).
    """
    if isinstance(taps, str):
        taps = [t.strip() for t in taps.split(",") if t.strip()]
    if len(taps) == 1 and taps[0] in TAP_DEPTHS:
        names = [s["module"] for s in stages(model)]
        upper = min(max(round(TAP_DEPTHS[taps[0]] * len(names)), 1), len(names) - 1)
        return names[upper - 1: upper + 1]
    modules = dict(model.named_modules())
    unknown = [t for t in taps if t not in modules or t == ""]
    if unknown or not taps:
        known = ", ".join([*TAP_DEPTHS, *(s["module"] for s in stages(model))])
        raise InvalidConfig(f"unknown tap(s) {unknown or taps}; use one of: {known}")
    if len(taps) > 2:
        raise InvalidConfig(f"at most two taps are fused, got {len(taps)}")
    return list(taps)


def tap_depth_name(model: nn.Module, tap_modules: Sequence[str]) -> str | None:
    """The depth name ('entry', 'middle', 'output') whose taps these are, if any."""
    for depth in TAP_DEPTHS:
        if resolve_taps(model, depth) == list(tap_modules):
            return depth
    return None


def tap_channels(model: nn.Module, tap_modules: Sequence[str], probe: torch.Tensor) -> list[int]:
    """Channels of each tap: from `feature_info` when listed, else from one probe forward."""
    listed = {s["module"]: int(s["num_chs"]) for s in getattr(model, "feature_info", [])}
    if all(name in listed for name in tap_modules):
        return [listed[name] for name in tap_modules]
    was_training = model.training
    model.eval()
    with torch.no_grad(), ActivationCapture(model, tap_modules) as capture:
        model(probe)
    model.train(was_training)
    return [int(capture.outputs[name].shape[-1 if capture.outputs[name].ndim == 3 else 1]) for name in tap_modules]


class ActivationCapture:
    """Context manager recording the outputs of named modules; hooks are always removed.

    Usage: `with ActivationCapture(model, ["layer2"]) as cap: model(x); cap.outputs["layer2"]`.
    Outputs keep their autograd graph (the aMINT loss back-propagates through them). Only forward passes run
    by the thread that entered are recorded: a model shared by concurrent requests fires every registered
    hook in every thread, and another request's activations must never be read as this one's.
    """

    def __init__(self, model: nn.Module, module_names: Sequence[str]) -> None:
        modules = dict(model.named_modules())
        missing = [name for name in module_names if name not in modules]
        if missing:
            raise InvalidConfig(f"{model.__class__.__name__} has no module(s) {missing}")
        self._targets = [(name, modules[name]) for name in module_names]
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self.outputs: dict[str, torch.Tensor] = {}
        self._thread: int | None = None  # set on entering

    def __enter__(self) -> ActivationCapture:
        self._thread = threading.get_ident()
        for name, module in self._targets:
            self._handles.append(module.register_forward_hook(self._recorder(name)))
        return self

    def _recorder(self, name: str):
        def hook(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
            if threading.get_ident() != self._thread:
                return
            self.outputs[name] = output[0] if isinstance(output, tuple) else output
        return hook

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
