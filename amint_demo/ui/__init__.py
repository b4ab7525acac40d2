"""The Gradio page: one module per tab, over an app `Runtime`; it composes library calls and holds no training
or metric logic."""
