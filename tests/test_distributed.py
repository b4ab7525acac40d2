"""The trainer under torchrun: two CPU processes with the gloo backend, DistributedDataParallel."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from amint_demo import load_pair


@pytest.mark.slow
def test_torchrun_two_processes_train_one_pair(tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "amint_demo", "train", "--method", "amint", "--arch", "resnet18", "--dataset", "fashion-mnist-mini",
               "--members", "128", "--external", "128", "--test", "64", "--epochs", "2", "--batch-size", "16",
               "--timm-kwargs", json.dumps({"channels": [8, 16, 32, 64], "layers": [1, 1, 1, 1]}),
               "--device", "cpu", "--offline", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240,
                          env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}, cwd=Path(__file__).parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    pair = load_pair(out)
    assert pair.manifest.runtime["world_size"] == 2
    history = pair.manifest.history["joint"]
    assert [r["epoch"] for r in history] == [1, 2] and history[-1]["step"] == 16  # 128 members / 16 per step × 2
    assert not list(tmp_path.glob(".ddp*")), "a temporary directory was left behind"
