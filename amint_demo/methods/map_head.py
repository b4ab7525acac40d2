"""The detector of the methods whose MINT head reads tapped activation maps (aMINT, passive MINT)."""
from __future__ import annotations

from amint_demo.methods.base import Detector


class MapHeadDetector(Detector):
    """The model's own map head (`model.head`) gives the logit; this detector holds no weights of its own."""

    def membership_logits(self, model, x, output, labels):
        return output.mint_logits.float()

