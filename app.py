"""Hugging Face Space entry point: `python app.py` serves the demonstrator on port 7860.

Settings come from the environment once (`AMINT_*`, see the README); pairs and pictures are found beside this file.
"""
from pathlib import Path

from amint_demo.runtime import Runtime
from amint_demo.settings import Settings
from amint_demo.ui.app import build_demo, launch_kwargs

runtime = Runtime.from_settings(Settings.from_env(app_root=Path(__file__).resolve().parent))
demo = build_demo(runtime)

if __name__ == "__main__":
    demo.launch(**launch_kwargs(runtime))
