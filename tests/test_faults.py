"""Fault drills on a real app process (benchmarks.faultcheck): each breaks something on purpose and checks the
app keeps serving, lists no half-written pair and leaves no temporary file."""
from __future__ import annotations

import pytest

from benchmarks.faultcheck import DRILLS, run_drills

NAMES = list(DRILLS) + ["failed-write"]
pytestmark = pytest.mark.slow  # app processes with training workers, broken on purpose


@pytest.fixture(scope="module")
def drill_results(tmp_path_factory, repo_runtime):
    results = run_drills(tmp_path_factory.mktemp("drills"), repo_runtime.pairs.default_pair(),
                         repo_runtime.gallery.examples()[0][0])
    return dict(zip(NAMES, results))


@pytest.mark.parametrize("name", NAMES)
def test_fault_drill_passes(drill_results, name):
    result = drill_results[name]
    assert result.ok, "\n".join(result.notes)
    assert result.notes and all(note.startswith("ok") for note in result.notes)
