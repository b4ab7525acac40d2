"""Datasets, the registry and seeded splits, all offline."""
from __future__ import annotations

import gzip
import hashlib
import socket

import numpy as np
import pytest
import torch
from PIL import Image

from amint_demo.data import (DATASET_NAMES, PAPER_SIZES, ImageDataset, Splits, default_sizes, load_dataset,
                             make_splits)
from amint_demo.data.fashion_mnist import DEBIAN_DIR, EMBEDDED_SUBSET, IDX_FILES, load_embedded_subset
from amint_demo.errors import DatasetUnavailable, InvalidConfig

HAS_DEBIAN = (DEBIAN_DIR / "train-images-idx3-ubyte.gz").is_file()
# member_sha256 of make_splits(<3,000 train / 1,000 test>, seed=0): pins torch's seeded permutation,
# so a torch upgrade that changes it cannot silently break every saved pair's manifest.
MINI_SEED0_SHA256 = "9d8189575c60d6f5df42ecc60c248e322cb1902e8bdcd7fb3ac88367993cf651"


@pytest.fixture(scope="module")
def mini() -> ImageDataset:
    return load_dataset("fashion-mnist-mini")


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to resolve or connect fails at once instead of waiting on the network."""
    def refuse(*args, **kwargs):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def _fake(name: str, n_train: int, n_test: int) -> ImageDataset:
    """A dataset of n_train + n_test 1x1 black images, for size arithmetic."""
    def images(n: int) -> torch.Tensor:
        return torch.zeros((n, 1, 1, 1), dtype=torch.uint8)

    return ImageDataset(
        name=name, source="test", class_names=("a", "b"), mean=(0.5,), std=(0.5,),
        train_images=images(n_train), train_labels=torch.zeros(n_train, dtype=torch.int64),
        test_images=images(n_test), test_labels=torch.zeros(n_test, dtype=torch.int64),
    )


# --- datasets ------------------------------------------------------------------------------------

def test_embedded_subset(mini):
    assert EMBEDDED_SUBSET.stat().st_size < 3 * 2**20
    assert mini.name == "fashion-mnist-mini" and "embedded subset" in mini.source
    assert mini.train_images.shape == (3000, 1, 28, 28) and mini.test_images.shape == (1000, 1, 28, 28)
    assert mini.train_images.dtype == torch.uint8 and mini.train_labels.dtype == torch.int64
    assert mini.num_classes == 10 and mini.channels == 1 and mini.image_size == 28
    assert torch.bincount(mini.train_labels).tolist() == [300] * 10
    assert torch.bincount(mini.test_labels).tolist() == [100] * 10
    assert mini.fingerprint() == load_embedded_subset().fingerprint()


def test_fashion_mnist_by_name(monkeypatch):
    monkeypatch.delenv("AMINT_FASHION_MNIST_DIR", raising=False)
    data = load_dataset("fashion-mnist", allow_download=False)
    assert data.name == "fashion-mnist" and data.num_classes == 10
    assert ("Debian package" in data.source) if HAS_DEBIAN else ("embedded subset" in data.source)


@pytest.mark.skipif(not HAS_DEBIAN, reason="Debian package dataset-fashion-mnist is not installed")
def test_debian_fashion_mnist_is_complete(monkeypatch, mini):
    monkeypatch.delenv("AMINT_FASHION_MNIST_DIR", raising=False)
    data = load_dataset("fashion-mnist", allow_download=False)
    assert data.train_images.shape == (60000, 1, 28, 28) and data.test_images.shape == (10000, 1, 28, 28)
    assert default_sizes(data) == PAPER_SIZES["fashion-mnist"]
    with np.load(EMBEDDED_SUBSET) as archive:  # the subset is what it says it is
        assert torch.equal(data.train_images[torch.from_numpy(archive["train_indices"])], mini.train_images)
        assert torch.equal(data.test_labels[torch.from_numpy(archive["test_indices"])], mini.test_labels)


def _write_idx(path, array: np.ndarray) -> None:
    """A gzipped unsigned-byte IDX file, as MNIST ships."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def test_mnist_from_preplaced_idx_files(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    for key, stem in IDX_FILES.items():
        count = 12 if key.startswith("train") else 4
        array = rng.integers(0, 256, (count, 28, 28)) if key.endswith("images") else np.arange(count)
        _write_idx(tmp_path / f"{stem}.gz", array)
    monkeypatch.setenv("AMINT_MNIST_DIR", str(tmp_path))
    data = load_dataset("mnist", allow_download=False)
    assert data.train_images.shape == (12, 1, 28, 28) and data.test_labels.tolist() == [0, 1, 2, 3]
    assert "AMINT_MNIST_DIR" in data.source and data.mean == (0.5,)


def test_cifar10_offline_says_what_to_do(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("AMINT_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("AMINT_CIFAR10_DIR", raising=False)
    for allow_download in (True, False):
        with pytest.raises(DatasetUnavailable) as caught:
            load_dataset("cifar10", allow_download=allow_download)
        message = str(caught.value)
        assert "\n" not in message and "AMINT_CIFAR10_DIR" in message and "cifar-10-batches-py" in message
    monkeypatch.setenv("AMINT_GTSRB_DIR", str(tmp_path / "nothing here"))
    with pytest.raises(DatasetUnavailable, match="AMINT_GTSRB_DIR"):
        load_dataset("gtsrb")


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(InvalidConfig) as caught:
        load_dataset("imagenet")
    assert all(name in str(caught.value) for name in DATASET_NAMES)
    with pytest.raises(InvalidConfig):
        load_dataset("imagefolder:")


# --- image folders -------------------------------------------------------------------------------

def _folder_tree(root, classes=("cats", "dogs"), per_class=6):
    for index, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (40 + i, 30), (40 * index, 20 * i, 100)).save(root / name / f"{i}.png")
    return root


def test_imagefolder_loads_splits_and_counts_skipped(tmp_path):
    root = _folder_tree(tmp_path / "pets")
    (root / "dogs" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / ".hidden").mkdir()
    data = load_dataset(f"imagefolder:{root}")
    assert data.class_names == ("cats", "dogs") and data.channels == 3 and data.image_size == 64
    assert len(data.train_labels) == 10 and len(data.test_labels) == 2
    assert torch.bincount(data.test_labels).tolist() == [1, 1]
    assert "1 unreadable files skipped" in data.source and "80/20" in data.source
    again = load_dataset(f"imagefolder:{root}")
    assert again.fingerprint() == data.fingerprint()


def test_imagefolder_all_greyscale_gives_one_channel(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.new("L", (10, 12), 30 * i).save(tmp_path / name / f"{i}.png")
    data = load_dataset(f"imagefolder:{tmp_path}")
    assert data.channels == 1 and data.mean == (0.5,)


def test_imagefolder_errors(tmp_path):
    with pytest.raises(DatasetUnavailable, match="does not exist"):
        load_dataset(f"imagefolder:{tmp_path / 'missing'}")
    with pytest.raises(InvalidConfig, match="no class sub-folders"):
        load_dataset(f"imagefolder:{tmp_path}")
    one_class = _folder_tree(tmp_path / "one", classes=("only",), per_class=2)
    with pytest.raises(InvalidConfig, match="at least 2 classes"):
        load_dataset(f"imagefolder:{one_class}")
    unreadable = tmp_path / "junk"
    for name in ("a", "b"):
        (unreadable / name).mkdir(parents=True)
        (unreadable / name / "x.png").write_text("not an image")
    with pytest.raises(InvalidConfig, match="no readable images"):
        load_dataset(f"imagefolder:{unreadable}")


# --- splits --------------------------------------------------------------------------------------

def test_default_splits_on_the_subset(mini):
    assert default_sizes(mini) == (1250, 1750, 1000)
    splits = make_splits(mini)
    assert splits.sizes() == {"members": 1250, "external": 1750, "test": 1000, "calibration": 0}
    assert not set(splits.members.tolist()) & set(splits.external.tolist())
    assert len(set(splits.members.tolist()) | set(splits.external.tolist())) == 3000
    for indices in (splits.members, splits.external, splits.test):
        assert indices.dtype == torch.int64 and torch.equal(indices, indices.sort().values)


def test_paper_sizes_when_they_fit():
    assert default_sizes(_fake("cifar10", 50_000, 10_000)) == (20_000, 30_000, 10_000)
    assert default_sizes(_fake("gtsrb", 26_640, 12_630)) == (11_000, 15_600, 12_600)
    assert default_sizes(_fake("cifar10", 1_200, 100)) == (500, 700, 100)


def test_splits_are_deterministic_and_seeded(mini):
    first, second = make_splits(mini, seed=0), make_splits(mini, seed=0)
    for name in ("members", "external", "test"):
        assert torch.equal(getattr(first, name), getattr(second, name))
    other = make_splits(mini, seed=1)
    assert not torch.equal(first.members, other.members)
    assert first.member_sha256() != other.member_sha256()
    assert first.member_sha256() == MINI_SEED0_SHA256
    state = torch.random.get_rng_state()
    make_splits(mini, seed=5)
    assert torch.equal(state, torch.random.get_rng_state())  # the global RNG is left alone


def test_member_sha256_recipe(mini):
    splits = make_splits(mini, n_members=100, n_external=50, n_test=10, seed=3)
    expected = hashlib.sha256(np.array(sorted(splits.members.tolist()), dtype="<i8").tobytes()).hexdigest()
    assert splits.member_sha256() == expected


def test_default_external_is_what_is_left(mini):
    assert make_splits(mini, n_members=2_700, n_calibration=200).sizes() == \
        {"members": 2700, "external": 100, "test": 1000, "calibration": 200}


@pytest.mark.parametrize("sizes", [
    {"n_members": -1}, {"n_members": 0}, {"n_external": -5}, {"n_test": -1},
    {"n_members": 2000, "n_external": 1001}, {"n_test": 1001}, {"n_members": 3001}, {"n_members": 1.5},
])
def test_impossible_sizes(mini, sizes):
    with pytest.raises(InvalidConfig):
        make_splits(mini, **sizes)


def test_splits_validate_themselves():
    index = torch.tensor([0, 1, 2])
    with pytest.raises(InvalidConfig, match="share"):
        Splits(seed=0, members=index, external=torch.tensor([2, 3]), test=index)
    with pytest.raises(InvalidConfig, match="sorted"):
        Splits(seed=0, members=torch.tensor([2, 1]), external=torch.tensor([3]), test=index)
    with pytest.raises(InvalidConfig, match="int64"):
        Splits(seed=0, members=index.int(), external=torch.tensor([3]), test=index)


def test_gtsrb_from_preplaced_torchvision_layout(tmp_path, monkeypatch):
    base = tmp_path / "gtsrb"
    for label in range(43):  # torchvision numbers classes by folder order, so all 43 must exist
        folder = base / "GTSRB" / "Training" / f"{label:05d}"
        folder.mkdir(parents=True)
        Image.new("RGB", (30 + label % 5, 31), (label, 0, 0)).save(folder / "0.ppm")
    (base / "GTSRB" / "Final_Test" / "Images").mkdir(parents=True)
    rows = ["Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId"]
    for i, label in enumerate((3, 42)):
        Image.new("RGB", (40, 35), (label, 9, 9)).save(base / "GTSRB" / "Final_Test" / "Images" / f"{i:05d}.ppm")
        rows.append(f"{i:05d}.ppm;40;35;0;0;40;35;{label}")
    (base / "GT-final_test.csv").write_text("\n".join(rows) + "\n")
    monkeypatch.setenv("AMINT_GTSRB_DIR", str(tmp_path))
    data = load_dataset("gtsrb", allow_download=False)
    assert data.train_images.shape == (43, 3, 64, 64) and data.test_images.shape == (2, 3, 64, 64)
    assert data.train_labels.tolist() == list(range(43)) and data.test_labels.tolist() == [3, 42]
    assert int(data.train_images[42, 0, 10, 10]) == 42 and data.num_classes == 43
