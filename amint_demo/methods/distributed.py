"""torchrun / DistributedDataParallel support: one process per device, rank 0 writes."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from amint_demo.models import pick_device


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed() -> DistContext:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); NCCL on CUDA, gloo on CPU."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistContext()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    context = DistContext(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    if torch.cuda.is_available():
        torch.cuda.set_device(context.local_rank)
    return context


def device_for(context: DistContext, requested: str) -> torch.device:
    device = pick_device(requested)
    if context.enabled and device.type == "cuda":
        return torch.device("cuda", context.local_rank)
    return device


def mean_across(context: DistContext, value: torch.Tensor) -> torch.Tensor:
    if context.enabled:
        value = value.detach().clone()
        dist.all_reduce(value)
        value /= context.world_size
    return value
