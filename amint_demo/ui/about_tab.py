"""About tab: what the methods are, how to read the numbers, limits, citations."""
from __future__ import annotations

import gradio as gr

ABOUT = """
## What is a Membership Inference Test?
A data owner asks: *was my image used to train this model?* A **Membership Inference Test (MINT)** answers with
a probability. Unlike a membership inference *attack*, the auditor may work with the model's developer and
read the model's internal activations.

- **Active MINT (aMINT)** trains the model *to be auditable*: alongside its normal task, a small MINT head learns
  to tell training images (members) from external images, reading activation maps at one or two layers.
- **Passive MINT** trains only the MINT head, on a model that was trained normally and then frozen.
- **Gradient MINT** reads how strongly one layer's weights would change for the image (per-sample gradients).
- **Loss threshold** (the classic baseline): training images tend to have a lower loss.

## How to read the numbers
Every number on this page comes from the project's own evaluation: held-out images (never used by either
model) against the same number of members. **Balanced accuracy** is measured at the fixed threshold 0.5 (the
papers' metric), **AUC** summarises the ROC curve, and **TPR at 1% / 0.1% FPR** asks the question that
matters for an accusation: how many members are found while wrongly flagging at most 1 in 100 (or 1,000)
non-members. A test can have a good AUC and still be weak at low FPR (Carlini et al., LiRA).

## Why you can trust the verdict (and where its limits are)
- **Every comparison has a control of the same kind.** A pair is scored on its training members against
  held-out Fashion-MNIST images it never saw. Your own photos, after a training session, are scored against
  photos of the same kind you did not upload, never against clothing: any photo-versus-clothing test would look
  perfect and prove nothing.
- **The probability is calibrated.** It is fitted (beta calibration) on members against held-out training images
  that no detector trained on, never on the test images; each pair reports its expected calibration error (ECE):
  among images shown about 80%, about 80% were members.
- **Images unlike the training data are not members.** A density model of the training images' pixels rules out
  images that look like nothing the model was trained on (photos, faces, crops of photos): the verdict says so and
  shows the score. Each pair reports how many of a check set of such images it calls members.
- **Fresh non-members.** The detector learns what a non-member looks like from a large pool of external images,
  each seen only a few times, so it cannot simply memorise the specific non-members it was shown.

## Limits
The committed pairs are small models trained on CPU with a reduced Fashion-MNIST split (each pair's manifest
records the exact data, seed and settings; `python -m amint_demo train --config <manifest>` retrains it).
A verdict is a statistical test, not proof. Images unlike the training data (photos, other domains) are
resized to the model's 28 × 28 greyscale input; the out-of-distribution check rules most of them out.

## References
- D. DeAlcala et al., *Active Membership Inference Test (aMINT)*, ICCV 2025, arXiv 2509.07879.
- D. DeAlcala et al., *Is my Data in your AI Model? Membership Inference Test with Application to Face Images*,
  IEEE Access 2024 (passive MINT).
- *Gradient-based Membership Inference Test* (gMINT), CVPR Workshops 2025.
- *Membership Inference Test for object classification*, arXiv 2601.12929.
- S. Yeom et al., *Privacy Risk in Machine Learning*, CSF 2018 (loss threshold).
- N. Carlini et al., *Membership Inference Attacks From First Principles*, IEEE S&P 2022 (low-FPR evaluation).
"""


def build() -> None:
    gr.Markdown(ABOUT)
