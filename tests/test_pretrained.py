"""Every committed pair loads (schema, member hash, weight hash, tensor shapes checked) and audits an image."""
from __future__ import annotations

from pathlib import Path

import pytest

from amint_demo import list_pairs, load_pair
from amint_demo.pairs import NO_TAP

PRETRAINED = Path(__file__).resolve().parents[1] / "pretrained"
EXAMPLE = Path(__file__).resolve().parents[1] / "assets" / "examples" / "example-01.png"
SUMMARIES = list_pairs(PRETRAINED) if PRETRAINED.is_dir() else []
PAIRS = [s.path for s in SUMMARIES]
STARTED_FROM_ANOTHER = [s.path for s in SUMMARIES if s.manifest.train_config.init_from]


def test_the_zoo_is_not_empty_and_every_pair_is_valid() -> None:
    summaries = list_pairs(PRETRAINED)
    assert summaries, "no committed pairs: the app would start empty"
    assert [s.problem for s in summaries if s.problem] == []


@pytest.mark.parametrize("path", PAIRS, ids=[p.name for p in PAIRS])
def test_committed_pair_loads_and_audits(path: Path) -> None:
    pair = load_pair(path, device="cpu")
    assert len(pair.members()) == pair.manifest.splits.sizes.members
    verdict, again = pair.audit([EXAMPLE, EXAMPLE])
    assert verdict.membership_probability == pytest.approx(again.membership_probability, abs=1e-6)
    assert verdict.predicted_label in pair.class_names
    assert set(verdict.maps) == set(pair.manifest.taps)
    metrics = pair.manifest.metrics.members_vs_test
    assert metrics.n_members == metrics.n_nonmembers > 0


def test_upload_example_photos_are_real_photos_that_audit(repo_runtime) -> None:
    from PIL import Image

    photos = repo_runtime.gallery.upload_examples()
    assert len(photos) >= 5
    pair = repo_runtime.pairs.get_pair(repo_runtime.pairs.default_pair())
    for photo in photos:
        with Image.open(photo) as image:
            assert min(image.size) >= 200  # photos, not thumbnails of the dataset
        verdict = pair.audit([photo])[0]
        assert verdict.model_input.shape == (28, 28)  # read at the pair's input size, greyscale


def test_every_family_has_the_full_set_of_methods_and_taps() -> None:
    found: dict[str, set[tuple[str, str]]] = {}
    for summary in list_pairs(PRETRAINED):
        manifest = summary.manifest
        found.setdefault(manifest.family, set()).add((manifest.method, manifest.tap_label))
    wanted = {("amint", "entry"), ("amint", "middle"), ("amint", "output"), ("passive", "middle"),
              ("gradient", "middle"), ("loss", NO_TAP)}
    assert len(found) >= 3
    assert {family: wanted - have for family, have in found.items()} == {family: set() for family in found}


@pytest.mark.parametrize("path", STARTED_FROM_ANOTHER, ids=[p.name for p in STARTED_FROM_ANOTHER])
def test_a_pair_started_from_another_names_a_committed_pair_whose_model_it_kept(path: Path) -> None:
    """Retraining from the manifest needs `init_from` in a fresh clone; a frozen method must not move the model."""
    import torch

    pair = load_pair(path, device="cpu")
    start_path = Path(pair.manifest.train_config.init_from)
    assert start_path.parent.name == "pretrained" and (PRETRAINED / start_path.name).is_dir()
    start = load_pair(PRETRAINED / start_path.name, device="cpu")
    if not pair.manifest.method_info.joint:  # the model was frozen
        kept, original = pair.model.state_dict(), start.model.state_dict()
        assert original.keys() <= kept.keys()  # the pair adds its detector head
        assert all(torch.equal(kept[name], original[name]) for name in original)


@pytest.mark.parametrize("path", PAIRS, ids=[p.name for p in PAIRS])
def test_committed_pair_is_calibrated_guarded_and_rarely_calls_photos_members(path: Path) -> None:
    manifest = load_pair(path, device="cpu").manifest
    assert manifest.schema_version >= 3 and manifest.calibration is not None and manifest.guard is not None
    check = manifest.metrics.ood_check
    assert check is not None and check.member_rate <= 0.01, check
    assert manifest.metrics.test_ruled_out <= 0.02  # the guard keeps held-out Fashion-MNIST


def test_the_default_pair_audits_the_check_set_as_stored(repo_runtime) -> None:
    """Recomputed, not read: the default pair calls at most 1% of the shipped photos, faces and crops members."""
    from amint_demo.data.ood import ood_check_set

    pair = repo_runtime.pairs.get_pair(repo_runtime.pairs.default_pair())
    verdicts = pair.audit_pixels(ood_check_set(1, 28))
    called = sum(v.is_member for v in verdicts)
    assert called == pair.manifest.metrics.ood_check.called_members and called <= 0.01 * len(verdicts)
    assert pair.manifest.metrics.members_vs_test.ece <= 0.03
