"""Why the guard is a pixel density and the calibration beta calibration: both choices measured on one pair.

Out-of-distribution scores (each thresholded at the 99.5% quantile of held-out training images, as the guard is):
the share of held-out T they wrongly flag and of the check set (photos, faces, crops) they catch. Calibrations
(each fitted on members vs held-out training images): expected calibration error on members vs T, and whether the
map keeps every ranking (strictly increasing).

    .venv/bin/python scripts/measure_trust_choices.py [PAIR] [--json assets/results/trust_choices.json]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from sklearn.covariance import LedoitWolf
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from amint_demo import load_pair
from amint_demo.data import calibration_draw, load_dataset, normalize
from amint_demo.data.ood import ood_check_set
from amint_demo.evaluation.metrics import calibration_bins
from amint_demo.machine import machine_info
from amint_demo.methods.calibration import fit_beta
from amint_demo.methods.guard import QUANTILE, fit_guard

ROOT = Path(__file__).resolve().parents[1]


def _forward(pair, pixels: torch.Tensor, mean, std) -> dict[str, np.ndarray]:
    """Raw detector logits, pre-logit features and pooled tap features of uint8 images."""
    parts: dict[str, list] = {"logits": [], "prelogit": [], "taps": []}
    head_input = {}
    classifier = pair.model.backbone.get_classifier()
    hook = classifier.register_forward_pre_hook(lambda module, inputs: head_input.update(x=inputs[0]))
    try:
        for start in range(0, len(pixels), 256):
            x = normalize(pixels[start:start + 256], mean, std)
            scores = pair.test.score(x)
            parts["logits"].append(scores.logits)
            parts["prelogit"].append(head_input["x"].flatten(1))
            parts["taps"].append(torch.cat([m.mean((2, 3)) for m in scores.maps], 1))
    finally:
        hook.remove()
    return {k: torch.cat(v).double().numpy() for k, v in parts.items()}


def _mahalanobis(fit: np.ndarray, labels: np.ndarray):
    means = np.stack([fit[labels == c].mean(0) for c in np.unique(labels)])
    precision = LedoitWolf().fit(fit - means[np.searchsorted(np.unique(labels), labels)]).precision_

    def score(z: np.ndarray) -> np.ndarray:
        diff = z[:, None, :] - means[None]
        return np.einsum("nkf,fg,nkg->nk", diff, precision, diff).min(1)
    return score


def ood_scores(pair, dataset, splits, held_out, members) -> dict:
    mean, std = dataset.mean, dataset.std
    sets = {"members": dataset.train_images[members], "held_out": dataset.train_images[held_out],
            "test": dataset.test_images[splits.test], "check": ood_check_set(dataset.channels, dataset.image_size)}
    outputs = {name: _forward(pair, pixels, mean, std) for name, pixels in sets.items()}
    labels = dataset.train_labels[members].numpy()
    scores = {}
    for space in ("prelogit", "taps"):
        maha = _mahalanobis(outputs["members"][space], labels)
        scores[f"Mahalanobis, {space} features"] = {k: maha(v[space]) for k, v in outputs.items()}
        bank = outputs["members"][space] / np.linalg.norm(outputs["members"][space], axis=1, keepdims=True)
        scores[f"nearest neighbour (cosine), {space} features"] = {
            k: -np.sort((v[space] / np.linalg.norm(v[space], axis=1, keepdims=True)) @ bank.T, 1)[:, -5]
            for k, v in outputs.items()}
    flat = {k: v.flatten(1).double().numpy() / 255 for k, v in sets.items()}
    pixel_maha = _mahalanobis(flat["members"], labels)
    scores["Mahalanobis, pixels"] = {k: pixel_maha(v) for k, v in flat.items()}
    guard, _ = fit_guard(sets["members"], sets["held_out"], mean, std)
    scores["per-pixel histogram density (the guard)"] = {k: guard.score(v).double().numpy() for k, v in sets.items()}
    rows = []
    for name, by_set in scores.items():
        threshold = np.quantile(by_set["held_out"], QUANTILE)
        rows.append({"score": name, "test_flagged": float(np.mean(by_set["test"] > threshold)),
                     "check_set_flagged": float(np.mean(by_set["check"] > threshold))})
    return {"n_check": len(sets["check"]), "n_test": len(sets["test"]), "quantile": QUANTILE, "rows": rows}


def calibrations(pair, dataset, splits, members, held_out) -> dict:
    mean, std = dataset.mean, dataset.std
    fit_m = _forward(pair, dataset.train_images[members], mean, std)["logits"]
    fit_n = _forward(pair, dataset.train_images[held_out], mean, std)["logits"]
    test_n = _forward(pair, dataset.test_images[splits.test], mean, std)["logits"]
    draw = splits.members[torch.randperm(len(splits.members), generator=torch.Generator().manual_seed(0))][:len(test_n)]
    test_m = _forward(pair, dataset.train_images[draw], mean, std)["logits"]
    truth = np.r_[np.ones(len(test_m)), np.zeros(len(test_n))]
    x, y = np.r_[fit_m, fit_n], np.r_[np.ones(len(fit_m)), np.zeros(len(fit_n))]
    platt = LogisticRegression(C=1e6, class_weight="balanced").fit(x[:, None], y)
    isotonic = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(x, y)
    beta = fit_beta(fit_m, fit_n)
    evaluated = np.r_[test_m, test_n]
    candidates = {
        "none (the detector's sigmoid)": (1 / (1 + np.exp(-evaluated)), True),
        "Platt scaling": (platt.predict_proba(evaluated[:, None])[:, 1], True),
        "isotonic regression": (isotonic.predict(evaluated), False),
        "beta calibration (used)": (beta.probability(torch.from_numpy(evaluated)).double().numpy(), True),
    }
    return {"rows": [{"calibration": name, "ece": calibration_bins(p, truth)[0], "keeps_rankings": order}
                     for name, (p, order) in candidates.items()], "n_members": len(test_m), "n_test": len(test_n)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pair", nargs="?", default=str(ROOT / "pretrained" / "fmnist-mobilenetv3-amint-middle"))
    parser.add_argument("--json", type=Path, default=ROOT / "assets" / "results" / "trust_choices.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    pair = load_pair(args.pair, device="cpu")
    dataset, splits, _ = pair.rebuild_splits(load_dataset(pair.manifest.dataset.name, allow_download=False))
    members, held_out = calibration_draw(splits, len(dataset.train_labels), pair.manifest.train_config.calibration_size,
                                         pair.manifest.train_config.seed)
    fit_members = splits.members[torch.randperm(len(splits.members), generator=torch.Generator().manual_seed(1))[:5000]]
    report = {"pair": Path(args.pair).name, "ood": ood_scores(pair, dataset, splits, held_out, fit_members),
              "calibration": calibrations(pair, dataset, splits, members, held_out), "machine": machine_info()}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "machine"}, indent=1))


if __name__ == "__main__":
    main()
