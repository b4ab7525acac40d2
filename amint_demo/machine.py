"""What a measurement ran on: every benchmark and load figure is stored with this."""
from __future__ import annotations

import os
import platform
import time
from importlib import metadata
from pathlib import Path


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _gpu() -> str | None:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def machine_info() -> dict:
    """CPU model and count, memory, OS, Python, torch and gradio versions, GPU, 1/5/15-min load, UTC time."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = {}
    for package in ("torch", "gradio", "timm"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {"cpu_model": _cpu_model(), "logical_cpus": os.cpu_count(), "usable_cpus": usable,
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "gpu": _gpu(), "platform": platform.platform(), "python": platform.python_version(), **versions,
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
