"""The app's pictures: gallery images with their ground truth, and photos offered as upload examples."""
from __future__ import annotations

import hashlib
import json
from functools import cached_property
from pathlib import Path

from amint_demo.data.photos import photo_bank


class Gallery:
    """`assets/examples` (images + ground_truth.json) and the package's photo bank (photos no pair has seen)."""

    def __init__(self, assets_dir: Path) -> None:
        self.examples_dir = Path(assets_dir) / "examples"
        self.photos = photo_bank()

    def examples(self) -> tuple[list[str], dict[str, dict]]:
        """Gallery image paths and their ground truth (file name -> {"member", "split", "label", ...})."""
        truth_file = self.examples_dir / "ground_truth.json"
        if not truth_file.is_file():
            return [], {}
        truth = json.loads(truth_file.read_text())["images"]
        return [str(self.examples_dir / name) for name in truth if (self.examples_dir / name).is_file()], truth

    @cached_property
    def _truth_by_content(self) -> dict[str, dict]:
        paths, truth = self.examples()
        return {hashlib.sha256(Path(p).read_bytes()).hexdigest(): truth[Path(p).name] for p in paths}

    def example_truth(self, image_path: str) -> dict | None:
        """Ground truth of a gallery example, recognised by its bytes (Gradio hands handlers a cached copy)."""
        path = Path(image_path)
        if not path.is_file() or path.stat().st_size > 1 << 20:
            return None
        return self._truth_by_content.get(hashlib.sha256(path.read_bytes()).hexdigest())

    def upload_examples(self) -> list[str]:
        """Real photos no pair has seen (the photo bank)."""
        return [str(photo.path) for photo in self.photos]

    def served_folders(self) -> list[str]:
        """The folders the app may serve files from besides Gradio's cache."""
        return [str(self.examples_dir), *sorted({str(photo.path.parent) for photo in self.photos})]
