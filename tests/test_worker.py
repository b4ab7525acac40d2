"""Training in a worker process: results, Stop, a killed worker and a failed write leave nothing half-done."""
from __future__ import annotations

import errno
import os
import resource
import signal

import pytest

from amint_demo.errors import StorageError
from amint_demo.pairs import list_pairs, load_pair, store
from amint_demo.runtime.worker import TrainingProcess
from tests.conftest import tiny_config


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _run(job: TrainingProcess, until: str | None = None) -> list[dict]:
    """All events; `until`: return right after the first event of that kind."""
    seen = []
    for event in job.events(poll_s=0.2):
        if event["event"] != "idle":
            seen.append(event)
        if event["event"] == until:
            break
    return seen


@pytest.mark.slow
def test_a_run_reports_progress_and_saves_a_loadable_pair(tmp_path):
    with TrainingProcess(tiny_config(max_steps=6), tmp_path / "pair") as job:
        events = _run(job)
    kinds = [e["event"] for e in events]
    assert kinds[-1] == "done", events[-1]
    assert "stage" in kinds and "step" in kinds and "epoch" in kinds
    load_pair(events[-1]["path"], device="cpu")
    assert _leftovers(tmp_path) == ["pair"]


@pytest.mark.slow
def test_stop_ends_the_run_without_a_pair(tmp_path):
    job = TrainingProcess(tiny_config(max_steps=2000, epochs=200), tmp_path / "pair")
    try:
        _run(job, until="step")
        job.stop()
        events = _run(job)
    finally:
        job.close()
    assert events[-1]["event"] == "stopped"
    assert _leftovers(tmp_path) == []


@pytest.mark.slow
def test_a_killed_worker_is_reported_and_leaves_nothing(tmp_path):
    job = TrainingProcess(tiny_config(max_steps=2000, epochs=200), tmp_path / "pair")
    try:
        _run(job, until="step")
        os.kill(job.pid, signal.SIGKILL)
        events = _run(job)
    finally:
        job.close()
    assert events[-1]["event"] == "error" and "exit code -9" in events[-1]["message"]
    assert _leftovers(tmp_path) == [] and list_pairs(tmp_path) == []


@pytest.mark.slow
def test_a_failed_write_is_one_message_and_leaves_nothing(tmp_path):
    """The worker may write no file over 64 KiB (RLIMIT_FSIZE): saving the weights fails as on a full disk."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, hard))
    try:
        job = TrainingProcess(tiny_config(), tmp_path / "pair")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    with job:
        events = _run(job)
    assert events[-1]["event"] == "error"
    assert events[-1]["message"].startswith("cannot write the pair pair: ")
    assert "File too large" in events[-1]["message"] and "\n" not in events[-1]["message"]
    assert _leftovers(tmp_path) == []


def test_save_pair_on_a_full_disk_leaves_no_folder(tiny_pairs, tmp_path, monkeypatch):
    pair = load_pair(tiny_pairs["amint"], device="cpu")
    from amint_demo.data import load_dataset
    from amint_demo.methods import TrainedModel

    config = pair.manifest.train_config
    dataset = load_dataset(config.dataset, allow_download=False)
    _, splits, _ = pair.rebuild_splits(dataset)

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store, "save_file", full_disk)
    with pytest.raises(StorageError, match="cannot write the pair pair: No space left on device"):
        store.save_pair(tmp_path / "pair", TrainedModel(pair.model, pair.detector), config, dataset, splits, None)
    assert _leftovers(tmp_path) == []


@pytest.mark.slow
def test_a_session_past_its_time_budget_ends_training_and_still_saves(tmp_path):
    config = tiny_config("amint", max_steps=None, epochs=500)
    with TrainingProcess(config, tmp_path / "pair", max_seconds=2.0) as job:
        events = _run(job)
    assert events[-1]["event"] == "done", events[-1]
    history = load_pair(tmp_path / "pair", device="cpu").manifest.history["joint"]
    assert history[-1]["ended_at_time_budget"] is True and history[-1]["epoch"] < 500
