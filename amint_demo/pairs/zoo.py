"""Finding pairs under a folder (the pretrained zoo, a runs/ directory)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from amint_demo.errors import InvalidPair
from amint_demo.pairs.manifest import MANIFEST_FILE, Manifest
from amint_demo.pairs.store import read_manifest


@dataclass(frozen=True)
class PairSummary:
    path: Path
    manifest: Manifest | None
    problem: str | None  # why the pair cannot be loaded, or None

    def row(self) -> dict[str, object]:
        """One line of `amint_demo list`: the pair's method, backbone, tap and headline metrics."""
        if self.manifest is None:
            return {"pair": self.path.name, "problem": self.problem}
        m = self.manifest
        metrics = m.metrics
        head = metrics.members_vs_test if metrics else None
        return {"pair": self.path.name, "method": m.method, "arch": m.backbone.arch, "family": m.family,
                "taps": m.tap_label, "dataset": m.dataset.name, "members": m.splits.sizes.members,
                "balanced_accuracy": head.balanced_accuracy if head else None, "auc": head.auc if head else None,
                "tpr_at_1pct_fpr": head.tpr_at_1pct_fpr if head else None,
                "task_accuracy": metrics.task_accuracy if metrics else None}


def list_pairs(root: str | Path) -> list[PairSummary]:
    """Every directory under root holding a manifest (hidden temporary directories skipped), sorted."""
    root = Path(root)
    if not root.is_dir():
        raise InvalidPair(f"{root} is not a directory")
    found = []
    for manifest in sorted(root.rglob(MANIFEST_FILE)):
        directory = manifest.parent
        if any(part.startswith(".") for part in directory.relative_to(root).parts):
            continue
        try:
            found.append(PairSummary(directory, read_manifest(directory), None))
        except InvalidPair as err:
            found.append(PairSummary(directory, None, str(err)))
    return found
