"""Mixed precision for training: bfloat16 where the GPU computes it natively (compute capability 8.0 and up),
float16 with a gradient scaler where it does not (a T4, the Space's suggested GPU, only emulates bfloat16), full
precision on the CPU unless asked for."""
from __future__ import annotations

from contextlib import nullcontext

import torch

PRECISIONS = ("auto", "float32", "bfloat16", "float16")


def training_dtype(device: torch.device, requested: str = "auto",
                   capability: tuple[int, int] | None = None) -> torch.dtype | None:
    """The autocast dtype for training on `device` (None: full precision). "auto": bfloat16 on CUDA with native
    support, float16 on older CUDA GPUs, full precision on the CPU. `capability`: the GPU's compute capability
    (read from the device when None)."""
    if requested != "auto":
        return {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}[requested]
    if device.type != "cuda":
        return None
    major, minor = capability if capability is not None else torch.cuda.get_device_capability(device)
    return torch.bfloat16 if (major, minor) >= (8, 0) else torch.float16


class Precision:
    """The autocast context and gradient scaler of one run (scaling only for float16)."""

    def __init__(self, device: torch.device, dtype: torch.dtype | None) -> None:
        self.device, self.dtype = device, dtype
        self.scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)

    def autocast(self):
        return nullcontext() if self.dtype is None else torch.autocast(self.device.type, dtype=self.dtype)

    def step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """Backward and optimiser step (scaled for float16: an overflowing step is skipped, the scale lowered)."""
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)
        self.scaler.update()
