"""A reduced load and memory run on a real app process (scripts/load_test.py and memory_test.py run the full
sizes): concurrent visitors all get verdicts while a training runs, and repeated audits do not grow memory."""
from __future__ import annotations

import pytest

from benchmarks.faultcheck import SHORT_TRAINING
from benchmarks.loadcheck import run_load, run_memory

pytestmark = pytest.mark.slow  # a real app process under load


def test_concurrent_visitors_are_all_answered_while_training_runs(served_app, repo_runtime):
    pair, images = repo_runtime.pairs.default_pair(), repo_runtime.gallery.examples()[0]
    result = run_load(served_app.url, pair, images, users=6, audits_per_user=3, training=SHORT_TRAINING).summary()
    assert (result["answered"], result["failed"], result["lost"]) == (18, 0, 0), result["failure_examples"]
    assert result["training_outcome"].startswith("**Done"), result["training_outcome"]
    assert result["latency"]["n"] == 18  # every answered audit was timed


def test_repeated_audits_do_not_grow_server_memory(served_app, repo_runtime):
    result = run_memory(served_app.url, served_app.process.pid, repo_runtime.pairs.default_pair(),
                        repo_runtime.gallery.examples()[0], audits=100, warmup=20)
    assert result["growth_mb"] < 20, result


def test_identical_audits_at_once_are_all_answered_whole(served_app, repo_runtime):
    """Everyone clicks the same gallery image: every answer arrives, and every map image in it decodes."""
    pair, image = repo_runtime.pairs.default_pair(), repo_runtime.gallery.examples()[0][0]
    result = run_load(served_app.url, pair, [image], users=10, audits_per_user=4, training=None).summary()
    assert (result["answered"], result["failed"], result["lost"]) == (40, 0, 0), result["failure_examples"]
