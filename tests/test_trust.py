"""The verdict's promises, each with its mechanism: a calibrated probability fitted without T, photos and crops
of photos ruled out, and a training session on photos that learns those photos, judged against photos it never
saw."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from amint_demo import load_pair
from amint_demo.data import ExtraMembers, load_dataset, make_splits
from amint_demo.data.ood import check_images, ood_check_set, session_controls
from amint_demo.data.photos import photo_bank
from amint_demo.evaluation.metrics import calibration_bins
from amint_demo.methods import train
from amint_demo.methods.calibration import BetaCalibrator, fit_beta
from amint_demo.pairs import train_pair
from amint_demo.pairs.session import session_report
from amint_demo.pairs.workflow import PHOTO_CONTROLS
from tests.conftest import tiny_config

CPU = torch.device("cpu")


def test_beta_calibration_is_strictly_increasing_and_calibrates_a_skewed_score():
    rng = np.random.default_rng(0)
    # members' logits pile up high, non-members' spread wide: a sigmoid of the raw logit is badly calibrated
    def draw(n):
        return rng.gamma(2.0, 2.0, n) + 1.0, rng.normal(0.0, 3.0, n)
    members, nonmembers = draw(4000)
    calibrator = fit_beta(members, nonmembers)
    assert calibrator.a >= 0 and calibrator.b >= 0
    grid = torch.linspace(-20, 20, 2001)
    assert bool((calibrator.probability(grid).diff() >= 0).all())
    assert bool((calibrator.probability(torch.tensor([-5.0, 0.0, 5.0])).diff() > 0).all())
    fresh_m, fresh_n = draw(4000)
    truth = np.r_[np.ones(4000), np.zeros(4000)]
    calibrated = calibrator.probability(torch.from_numpy(np.r_[fresh_m, fresh_n])).numpy()
    raw = BetaCalibrator().probability(torch.from_numpy(np.r_[fresh_m, fresh_n])).numpy()
    assert calibration_bins(calibrated, truth)[0] < 0.03 < calibration_bins(raw, truth)[0]


def test_calibration_and_guard_never_read_t():
    """The same run on a dataset whose test images are replaced by noise fits the same calibrator and guard."""
    dataset = load_dataset("fashion-mnist-mini")
    noisy = dataclasses.replace(dataset, test_images=torch.randint(0, 256, dataset.test_images.shape,
                                                                     generator=torch.Generator().manual_seed(1),
                                                                     dtype=torch.uint8))
    config = tiny_config("amint")
    results = []
    for data in (dataset, noisy):
        splits = make_splits(data, config.n_members, config.n_external, config.n_test, config.split_seed,
                             config.reserved_calibration)
        results.append(train(config, data, splits, CPU))
    assert results[0].calibrator == results[1].calibrator
    assert all(torch.equal(a, b) for a, b in zip(results[0].guard.state_dict().values(),
                                                 results[1].guard.state_dict().values()))


def test_the_check_set_is_the_shipped_photos_their_faces_and_crops():
    images, names = check_images()
    photos = photo_bank()
    assert len(photos) >= 10 and {p.name for p in photos} <= {n.split(" ")[0] for n in names}
    assert sum(" face " in n for n in names) >= 3 and sum(" crop " in n for n in names) >= 200
    assert len(images) == len(names) == len(ood_check_set(1, 28))


@pytest.mark.parametrize("method", ["amint", "loss"])
def test_the_guard_rules_out_photos_and_keeps_held_out_images(tiny_pairs, method):
    metrics = load_pair(tiny_pairs[method], device="cpu").manifest.metrics
    assert metrics.ood_check.n_images == len(ood_check_set(1, 28))
    assert metrics.ood_check.ruled_out >= 0.95 * metrics.ood_check.n_images
    assert metrics.ood_check.member_rate <= 0.01
    assert metrics.test_ruled_out <= 0.03  # held-out Fashion-MNIST stays in (the threshold keeps 99.5% of it)


def test_a_photo_copy_of_an_upload_is_an_exception_and_a_control_leaves_the_photo_out():
    photos = photo_bank()
    uploaded = ExtraMembers(ood_check_set(1, 28)[:1], torch.zeros(1, dtype=torch.int64))  # the first photo itself
    controls = session_controls(uploaded.images, 1, 28)
    everything = ood_check_set(1, 28)
    first_group = 1 + len(photos[0].faces) + 24  # the photo, its faces, its crops
    assert len(controls) == len(everything) - first_group


@pytest.mark.slow
def test_a_photo_session_learns_the_uploads_not_photos(tiny_pairs, tmp_path):
    """Fine-tune the tiny pair on 4 photos with fresh dead leaves as non-members: the uploads are called members,
    photos that were not uploaded are not."""
    start = load_pair(tiny_pairs["amint"], device="cpu")
    photos = [p.image() for p in photo_bank() if p.name in ("china", "flower", "luispedro", "coffee")]
    extra = ExtraMembers(start.preprocess(photos), torch.zeros(len(photos), dtype=torch.int64))
    config = start.manifest.train_config.replace(init_from=str(start.path), max_steps=60, synthetic_negatives=16,
                                                 n_calibration=start.manifest.splits.sizes.calibration)
    pair = load_pair(train_pair(config, tmp_path / "session", extra=extra, allow_download=False), device="cpu")
    report = session_report(pair, start.manifest)
    counts = report.counts
    assert counts.control_kind == PHOTO_CONTROLS and counts.n_uploads == 4
    assert counts.uploads_flagged >= 3, [v.to_row() for v in report.uploads]
    assert counts.controls_flagged <= 0.1 * counts.n_controls
    assert len(report.controls) == counts.n_controls and report.members_auc_before is not None
