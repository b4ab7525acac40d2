"""The typed manifest: schema-1 pairs migrate on read, every field is validated, a wrong file is one line."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from amint_demo import load_pair
from amint_demo.errors import InvalidPair
from amint_demo.methods import get_method, list_methods
from amint_demo.pairs import MANIFEST_FILE, SCHEMA_VERSION, Manifest
from amint_demo.pairs.manifest import parse_manifest, read_manifest_file

REPO = Path(__file__).resolve().parents[1]
# Detector kinds of schema 1, which named them beside the method.
SCHEMA_1_KINDS = {"amint": "head", "passive": "head", "gradient": "gradient", "loss": "loss"}


def _as_schema_1(path: Path, method: str) -> dict:
    """Rewrite a freshly saved pair's manifest as the first release wrote it."""
    data = json.loads((path / MANIFEST_FILE).read_text())
    data["schema_version"] = 1
    data["detector"] = {"kind": SCHEMA_1_KINDS[method], **data["detector"]}
    if data["splits"]["head_members"] is None:  # schema 1 left these out for aMINT
        del data["splits"]["head_members"], data["splits"]["head_member_fraction"]
    del data["extra_members"]
    (path / MANIFEST_FILE).write_text(json.dumps(data))
    return data


def _refused(path: Path, match: str) -> str:
    with pytest.raises(InvalidPair, match=match) as caught:
        load_pair(path, device="cpu")
    assert "\n" not in str(caught.value)
    return str(caught.value)


@pytest.mark.parametrize("method", list_methods())
def test_a_schema_1_pair_loads_and_scores_as_before(tiny_pairs, tmp_path, method):
    old = tmp_path / "old"
    shutil.copytree(tiny_pairs[method], old)
    _as_schema_1(old, method)
    migrated, current = load_pair(old, device="cpu"), load_pair(tiny_pairs[method], device="cpu")
    assert migrated.manifest.schema_version == SCHEMA_VERSION
    assert migrated.manifest.detector == current.manifest.detector  # "kind" is gone, the rest kept
    assert migrated.manifest.extra_members is None
    pixels = current.preprocess([REPO / "assets" / "examples" / "example-01.png"])
    assert [v.membership_probability for v in migrated.audit_pixels(pixels)] == \
        [v.membership_probability for v in current.audit_pixels(pixels)]


def test_every_committed_pair_is_read_through_the_migration():
    files = sorted((REPO / "pretrained").glob(f"*/{MANIFEST_FILE}"))
    assert files
    for file in files:
        assert read_manifest_file(file).schema_version == SCHEMA_VERSION


def test_a_manifest_round_trips_through_json(tiny_pairs):
    manifest = load_pair(tiny_pairs["gradient"], device="cpu").manifest
    again = parse_manifest(json.loads(manifest.to_json()), tiny_pairs["gradient"])
    assert again == manifest and isinstance(again, Manifest)


@pytest.mark.parametrize("edit, match", [
    (lambda m: m["detector"].update(layer=7), "detector|layer"),  # gradient section: a string
    (lambda m: m["detector"].update(backdoor=True), "detector|backdoor"),
    (lambda m: m["train_config"].update(method="amint"), "not the pair's method"),
    (lambda m: m["splits"].update(member_sha256="abc"), "splits.member_sha256"),
    (lambda m: m["weights"].update(dtype="int8"), "weights.dtype"),
    (lambda m: m["dataset"].update(channels=2), "dataset.channels"),
    (lambda m: m.update(taps=[]), "taps"),
    (lambda m: m.update(surprise=1), "surprise"),
    (lambda m: m["train_config"].update(lr=-1.0), "lr"),
], ids=["section-type", "section-extra", "config-method", "hash", "dtype", "channels", "no-taps", "extra-key", "lr"])
def test_a_wrong_field_is_refused_with_one_line_naming_it(tiny_pairs, tmp_path, edit, match):
    path = tmp_path / "pair"
    shutil.copytree(tiny_pairs["gradient"], path)
    data = json.loads((path / MANIFEST_FILE).read_text())
    edit(data)
    (path / MANIFEST_FILE).write_text(json.dumps(data))
    _refused(path, match)


def test_a_schema_1_pair_claiming_another_method_is_refused(tiny_pairs, tmp_path):
    """Schema 1's detector kind is dropped by the migration; the method's section and tensors still betray it."""
    path = tmp_path / "pair"
    shutil.copytree(tiny_pairs["gradient"], path)
    data = _as_schema_1(path, "gradient")
    data["method"] = data["train_config"]["method"] = "amint"
    (path / MANIFEST_FILE).write_text(json.dumps(data))
    _refused(path, "detector")


def test_newer_schemas_are_refused(tiny_pairs, tmp_path):
    path = tmp_path / "pair"
    shutil.copytree(tiny_pairs["amint"], path)
    data = json.loads((path / MANIFEST_FILE).read_text()) | {"schema_version": SCHEMA_VERSION + 1}
    (path / MANIFEST_FILE).write_text(json.dumps(data))
    assert "1 to" in _refused(path, "schema_version")


@pytest.mark.parametrize("method", list_methods())
def test_each_method_owns_its_detector_section(tiny_pairs, method):
    manifest = load_pair(tiny_pairs[method], device="cpu").manifest
    assert get_method(method).check_section(manifest.detector) == manifest.detector
