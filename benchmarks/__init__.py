"""Tooling that measures and drills the served app from outside (not part of the product package): a local app
server (`local_server`), load and memory drivers (`loadcheck`), fault drills (`faultcheck`). Used by the scripts
in scripts/ and by the test suite."""
from __future__ import annotations

from pathlib import Path

from amint_demo.runtime import Runtime
from amint_demo.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def repo_runtime() -> Runtime:
    """The runtime the app in this checkout serves from (its pairs and pictures), settings from the environment."""
    return Runtime.from_settings(Settings.from_env(app_root=ROOT))
