"""Hugging Face Space entry point: `python app.py` serves the demonstrator."""
from amint_demo.ui.app import build_demo

demo = build_demo()

if __name__ == "__main__":
    demo.launch()
