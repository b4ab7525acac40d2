"""Hugging Face Space entry point: `python app.py` serves the demonstrator on port 7860."""
from amint_demo.ui.app import build_demo, launch_kwargs

demo = build_demo()

if __name__ == "__main__":
    demo.launch(**launch_kwargs())
