"""Every committed pair loads (schema, member hash, weight hash, tensor shapes checked) and audits an image."""
from __future__ import annotations

from pathlib import Path

import pytest

from amint_demo import list_pairs, load_pair

PRETRAINED = Path(__file__).resolve().parents[1] / "pretrained"
EXAMPLE = Path(__file__).resolve().parents[1] / "assets" / "examples" / "example-01.png"
PAIRS = [s.path for s in list_pairs(PRETRAINED)] if PRETRAINED.is_dir() else []


def test_the_zoo_is_not_empty_and_every_pair_is_valid() -> None:
    summaries = list_pairs(PRETRAINED)
    assert summaries, "no committed pairs: the app would start empty"
    assert [s.problem for s in summaries if s.problem] == []


@pytest.mark.parametrize("path", PAIRS, ids=[p.name for p in PAIRS])
def test_committed_pair_loads_and_audits(path: Path) -> None:
    pair = load_pair(path, device="cpu")
    assert len(pair.members()) == pair.manifest["splits"]["sizes"]["members"]
    verdict = pair.audit([EXAMPLE])[0]
    assert 0.0 <= verdict.membership_probability <= 1.0
    assert set(verdict.maps) == set(pair.manifest["taps"])
    metrics = pair.manifest["metrics"]["members_vs_test"]
    assert metrics["n_members"] == metrics["n_nonmembers"] > 0


def test_upload_example_photos_are_real_photos_that_audit() -> None:
    from PIL import Image

    from amint_demo.ui import registry

    photos = registry.upload_examples()
    assert len(photos) >= 5
    pair = load_pair(registry.resolve(registry.default_pair()), device="cpu")
    for photo in photos:
        with Image.open(photo) as image:
            assert min(image.size) >= 200  # photos, not thumbnails of the dataset
        assert 0.0 <= pair.audit([photo])[0].membership_probability <= 1.0


def test_every_family_has_the_full_set_of_methods_and_taps() -> None:
    import json

    found: dict[str, set[tuple[str, str]]] = {}
    for path in PAIRS:
        manifest = json.loads((path / "manifest.json").read_text())
        tap = "-" if manifest["method"] == "loss" else manifest["tap_depth"]
        found.setdefault(manifest["backbone"]["family"], set()).add((manifest["method"], tap))
    wanted = {("amint", "entry"), ("amint", "middle"), ("amint", "output"), ("passive", "middle"),
              ("gradient", "middle"), ("loss", "-")}
    assert len(found) >= 3
    assert {family: wanted - have for family, have in found.items()} == {family: set() for family in found}
