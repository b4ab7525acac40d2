"""Finding pairs under a folder (the pretrained zoo, a runs/ directory)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from amint_demo.errors import InvalidPair
from amint_demo.pairs.manifest import MANIFEST_FILE
from amint_demo.pairs.store import read_manifest


@dataclass(frozen=True)
class PairSummary:
    path: Path
    manifest: dict | None
    problem: str | None  # why the pair cannot be loaded, or None

    def row(self) -> dict[str, object]:
        if self.manifest is None:
            return {"pair": self.path.name, "problem": self.problem}
        m = self.manifest
        metrics = (m.get("metrics") or {}).get("members_vs_test") or {}
        return {"pair": self.path.name, "method": m["method"], "arch": m["backbone"]["arch"],
                "family": m["backbone"].get("family"), "taps": m.get("tap_depth") or "+".join(m["taps"]),
                "dataset": m["dataset"]["name"], "members": m["splits"]["sizes"]["members"],
                "balanced_accuracy": metrics.get("balanced_accuracy"), "auc": metrics.get("auc"),
                "tpr_at_1pct_fpr": metrics.get("tpr_at_1pct_fpr"),
                "task_accuracy": (m.get("metrics") or {}).get("task_accuracy")}


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
