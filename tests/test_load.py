"""A reduced load and memory run on a real app process (scripts/load_test.py and memory_test.py run the full
sizes): concurrent visitors all get verdicts while a training runs, and repeated audits do not grow memory."""
from __future__ import annotations

from amint_demo.ui import registry
from amint_demo.ui.faultcheck import SHORT_TRAINING
from amint_demo.ui.loadcheck import run_load, run_memory


def test_concurrent_visitors_are_all_answered_while_training_runs(served_app):
    result = run_load(served_app.url, registry.default_pair(), registry.examples()[0], users=6, audits_per_user=3,
                      training=SHORT_TRAINING).summary()
    assert (result["answered"], result["failed"], result["lost"]) == (18, 0, 0), result["failure_examples"]
    assert result["training_outcome"].startswith("**Done"), result["training_outcome"]
    assert result["latency"]["p95_ms"] >= result["latency"]["p50_ms"] > 0


def test_repeated_audits_do_not_grow_server_memory(served_app):
    result = run_memory(served_app.url, served_app.process.pid, registry.default_pair(), registry.examples()[0],
                        audits=100, warmup=20)
    assert result["growth_mb"] < 20, result
