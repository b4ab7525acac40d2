"""Pairs on disk: lossless round trips, a complete manifest, and refusal of anything tampered with."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from amint_demo.data import load_dataset, make_splits, normalize
from amint_demo.errors import InvalidPair, StorageError
from amint_demo.evaluation import evaluate
from amint_demo.methods import train
from amint_demo.pairs import (MANIFEST_FILE, MEMBERS_FILE, SCHEMA_VERSION, WEIGHTS_FILE, evaluate_pair, list_pairs,
                              load_pair, save_pair, train_pair)
from amint_demo.pairs import store
from tests.conftest import tiny_config

METHODS = ("amint", "loss", "passive", "gradient")
METRIC_KEYS = ("balanced_accuracy", "auc", "tpr_at_1pct_fpr", "tpr_at_01pct_fpr")


# --------------------------------------------------------------------------- helpers

@pytest.fixture(scope="module")
def dataset():
    return load_dataset("fashion-mnist-mini", allow_download=False)


@pytest.fixture(scope="module")
def probe_pixels(dataset) -> torch.Tensor:
    """A fixed batch of 24 images: 12 from the train split, 12 from the test split (uint8)."""
    return torch.cat([dataset.train_images[:12], dataset.test_images[:12]])


def _scores(pair, pixels: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(membership probabilities, class probabilities) of a loaded pair on uint8 pixels."""
    data = pair.manifest.dataset
    x = normalize(pixels.to(pair.device), data.mean, data.std)
    result = pair.test.score(x, None)
    return result.membership.detach().cpu().numpy(), result.class_probs.detach().cpu().numpy()


def _copy(pair_path: Path, tmp_path: Path, name: str = "copy") -> Path:
    target = tmp_path / name
    shutil.copytree(pair_path, target)
    return target


def _read_manifest(path: Path) -> dict:
    return json.loads((path / MANIFEST_FILE).read_text())


def _write_manifest(path: Path, manifest: dict) -> None:
    (path / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1))


def _state_of(path: Path) -> dict[str, torch.Tensor]:
    """The stored tensors, copied out of the memory map (so the file can be rewritten safely)."""
    return {k: v.clone() for k, v in load_file(str(path / WEIGHTS_FILE)).items()}


def _rewrite_weights(path: Path, state: dict[str, torch.Tensor]) -> None:
    """Replace the weights and update the manifest's hash so that only the tensor checks can catch it."""
    save_file(state, str(path / WEIGHTS_FILE), metadata={"format": "pt"})
    _update_weight_hash(path)


def _update_weight_hash(path: Path) -> None:
    manifest = _read_manifest(path)
    manifest["weights"]["sha256"] = hashlib.sha256((path / WEIGHTS_FILE).read_bytes()).hexdigest()
    _write_manifest(path, manifest)


def _refused(path: Path, match: str) -> str:
    with pytest.raises(InvalidPair, match=match) as caught:
        load_pair(path, device="cpu")
    message = str(caught.value)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------- round trips

@pytest.mark.parametrize("method", METHODS)
def test_loading_twice_gives_identical_probabilities(tiny_pairs, probe_pixels, method):
    first, second = load_pair(tiny_pairs[method], device="cpu"), load_pair(tiny_pairs[method], device="cpu")
    membership_1, classes_1 = _scores(first, probe_pixels)
    membership_2, classes_2 = _scores(second, probe_pixels)
    assert membership_1.shape == (len(probe_pixels),)
    assert classes_1.shape == (len(probe_pixels), 10)
    np.testing.assert_array_equal(membership_1, membership_2)
    np.testing.assert_array_equal(classes_1, classes_2)
    np.testing.assert_allclose(classes_1.sum(1), 1.0, atol=1e-5)
    # the public audit path agrees with itself too
    verdicts_1, verdicts_2 = first.audit_pixels(probe_pixels), second.audit_pixels(probe_pixels)
    assert [v.membership_probability for v in verdicts_1] == [v.membership_probability for v in verdicts_2]
    assert [v.predicted_class for v in verdicts_1] == [v.predicted_class for v in verdicts_2]
    assert [v.confidence for v in verdicts_1] == [v.confidence for v in verdicts_2]


@pytest.fixture(scope="module")
def trained_amint(dataset):
    """One trained + evaluated tiny aMINT run, not yet saved: (trained, config, splits, evaluation)."""
    config = tiny_config("amint")
    splits = make_splits(dataset, config.n_members, config.n_external, config.n_test, config.split_seed,
                         config.reserved_calibration)
    trained = train(config, dataset, splits, torch.device("cpu"))
    result = evaluate(trained.test, dataset, splits, trained.head_members, torch.device("cpu"), seed=config.seed)
    return trained, config, splits, result


FP16_REPORT: dict[str, float] = {}


def test_float16_pair_loads_and_agrees_with_its_float32_twin(trained_amint, dataset, probe_pixels, tmp_path):
    trained, config, splits, result = trained_amint
    full = save_pair(tmp_path / "fp32", trained, config, dataset, splits, result)
    half = save_pair(tmp_path / "fp16", trained, config, dataset, splits, result, float16=True)
    assert _read_manifest(half)["weights"]["dtype"] == "float16"
    assert _read_manifest(full)["weights"]["dtype"] == "float32"
    assert (half / WEIGHTS_FILE).stat().st_size < 0.6 * (full / WEIGHTS_FILE).stat().st_size
    stored = load_file(str(half / WEIGHTS_FILE))
    assert all(t.dtype == torch.float16 for k, t in stored.items() if t.is_floating_point() and not k.startswith("guard."))
    assert all(t.dtype == torch.float32 for k, t in stored.items() if k.startswith("guard."))  # its threshold is exact

    pair16, pair32 = load_pair(half, device="cpu"), load_pair(full, device="cpu")
    assert all(p.dtype == torch.float32 for p in pair16.model.parameters())  # computed in float32 after loading
    membership_16, classes_16 = _scores(pair16, probe_pixels)
    membership_32, classes_32 = _scores(pair32, probe_pixels)
    diff = max(float(np.abs(membership_16 - membership_32).max()), float(np.abs(classes_16 - classes_32).max()))
    FP16_REPORT["max_abs_probability_difference"] = diff
    print(f"fp16 vs fp32 max |probability difference| = {diff:.3g}")
    assert diff <= 1e-2
    assert not np.array_equal(classes_16, classes_32)  # it really is a rounded model, not the same file


def test_float16_pair_from_train_pair_agrees_with_the_float32_fixture(tiny_pairs, probe_pixels, tmp_path):
    """Same config and seed on CPU: the float16 pair is the fixture's model, rounded."""
    half = train_pair(tiny_config("amint"), tmp_path / "fp16", float16=True, allow_download=False)
    pair16, pair32 = load_pair(half, device="cpu"), load_pair(tiny_pairs["amint"], device="cpu")
    assert pair16.manifest.splits.member_sha256 == pair32.manifest.splits.member_sha256
    membership_16, classes_16 = _scores(pair16, probe_pixels)
    membership_32, classes_32 = _scores(pair32, probe_pixels)
    diff = max(float(np.abs(membership_16 - membership_32).max()), float(np.abs(classes_16 - classes_32).max()))
    print(f"train_pair(float16=True) vs fp32 fixture: max |probability difference| = {diff:.3g}")
    assert diff <= 1e-2


def test_fp32_save_is_lossless_against_the_in_memory_model(trained_amint, dataset, probe_pixels, tmp_path):
    trained, config, splits, result = trained_amint
    pair = load_pair(save_pair(tmp_path / "pair", trained, config, dataset, splits, result), device="cpu")
    x = normalize(probe_pixels, tuple(dataset.mean), tuple(dataset.std))
    trained.model.eval()
    trained.detector.eval()
    expected = trained.test.score(x, None)
    membership, classes = _scores(pair, probe_pixels)
    np.testing.assert_array_equal(membership, expected.membership.detach().cpu().numpy())
    np.testing.assert_array_equal(classes, expected.class_probs.detach().cpu().numpy())


# --------------------------------------------------------------------------- manifest contents

@pytest.mark.parametrize("method", METHODS)
def test_manifest_records_everything_needed_to_rebuild_and_check(tiny_pairs, dataset, method):
    manifest = _read_manifest(tiny_pairs[method])
    config = tiny_config(method)
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert manifest["method"] == method
    assert manifest["dataset"]["name"] == "fashion-mnist-mini"
    assert manifest["dataset"]["fingerprint"] == dataset.fingerprint()
    assert manifest["dataset"]["image_size"] == 28 and manifest["dataset"]["channels"] == 1

    splits = manifest["splits"]
    assert splits["seed"] == config.split_seed
    assert splits["sizes"] == {"members": 200, "external": 200, "test": 200, "calibration": 200}
    assert len(splits["member_sha256"]) == 64
    assert splits["members_file"] == MEMBERS_FILE

    backbone = manifest["backbone"]
    assert backbone["arch"] == "resnet18"
    assert backbone["in_chans"] == 1 and backbone["num_classes"] == 10 and backbone["img_size"] == 28
    assert backbone["small_input_stem"] is True
    assert backbone["timm_kwargs"] == {"channels": [8, 16, 32, 64], "layers": [1, 1, 1, 1]}

    assert manifest["taps"] == ["layer2", "layer3"]  # "middle" of a ResNet: stage 2 + 3
    assert manifest["tap_depth"] == "middle"
    assert manifest["train_config"] == config.to_dict()
    assert manifest["weights"]["file"] == WEIGHTS_FILE
    assert manifest["weights"]["sha256"] == hashlib.sha256((tiny_pairs[method] / WEIGHTS_FILE).read_bytes()).hexdigest()

    metrics = manifest["metrics"]
    head = metrics["members_vs_test"]
    for key in METRIC_KEYS:
        assert 0.0 <= head[key] <= 1.0, key
    fpr, tpr = head["roc_fpr"], head["roc_tpr"]
    assert len(fpr) == len(tpr) >= 2
    assert fpr[0] == 0.0 and fpr[-1] == 1.0 and tpr[-1] == 1.0
    assert all(a <= b for a, b in zip(fpr, fpr[1:])) and all(a <= b for a, b in zip(tpr, tpr[1:]))
    # the headline low-FPR numbers are consistent with the stored curve (which may be thinned)
    assert max(t for f, t in zip(fpr, tpr) if f <= 0.01) <= head["tpr_at_1pct_fpr"] + 1e-12
    assert head["tpr_at_01pct_fpr"] <= head["tpr_at_1pct_fpr"]
    assert 0.0 <= metrics["task_accuracy"] <= 1.0
    assert metrics["n_test"] == 200


def test_member_list_hash_recomputed_independently(tiny_pairs):
    for method in METHODS:
        path = tiny_pairs[method]
        members = np.array([int(line) for line in (path / MEMBERS_FILE).read_text().split()])
        assert len(members) == 200 and len(set(members.tolist())) == 200
        digest = hashlib.sha256(np.sort(members).astype("<i8").tobytes()).hexdigest()
        assert digest == _read_manifest(path)["splits"]["member_sha256"]
        np.testing.assert_array_equal(load_pair(path, device="cpu").members(), np.sort(members))


@pytest.mark.parametrize("method", ("passive", "gradient", "loss"))
def test_frozen_model_methods_report_unseen_members(tiny_pairs, method):
    manifest = _read_manifest(tiny_pairs[method])
    unseen = manifest["metrics"]["unseen_members_vs_test"]
    for key in METRIC_KEYS:
        assert 0.0 <= unseen[key] <= 1.0
    assert manifest["splits"]["head_members"] == 100  # half of D (head_member_fraction 0.5)
    assert manifest["splits"]["head_member_fraction"] == 0.5


def test_amint_has_no_unseen_members_metric(tiny_pairs):
    manifest = _read_manifest(tiny_pairs["amint"])
    assert manifest["metrics"].get("unseen_members_vs_test") is None
    assert manifest["splits"]["head_members"] is None


# --------------------------------------------------------------------------- refusals

@pytest.mark.parametrize("taps,reason", [
    (["layer2", "no_such_layer"], "buildable"),  # a module the backbone does not have
    (["layer1", "layer2"], "shape|unexpected|missing|buildable"),  # real modules, but not the head's: shapes betray it
], ids=["unknown-module", "another-real-layer"])
def test_tampered_taps_are_refused(tiny_pairs, tmp_path, taps, reason):
    path = _copy(tiny_pairs["amint"], tmp_path)
    manifest = _read_manifest(path)
    manifest["taps"] = taps
    _write_manifest(path, manifest)
    _refused(path, reason)


def test_schema_version_changed_is_refused(tiny_pairs, tmp_path):
    path = _copy(tiny_pairs["amint"], tmp_path)
    manifest = _read_manifest(path)
    manifest["schema_version"] = SCHEMA_VERSION + 1
    _write_manifest(path, manifest)
    _refused(path, "schema_version")


@pytest.mark.parametrize("key", ("method", "splits", "backbone", "weights", "dataset"))
def test_required_key_deleted_is_refused(tiny_pairs, tmp_path, key):
    path = _copy(tiny_pairs["passive"], tmp_path)
    manifest = _read_manifest(path)
    del manifest[key]
    _write_manifest(path, manifest)
    _refused(path, f"lacks '{key}'")


def test_invalid_json_manifest_is_refused(tiny_pairs, tmp_path):
    path = _copy(tiny_pairs["amint"], tmp_path)
    (path / MANIFEST_FILE).write_text((path / MANIFEST_FILE).read_text()[:-20])
    _refused(path, "not valid JSON")


def test_unknown_method_in_manifest_is_refused(tiny_pairs, tmp_path):
    path = _copy(tiny_pairs["amint"], tmp_path)
    manifest = _read_manifest(path)
    manifest["method"] = "oracle"
    _write_manifest(path, manifest)
    _refused(path, "unknown method")


def test_edited_member_list_is_refused(tiny_pairs, tmp_path):
    path = _copy(tiny_pairs["amint"], tmp_path)
    lines = (path / MEMBERS_FILE).read_text().split()
    taken = set(lines)
    replacement = next(str(i) for i in range(10_000) if str(i) not in taken)
    lines[5] = replacement
    (path / MEMBERS_FILE).write_text("\n".join(lines) + "\n")
    _refused(path, "member hash")


def test_flipped_weight_bytes_are_refused(tiny_pairs, tmp_path):
    path = _copy(tiny_pairs["amint"], tmp_path)
    data = bytearray((path / WEIGHTS_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (path / WEIGHTS_FILE).write_bytes(bytes(data))
    _refused(path, "SHA-256")


def test_wrong_shaped_tensor_is_refused(tiny_pairs, tmp_path):
    path = _copy(tiny_pairs["amint"], tmp_path)
    state = _state_of(path)
    key = next(k for k, v in sorted(state.items()) if v.ndim == 4)
    state[key] = torch.zeros(state[key].shape[0] + 1, *state[key].shape[1:])
    _rewrite_weights(path, state)
    message = _refused(path, "shape")
    assert key in message


def test_extra_tensor_is_refused(tiny_pairs, tmp_path):
    path = _copy(tiny_pairs["amint"], tmp_path)
    state = _state_of(path)
    state["model.backdoor.weight"] = torch.zeros(3)
    _rewrite_weights(path, state)
    _refused(path, "unexpected.*backdoor")


def test_missing_tensor_is_refused(tiny_pairs, tmp_path):
    path = _copy(tiny_pairs["amint"], tmp_path)
    state = _state_of(path)
    key = sorted(state)[0]
    del state[key]
    _rewrite_weights(path, state)
    _refused(path, "missing")


def test_pickle_disguised_as_safetensors_is_never_unpickled(tiny_pairs, tmp_path, monkeypatch):
    path = _copy(tiny_pairs["amint"], tmp_path)
    state = _state_of(path)
    torch.save(state, path / WEIGHTS_FILE)
    _update_weight_hash(path)

    def no_unpickling(*args, **kwargs):
        raise AssertionError("load_pair tried to unpickle the weights")

    monkeypatch.setattr(torch, "load", no_unpickling)
    _refused(path, "pickled checkpoints are never loaded")


def test_directory_with_only_a_pickled_checkpoint_is_refused(tmp_path):
    path = tmp_path / "legacy"
    path.mkdir()
    torch.save({"w": torch.zeros(2)}, path / "model.pt")
    message = _refused(path, "pickled checkpoints")
    assert "model.pt" in message


def test_nonexistent_path_is_refused(tmp_path):
    _refused(tmp_path / "nowhere", "not a pair directory")


def test_missing_weights_file_is_refused(tiny_pairs, tmp_path):
    path = _copy(tiny_pairs["amint"], tmp_path)
    (path / WEIGHTS_FILE).unlink()
    _refused(path, f"no {WEIGHTS_FILE}")


# --------------------------------------------------------------------------- saving

def test_save_into_existing_path_needs_overwrite(trained_amint, dataset, tmp_path):
    trained, config, splits, result = trained_amint
    path = save_pair(tmp_path / "pair", trained, config, dataset, splits, result)
    before = (path / WEIGHTS_FILE).read_bytes()
    with pytest.raises(InvalidPair, match="already exists"):
        save_pair(path, trained, config, dataset, splits, result)
    assert (path / WEIGHTS_FILE).read_bytes() == before
    again = save_pair(path, trained, config, dataset, splits, result, float16=True, overwrite=True)
    assert load_pair(again, device="cpu").manifest.weights.dtype == "float16"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pair"]  # no temporary or old copies left


def test_crash_midway_leaves_nothing_behind(trained_amint, dataset, tmp_path, monkeypatch):
    trained, config, splits, result = trained_amint

    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(store, "save_file", disk_full)
    parent = tmp_path / "runs"
    with pytest.raises(StorageError, match="cannot write the pair pair: disk full"):
        save_pair(parent / "pair", trained, config, dataset, splits, result)
    assert not (parent / "pair").exists()
    assert list(parent.glob(".pair.*.tmp")) == []
    assert [p.name for p in parent.iterdir()] == []


def test_crash_during_overwrite_keeps_the_old_pair(trained_amint, dataset, tmp_path, monkeypatch):
    trained, config, splits, result = trained_amint
    path = save_pair(tmp_path / "pair", trained, config, dataset, splits, result)
    before = {p.name: p.read_bytes() for p in path.iterdir()}
    monkeypatch.setattr(store, "save_file", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(StorageError, match="disk full"):
        save_pair(path, trained, config, dataset, splits, result, overwrite=True)
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pair"]
    load_pair(path, device="cpu")


# --------------------------------------------------------------------------- listing, splits, evaluation

def test_list_pairs_reports_good_and_broken_pairs(tiny_pairs, tmp_path):
    root = tmp_path / "zoo"
    _copy(tiny_pairs["amint"], root, "good")
    broken = _copy(tiny_pairs["loss"], root, "broken")
    (broken / MANIFEST_FILE).write_text("{ not json")
    summaries = {s.path.name: s for s in list_pairs(root)}
    assert sorted(summaries) == ["broken", "good"]
    assert summaries["good"].problem is None
    assert summaries["good"].row()["method"] == "amint"
    assert isinstance(summaries["broken"].problem, str) and "JSON" in summaries["broken"].problem
    assert summaries["broken"].row() == {"pair": "broken", "problem": summaries["broken"].problem}


def test_list_pairs_of_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(InvalidPair):
        list_pairs(tmp_path / "missing")


def test_splits_rebuild_matches_member_hash(tiny_pairs, dataset):
    pair = load_pair(tiny_pairs["passive"], device="cpu")
    rebuilt, splits, extra = pair.rebuild_splits(dataset)
    assert extra is None and rebuilt.fingerprint() == dataset.fingerprint()
    assert splits.member_sha256() == pair.manifest.splits.member_sha256
    np.testing.assert_array_equal(splits.members.numpy(), pair.members())
    assert splits.sizes() == pair.manifest.splits.sizes.model_dump()
    assert not bool(torch.isin(splits.members, splits.external).any())
    head = pair.head_members(splits)
    assert head is not None and len(head) == pair.manifest.splits.head_members
    assert bool(torch.isin(head, splits.members).all())


def test_splits_with_a_changed_seed_are_refused(tiny_pairs, dataset):
    pair = load_pair(tiny_pairs["amint"], device="cpu")
    splits = pair.manifest.splits
    pair.manifest = pair.manifest.model_copy(update={"splits": splits.model_copy(update={"seed": splits.seed + 1})})
    with pytest.raises(InvalidPair, match="member"):
        pair.rebuild_splits(dataset)


@pytest.mark.parametrize("method", ("amint", "passive"))
def test_evaluate_pair_reproduces_the_stored_metrics(tiny_pairs, method):
    pair = load_pair(tiny_pairs[method], device="cpu")
    result = evaluate_pair(pair, allow_download=False).to_dict()
    assert result["n_test"] == 200
    head = result["members_vs_test"]
    for key in METRIC_KEYS:
        assert 0.0 <= head[key] <= 1.0
    assert 0.0 <= result["task_accuracy"] <= 1.0
    stored = pair.manifest.metrics.to_dict()
    for key in METRIC_KEYS:
        assert head[key] == pytest.approx(stored["members_vs_test"][key], abs=1e-6), key
    assert result["task_accuracy"] == pytest.approx(stored["task_accuracy"], abs=1e-9)
    assert (result.get("unseen_members_vs_test") is None) == (method == "amint")


def test_evaluate_pair_with_fewer_test_images(tiny_pairs):
    result = evaluate_pair(load_pair(tiny_pairs["loss"], device="cpu"), n_test=50, allow_download=False)
    assert result.n_test == 50
    assert result.members_vs_test.to_dict()["n_members"] == 50


@pytest.mark.parametrize("n_test", [
    0,
    -5,
])
def test_evaluate_pair_refuses_a_non_positive_n_test(tiny_pairs, n_test):
    from amint_demo.errors import InvalidConfig

    with pytest.raises(InvalidConfig):
        evaluate_pair(load_pair(tiny_pairs["loss"], device="cpu"), n_test=n_test, allow_download=False)
