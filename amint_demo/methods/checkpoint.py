"""Epoch checkpoints of the audited model's training, so that an interrupted run (a long zoo run, a GPU job that
was pre-empted) resumes at the epoch where it stopped and ends with the same weights as an uninterrupted run.

One safetensors file beside the pair's folder (`<out>.checkpoint.safetensors`): the model's and optimiser's
tensors, the random streams' states and orders; the rest (epoch, history, schedule, loss scales, the run's
configuration) as JSON in its metadata. Written atomically after every epoch, removed once the pair is saved.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from amint_demo.errors import InvalidConfig
from amint_demo.methods.batches import ShuffledStream
from amint_demo.methods.config import TrainConfig

#: configuration fields that may differ between the interrupted run and its resumption
MAY_DIFFER = frozenset({"device"})


def checkpoint_path(out: str | Path) -> Path:
    """Where the run that writes the pair `out` keeps its checkpoint."""
    out = Path(out)
    return out.with_name(out.name + ".checkpoint.safetensors")


@dataclass
class Progress:
    """Where a run stands after `epoch` whole epochs: `step` optimiser steps, one history record per epoch, and the
    first-batch loss scales (None until the first joint step)."""

    epoch: int
    step: int
    history: list[dict]
    scales: tuple[float, float] | None


@dataclass
class TrainingState:
    """The live objects of one run that a checkpoint saves and restores."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    streams: dict[str, ShuffledStream]
    generators: dict[str, torch.Generator]


def _fingerprint(config: TrainConfig) -> str:
    return json.dumps({k: v for k, v in config.to_dict().items() if k not in MAY_DIFFER}, sort_keys=True)


class EpochCheckpoint:
    """Save after each epoch, resume from the last one; refuses a file written for another configuration."""

    def __init__(self, path: str | Path, config: TrainConfig) -> None:
        self.path, self.config = Path(path), config

    def save(self, state: TrainingState, progress: Progress) -> None:
        """Write atomically (a temporary name, then a rename), so a crash mid-write keeps the last good file."""
        tensors: dict[str, torch.Tensor] = {f"model.{k}": v for k, v in state.model.state_dict().items()}
        optimizer = state.optimizer.state_dict()
        for param, values in optimizer["state"].items():
            tensors |= {f"optimizer.{param}.{k}": v for k, v in values.items() if isinstance(v, torch.Tensor)}
        tensors |= {f"generator.{k}": g.get_state() for k, g in state.generators.items()}
        tensors["generator.torch"] = torch.get_rng_state()
        tensors |= {f"stream.{k}": s.order_remaining() for k, s in state.streams.items()}
        meta = {"config": _fingerprint(self.config), "epoch": progress.epoch, "step": progress.step,
                "history": progress.history, "scales": progress.scales,
                "param_groups": optimizer["param_groups"], "scheduler": state.scheduler.state_dict(),
                "scaler": state.scaler.state_dict(), "draws": {k: s.draws for k, s in state.streams.items()}}
        tensors = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        save_file(tensors, partial, metadata={"state": json.dumps(meta)})
        os.replace(partial, self.path)

    def resume(self, state: TrainingState) -> Progress | None:
        """Restore `state` from the file and say where the run stands; None when there is no checkpoint."""
        if not self.path.is_file():
            return None
        try:
            tensors = load_file(self.path)
            with safe_open(self.path, "pt") as handle:
                meta = json.loads(handle.metadata()["state"])
        except (SafetensorError, OSError, KeyError, TypeError, ValueError) as err:
            raise InvalidConfig(f"{self.path} is not a readable checkpoint ({err}); delete it to start again") from None
        if meta["config"] != _fingerprint(self.config):
            raise InvalidConfig(f"{self.path} was written by a run with another configuration; "
                                "delete it to start again")
        state.model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        optimizer_state: dict[int, dict[str, Any]] = {}
        for key, value in tensors.items():
            if key.startswith("optimizer."):
                _, param, name = key.split(".", 2)
                optimizer_state.setdefault(int(param), {})[name] = value
        groups = [group | ({"betas": tuple(group["betas"])} if "betas" in group else {})
                  for group in meta["param_groups"]]
        state.optimizer.load_state_dict({"state": optimizer_state, "param_groups": groups})
        state.scheduler.load_state_dict(meta["scheduler"])
        if meta["scaler"]:
            state.scaler.load_state_dict(meta["scaler"])
        for name, generator in state.generators.items():
            generator.set_state(tensors[f"generator.{name}"])
        torch.set_rng_state(tensors["generator.torch"])
        for name, stream in state.streams.items():
            stream.restore(tensors[f"stream.{name}"], meta["draws"][name])
        scales = tuple(meta["scales"]) if meta["scales"] is not None else None
        return Progress(meta["epoch"], meta["step"], meta["history"], scales)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
