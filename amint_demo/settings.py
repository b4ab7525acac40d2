"""Every deployment setting in one frozen object, read once from the environment and passed in.

`Settings.from_env()` reads the `AMINT_*` variables of the table in the README ("Settings"); the CLI, the app
and the training worker each read it once at start-up and hand it down. Library calls that need a setting take
a `settings` argument; left out, they read the environment at that call.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from amint_demo.errors import InvalidConfig


def _setting(env: str, default: Any, help: str, gpu_default: Any = None) -> Any:
    """A settings field bound to environment variable `env`; `gpu_default` applies where CUDA is present."""
    return field(default=default, metadata={"env": env, "help": help, "gpu_default": gpu_default})


@dataclass(frozen=True)
class TrainLimits:
    """What one training session of the app may ask for."""

    max_members: int
    max_external: int
    max_steps: int
    max_uploads: int
    max_batch: int
    max_seconds: float


@dataclass(frozen=True)
class Settings:
    """Deployment settings. Paths left as None take the defaults described in `help`."""

    # where data comes from
    cache_dir: Path | None = _setting("AMINT_CACHE_DIR", None, "where downloads go (default ~/.cache/amint_demo)")
    fashion_mnist_dir: Path | None = _setting("AMINT_FASHION_MNIST_DIR", None,
                                              "folder of the four Fashion-MNIST IDX files (first place looked in)")
    mnist_dir: Path | None = _setting("AMINT_MNIST_DIR", None, "folder of the four MNIST IDX files")
    cifar10_dir: Path | None = _setting("AMINT_CIFAR10_DIR", None, "folder holding `cifar-10-batches-py`")
    gtsrb_dir: Path | None = _setting("AMINT_GTSRB_DIR", None, "torchvision's `gtsrb` folder")
    # the app
    pairs_dir: Path | None = _setting("AMINT_PAIRS", None, "the committed pairs the app offers (default pretrained/ "
                                      "beside app.py)")
    session_dir: Path | None = _setting("AMINT_SESSION_DIR", None, "where visitors' pairs are written (default "
                                        "<temp>/amint_sessions)")
    upload_max_request_mb: float = _setting("AMINT_UPLOAD_MAX_REQUEST_MB", 100.0, "MiB one upload request may "
                                            "carry (every file of it)")
    upload_folder_max_mb: float = _setting("AMINT_UPLOAD_FOLDER_MAX_MB", 1024.0, "MiB of uploads and outputs kept "
                                           "in Gradio's folder, oldest removed first")
    torch_threads: int = _setting("AMINT_TORCH_THREADS", 1, "torch intra-op threads per request (requests run "
                                  "side by side)")
    train_threads: int = _setting("AMINT_TRAIN_THREADS", 1, "torch threads of the training worker")
    housekeeping_s: float = _setting("AMINT_HOUSEKEEPING_S", 60.0, "seconds between sweeps of expired pairs and "
                                     "abandoned uploads (0: off)")
    upload_stale_s: float = _setting("AMINT_UPLOAD_STALE_S", 300.0, "a partial upload untouched this long is "
                                     "abandoned")
    session_ttl_s: float = _setting("AMINT_SESSION_TTL_S", 4 * 3600.0, "a visitor's pair expires after this long")
    session_max_pairs: int = _setting("AMINT_SESSION_MAX_PAIRS", 40, "visitors' pairs kept at most, oldest go first")
    session_max_mb: float = _setting("AMINT_SESSION_MAX_MB", 2048.0, "MiB of visitors' pairs kept at most")
    session_max_pairs_per_visitor: int = _setting("AMINT_SESSION_MAX_PAIRS_PER_VISITOR", 5, "pairs one visitor "
                                                  "keeps at most (their oldest go first)")
    train_max_members: int = _setting("AMINT_TRAIN_MAX_MEMBERS", 2000, "members D of a session", 25000)
    train_max_external: int = _setting("AMINT_TRAIN_MAX_EXTERNAL", 2000, "external images E of a session", 35000)
    train_max_steps: int = _setting("AMINT_TRAIN_MAX_STEPS", 400, "optimiser steps of a session", 20000)
    train_max_uploads: int = _setting("AMINT_TRAIN_MAX_UPLOADS", 32, "images a visitor adds to the members", 256)
    train_max_batch: int = _setting("AMINT_TRAIN_MAX_BATCH", 128, "batch size per side of a session", 512)
    train_max_seconds: float = _setting("AMINT_TRAIN_MAX_SECONDS", 180.0, "seconds of training a session gets (then "
                                        "it is calibrated, evaluated and saved)", 900.0)
    train_max_waiting: int = _setting("AMINT_TRAIN_MAX_WAITING", 8, "training sessions waiting for the device at most")
    train_max_per_address: int = _setting("AMINT_TRAIN_MAX_PER_ADDRESS", 3, "training sessions running or waiting "
                                          "from one network address (one per visitor always)")
    # where the app finds its pairs and pictures by default (not an environment variable)
    app_root: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, app_root: Path | None = None,
                 gpu: bool | None = None) -> Settings:
        """Read every `AMINT_*` variable once. `gpu` (default: whether CUDA is available) picks the training
        limits' defaults. A malformed value is an InvalidConfig naming the variable."""
        environ = os.environ if environ is None else environ
        if gpu is None:
            import torch

            gpu = torch.cuda.is_available()
        hints = get_type_hints(cls)
        values: dict[str, Any] = {"app_root": app_root}
        for f in fields(cls):
            env = f.metadata.get("env")
            if env is None:
                continue
            default = f.metadata["gpu_default"] if gpu and f.metadata["gpu_default"] is not None else f.default
            raw = environ.get(env)
            values[f.name] = default if raw in (None, "") else _parse(env, raw, hints[f.name])
        return cls(**values)

    def resolved_cache_dir(self) -> Path:
        return (self.cache_dir or Path.home() / ".cache" / "amint_demo").expanduser()

    def resolved_pairs_dir(self) -> Path:
        return self.pairs_dir or (self.app_root or Path.cwd()) / "pretrained"

    def resolved_session_dir(self) -> Path:
        return self.session_dir or Path(tempfile.gettempdir()) / "amint_sessions"

    def assets_dir(self) -> Path:
        """The app's pictures (gallery, upload examples): assets/ beside app.py."""
        return (self.app_root or Path.cwd()) / "assets"

    def train_limits(self) -> TrainLimits:
        return TrainLimits(self.train_max_members, self.train_max_external, self.train_max_steps,
                           self.train_max_uploads, self.train_max_batch, self.train_max_seconds)


def _parse(env: str, raw: str, kind: Any) -> Any:
    """The text of variable `env` as the field's type (a Path, an int or a float)."""
    if "Path" in str(kind):
        return Path(raw).expanduser()
    try:
        return kind(raw)
    except ValueError:
        raise InvalidConfig(f"${env}={raw!r} is not a valid {kind.__name__}") from None


def settings_table() -> str:
    """The README's settings table (Markdown), from the fields' own metadata."""
    lines = ["| variable | default (CPU / GPU) | what it sets |", "|---|---|---|"]
    for f in fields(Settings):
        env = f.metadata.get("env")
        if env is None:
            continue
        default = "–" if f.default is None else f"{f.default:g}" if isinstance(f.default, float) else str(f.default)
        if f.metadata["gpu_default"] is not None:
            default += f" / {f.metadata['gpu_default']}"
        lines.append(f"| `{env}` | {default} | {f.metadata['help']} |")
    return "\n".join(lines)
