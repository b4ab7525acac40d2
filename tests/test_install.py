"""`pip install .` gives a working library: its dependencies declared, its data inside, usable from any folder."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # builds and installs a wheel

AUDIT_ELSEWHERE = """
import json, sys
import amint_demo
from amint_demo.data import load_dataset
pair = amint_demo.load_pair(sys.argv[1], device="cpu")
verdict = pair.audit([sys.argv[2]])[0]
mini = load_dataset("fashion-mnist-mini")
print(json.dumps({"module": amint_demo.__file__, "p": verdict.membership_probability, "label": verdict.predicted_label,
                  "auc": pair.manifest.metrics.members_vs_test.auc, "mini": len(mini.train_labels)}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel `pip install .` would install, built from a copy of the sources (the checkout stays clean)."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "amint_demo", source / "amint_demo", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(source)], check=True, capture_output=True, timeout=300)
    (built,) = out.glob("amint_demo-*.whl")
    return built


def test_the_wheel_declares_its_dependencies_and_carries_its_data(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = Parser().parsestr(archive.read(next(n for n in names if n.endswith("METADATA"))).decode())
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    required = {r.split(">")[0].split("=")[0].split(";")[0].strip() for r in metadata.get_all("Requires-Dist")
                if "extra ==" not in r}
    assert {"torch", "timm", "safetensors", "numpy", "pillow", "scikit-learn", "pydantic", "tqdm"} <= required
    assert "amint_demo/assets/fashion-mnist-mini.npz" in names
    assert "amint-demo = amint_demo.cli:main" in entry_points
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "pretrained/"))]


def test_installed_library_loads_a_pair_and_audits_from_another_folder(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    pair, image = REPO / "pretrained" / "fmnist-mobilenetv3-amint-middle", REPO / "assets" / "examples" / "example-01.png"
    done = subprocess.run([sys.executable, "-c", AUDIT_ELSEWHERE, str(pair), str(image)], cwd=elsewhere,
                          env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(result["module"]).is_relative_to(target)  # the installed copy, not the checkout
    assert result["mini"] == 3000 and result["label"] and 0 < result["auc"] < 1
    cli = subprocess.run([sys.executable, "-m", "amint_demo", "list", str(REPO / "pretrained")], cwd=elsewhere,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
                         capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0 and "fmnist-mobilenetv3-amint-middle" in cli.stdout, cli.stderr[-2000:]
