"""The Gradio user interface: composes library calls only."""
