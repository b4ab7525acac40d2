"""An interrupted training run resumes from its last epoch and ends exactly where an uninterrupted run ends; a
checkpoint from another configuration, or a damaged one, is refused with one line; a saved pair leaves none."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from amint_demo.data import load_dataset, make_splits
from amint_demo.errors import InvalidConfig
from amint_demo.methods import TrainCallbacks, TrainingStopped, train
from amint_demo.methods.checkpoint import EpochCheckpoint, checkpoint_path
from amint_demo.pairs.workflow import train_pair
from tests.conftest import tiny_config

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def mini():
    dataset = load_dataset("fashion-mnist-mini")
    return dataset, make_splits(dataset, 96, 96, 96, seed=0)


def _stop_after(epochs: int) -> TrainCallbacks:
    """Callbacks that interrupt the run once `epochs` epochs have ended (as a killed process would)."""
    ended: list[dict] = []
    return TrainCallbacks(on_epoch=ended.append, should_stop=lambda: len(ended) >= epochs)


def _weights(trained) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in trained.model.state_dict().items()}


@pytest.mark.parametrize("method", ["amint", "loss"])
def test_resumed_run_ends_with_the_uninterrupted_weights(mini, tmp_path: Path, method: str) -> None:
    dataset, splits = mini
    config = tiny_config(method, max_steps=None, epochs=3, head_epochs=2, lr=3e-3, calibration_size=0)
    whole = train(config, dataset, splits, CPU)
    checkpoint = EpochCheckpoint(tmp_path / "run.checkpoint.safetensors", config)
    with pytest.raises(TrainingStopped):
        train(config, dataset, splits, CPU, _stop_after(2), checkpoint=checkpoint)
    assert checkpoint.path.is_file()
    resumed_epochs: list[dict] = []
    resumed = train(config, dataset, splits, CPU, TrainCallbacks(on_epoch=resumed_epochs.append),
                    checkpoint=checkpoint)
    assert [r["epoch"] for r in resumed_epochs] == [3], "the resumed run must train only the missing epoch"
    key = "joint" if method == "amint" else "plain"
    assert resumed.history[key] == whole.history[key]
    expected, got = _weights(whole), _weights(resumed)
    assert expected.keys() == got.keys()
    for name in expected:
        assert torch.equal(expected[name], got[name]), f"{name} differs after resuming"
    if method == "amint":
        assert resumed.external_use == whole.external_use


def test_checkpoint_of_another_configuration_is_refused(mini, tmp_path: Path) -> None:
    dataset, splits = mini
    config = tiny_config("amint", max_steps=None, epochs=2, calibration_size=0)
    checkpoint = EpochCheckpoint(tmp_path / "c.safetensors", config)
    with pytest.raises(TrainingStopped):
        train(config, dataset, splits, CPU, _stop_after(1), checkpoint=checkpoint)
    other = tiny_config("amint", max_steps=None, epochs=2, calibration_size=0, lr=5e-3)
    with pytest.raises(InvalidConfig, match="another configuration") as err:
        train(other, dataset, splits, CPU, checkpoint=EpochCheckpoint(checkpoint.path, other))
    assert "\n" not in str(err.value)


def test_damaged_checkpoint_is_refused_with_one_line(mini, tmp_path: Path) -> None:
    dataset, splits = mini
    config = tiny_config("amint", max_steps=None, epochs=1, calibration_size=0)
    path = tmp_path / "c.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not a safetensors header")
    with pytest.raises(InvalidConfig, match="not a readable checkpoint") as err:
        train(config, dataset, splits, CPU, checkpoint=EpochCheckpoint(path, config))
    assert "\n" not in str(err.value)


def test_saved_pair_leaves_no_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "pair"
    config = tiny_config("amint", max_steps=None, epochs=2, dataset="fashion-mnist-mini", n_members=96,
                         n_external=96, n_test=96)
    with pytest.raises(TrainingStopped):
        train_pair(config, out, _stop_after(1), resumable=True)
    assert checkpoint_path(out).is_file() and not out.exists()
    assert train_pair(config, out, resumable=True) == out
    assert (out / "manifest.json").is_file() and not checkpoint_path(out).exists()
