"""Moving pairs and a user's images around: zip a pair for download, label uploads for training."""
from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import torch

from amint_demo.data import ExtraMembers
from amint_demo.errors import StorageError
from amint_demo.pairs.store import ImageSource, Pair


def zip_pair(pair_dir: str | Path, out: str | Path) -> Path:
    """Write `out` (.zip) holding the pair directory's files under the pair's name."""
    pair_dir, out = Path(pair_dir), Path(out)
    partial = out.parent / f".{out.name}.partial"  # hidden: never offered, swept if a crash leaves it
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(pair_dir.iterdir()):
                if file.is_file():
                    archive.write(file, f"{pair_dir.name}/{file.name}")
        partial.replace(out)
    except OSError as err:
        partial.unlink(missing_ok=True)
        raise StorageError(f"cannot write the download {out.name}: {err.strerror or err}") from err
    return out


def extra_members_from_images(pair: Pair, images: Sequence[ImageSource]) -> ExtraMembers:
    """A user's images at the pair's input size, labelled with the pair's predicted classes (uploads have
    no labels; the task loss needs one). May raise InvalidImage."""
    pixels = pair.preprocess(images)
    labels = torch.tensor([v.predicted_class for v in pair.audit_pixels(pixels)], dtype=torch.int64)
    return ExtraMembers(pixels, labels)
