"""Every method trains and its loss falls; training is reproducible; aMINT actually learns membership."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from amint_demo.data import load_dataset, make_splits
from amint_demo.errors import InvalidConfig
from amint_demo.evaluation import evaluate
from amint_demo.methods import TrainCallbacks, TrainConfig, TrainingStopped, get_method, list_methods, train
from amint_demo.methods.gradient import per_sample_filter_gradients
from amint_demo import load_pair
from tests.conftest import tiny_config

CPU = torch.device("cpu")
FROZEN_MODEL_METHODS = [m for m in list_methods() if get_method(m).fits_on_part_of_members]


@pytest.fixture(scope="module")
def mini():
    dataset = load_dataset("fashion-mnist-mini")
    return dataset, make_splits(dataset, 96, 96, 96, seed=0)


def _first_last(history: list[dict], key: str) -> tuple[float, float]:
    return history[0][key], history[-1][key]


def test_amint_losses_fall(mini) -> None:
    dataset, splits = mini
    result = train(tiny_config("amint", max_steps=None, epochs=6, n_members=96, lr=3e-3), dataset, splits, CPU)
    history = result.history["joint"]
    assert len(history) == 6
    for key in ("task_loss", "mint_loss"):
        first, last = _first_last(history, key)
        assert last < first, f"{key} did not fall: {first} -> {last}"


@pytest.mark.parametrize("method", FROZEN_MODEL_METHODS)
def test_frozen_methods_train_and_their_losses_fall(mini, method: str) -> None:
    dataset, splits = mini
    config = tiny_config(method, max_steps=None, epochs=4, head_epochs=4, lr=3e-3)
    result = train(config, dataset, splits, CPU)
    first, last = _first_last(result.history["plain"], "task_loss")
    assert last < first
    for record in result.history.get("head", []):  # a detector trained in epochs records them
        assert set(record) >= {"epoch", "mint_loss", "mint_accuracy"}
    if "head" in result.history:
        first, last = _first_last(result.history["head"], "mint_loss")
        assert last < first
    assert result.head_members is not None and 0 < len(result.head_members) < len(splits.members)
    assert set(result.head_members.tolist()) <= set(splits.members.tolist())


@pytest.mark.parametrize("family", ["resnet", "mobilenet", "densenet", "vit"])
def test_amint_runs_on_every_family(mini, family: str) -> None:
    dataset, splits = mini
    result = train(tiny_config("amint", family, max_steps=2), dataset, splits, CPU)
    assert result.history["joint"][0]["step"] == 2


def test_training_is_reproducible_on_cpu(mini) -> None:
    dataset, splits = mini
    a = train(tiny_config("amint", max_steps=4), dataset, splits, CPU).model.state_dict()
    b = train(tiny_config("amint", max_steps=4), dataset, splits, CPU).model.state_dict()
    c = train(tiny_config("amint", max_steps=4, seed=1), dataset, splits, CPU).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a if a[k].is_floating_point())


def test_fine_tuning_starts_from_the_given_model(mini) -> None:
    dataset, splits = mini
    start = train(tiny_config("loss", max_steps=3), dataset, splits, CPU).model
    tuned = train(tiny_config("amint", max_steps=1, lr=1e-6), dataset, splits, CPU, init=start).model
    before, after = dict(start.backbone.named_parameters()), dict(tuned.backbone.named_parameters())
    assert max(float((before[k] - after[k]).detach().abs().max()) for k in before) < 1e-3
    with pytest.raises(InvalidConfig):
        train(tiny_config("amint", "mobilenet", max_steps=1), dataset, splits, CPU, init=start)


def test_stop_request_aborts_training(mini) -> None:
    dataset, splits = mini
    calls = []
    callbacks = TrainCallbacks(should_stop=lambda: len(calls) >= 2, on_step=lambda done, total: calls.append(done))
    with pytest.raises(TrainingStopped):
        train(tiny_config("amint", max_steps=10), dataset, splits, CPU, callbacks)
    assert calls == [1, 2]


def test_per_sample_gradients_match_one_at_a_time(mini) -> None:
    dataset, _ = mini
    model = train(tiny_config("loss", max_steps=1), dataset, make_splits(dataset, 32, 32, 32), CPU).model.eval()
    x = dataset.train_images[:3].float() / 127.5 - 1
    y = dataset.train_labels[:3]
    batched = per_sample_filter_gradients(model.backbone, "layer3.0.conv2", x, y)
    model.backbone.get_parameter("layer3.0.conv2.weight").requires_grad_(True)  # frozen by the loss method
    for i in range(3):
        model.backbone.zero_grad()
        torch.nn.functional.cross_entropy(model.backbone(x[i:i + 1]), y[i:i + 1]).backward()
        single = model.backbone.get_parameter("layer3.0.conv2.weight").grad.flatten(1).mean(1)
        assert torch.allclose(batched[i], single, atol=1e-6)


@pytest.mark.parametrize("change", [{"method": "magic"}, {"epochs": 0}, {"mint_weight": -1.0}, {"lr": 0.0},
                                    {"batch_size": 0}, {"head": "rnn"}, {"head_member_fraction": 1.0},
                                    {"n_members": 0}])
def test_impossible_settings_are_refused(change: dict) -> None:
    with pytest.raises(InvalidConfig):
        TrainConfig().replace(**change)


@pytest.mark.slow
def test_amint_learns_membership_on_200_members() -> None:
    """The method works, not only runs: held-out non-members vs members, well above chance (a trivial detector
    scores 0.5 on both). Training time is not asserted: each pair's manifest records it (runtime.train_seconds)
    and scripts/make_report.py reports it."""
    dataset = load_dataset("fashion-mnist-mini")
    splits = make_splits(dataset, 200, 400, 200, seed=0)
    config = tiny_config("amint", max_steps=None, epochs=14, batch_size=32, lr=3e-3, n_members=200)
    result = train(config, dataset, splits, CPU)
    metrics = evaluate(result.test, dataset, splits, None, CPU).members_vs_test
    print(f"aMINT 200 members: balanced accuracy {metrics.balanced_accuracy:.3f}, AUC {metrics.auc:.3f}")
    assert metrics.balanced_accuracy >= 0.70
    assert metrics.auc >= 0.80


@pytest.mark.parametrize("method", list_methods())
def test_every_method_records_its_calibration_guard_and_use_of_e(tiny_pairs, method):
    manifest = load_pair(tiny_pairs[method], device="cpu").manifest
    assert manifest.calibration.n_members == manifest.calibration.n_nonmembers == 200  # the split's held-out images
    assert manifest.splits.sizes.calibration == 200
    assert manifest.guard.n_threshold == 200 and 0 <= manifest.guard.held_out_flagged <= 0.01
    use = manifest.external_use
    assert use is not None and use.pool > 0 and use.draws > 0
    assert use.max_per_image == math.ceil(use.draws / use.pool)


@pytest.mark.parametrize("pool, epochs", [(96, 6), (2400, 6)])
def test_external_images_are_seen_as_often_as_the_pool_allows_and_no_more(pool, epochs):
    """D 96, batch 16 per side, 6 epochs: 576 E draws. A pool as small as D shows each image 6 times; a pool of 2,400
    (the default: the whole rest of train) shows none twice."""
    dataset = load_dataset("fashion-mnist-mini")
    splits = make_splits(dataset, 96, pool, 96, seed=0)
    config = tiny_config("amint", max_steps=None, epochs=epochs, n_members=96, calibration_size=0)
    use = train(config, dataset, splits, CPU).external_use
    assert use == {"pool": pool, "draws": 576, "mean_per_image": 576 / pool, "max_per_image": math.ceil(576 / pool)}


def test_default_external_pool_is_the_rest_of_train_outside_d_and_calibration():
    dataset = load_dataset("fashion-mnist-mini")
    splits = make_splits(dataset, 500, None, 100, seed=3, n_calibration=300)
    assert splits.sizes() == {"members": 500, "external": 2200, "test": 100, "calibration": 300}
    everything = torch.cat([splits.members, splits.calibration, splits.external])
    assert len(everything.unique()) == 3000
    old = make_splits(dataset, 500, 2200, 100, seed=3)  # schema 1-2 splits: no reserved calibration images
    assert torch.equal(old.members, splits.members) and not len(old.calibration)


def test_a_session_learns_fresh_dead_leaves_as_non_members():
    """Synthetic negatives join the E side of every step (a photo session's non-members of the photos' kind)."""
    dataset = load_dataset("fashion-mnist-mini")
    splits = make_splits(dataset, 96, 96, 96, seed=0)
    config = tiny_config("amint", max_steps=3, n_members=96, synthetic_negatives=8, calibration_size=0)
    result = train(config, dataset, splits, CPU)
    assert result.external_use["draws"] == 3 * 16  # the dataset's E draws; the dead leaves are fresh, never reused
    assert result.history["joint"][0]["mint_loss"] > 0


@pytest.mark.parametrize("device, capability, expected", [
    ("cpu", None, None), ("cuda", (7, 5), torch.float16), ("cuda", (8, 0), torch.bfloat16), ("cuda", (9, 0), torch.bfloat16),
], ids=["cpu", "t4", "a100", "h100"])
def test_precision_is_float16_with_a_scaler_where_bfloat16_is_only_emulated(device, capability, expected):
    from amint_demo.methods.precision import Precision, training_dtype

    dtype = training_dtype(torch.device(device), "auto", capability)
    assert dtype == expected
    assert Precision(torch.device("cpu"), dtype).scaler.is_enabled() == (dtype == torch.float16)


def test_float16_training_with_a_gradient_scaler_runs_and_learns(mini):
    """The T4 path (float16 autocast + GradScaler), exercised on the CPU."""
    dataset, splits = mini
    config = tiny_config("amint", max_steps=None, epochs=4, n_members=96, lr=3e-3, precision="float16",
                         calibration_size=0)
    history = train(config, dataset, splits, CPU).history["joint"]
    assert all(math.isfinite(r["task_loss"]) and math.isfinite(r["mint_loss"]) for r in history)
    assert history[-1]["task_loss"] < history[0]["task_loss"]


def test_a_session_fine_tune_keeps_the_backbones_batch_norm_statistics(mini):
    """Photos and dead leaves in every batch must not shift the statistics the model evaluates its data with."""
    dataset, splits = mini
    start = train(tiny_config("amint", max_steps=2, calibration_size=0), dataset, splits, CPU).model
    config = tiny_config("amint", max_steps=3, synthetic_negatives=8, freeze_norm_stats=True, calibration_size=0)
    tuned = train(config, dataset, splits, CPU, init=start).model
    before = {k: v for k, v in start.backbone.state_dict().items() if "running_" in k}
    after = tuned.backbone.state_dict()
    assert before and all(torch.equal(v, after[k]) for k, v in before.items())
    moved = train(config.replace(freeze_norm_stats=False), dataset, splits, CPU, init=start).model.backbone.state_dict()
    assert not all(torch.equal(v, moved[k]) for k, v in before.items())
