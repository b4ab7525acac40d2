"""Callbacks through which trainers report progress and learn they should stop."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TrainCallbacks:
    """on_step(done, total) after each step; on_epoch(record) after each epoch; should_stop() polled per step (true:
    abort, nothing saved); time_is_up() polled per step (true: end training early and go on to calibrate, evaluate
    and save)."""

    on_step: Callable[[int, int], None] = lambda done, total: None
    on_epoch: Callable[[dict], None] = lambda record: None
    should_stop: Callable[[], bool] = lambda: False
    stage: Callable[[str], None] = field(default=lambda name: None)
    time_is_up: Callable[[], bool] = field(default=lambda: False)


class TrainingStopped(Exception):
    """Raised when should_stop() turned true: nothing is saved."""
