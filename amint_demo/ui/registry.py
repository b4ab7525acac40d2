"""Which pairs the page offers (committed zoo + this visitor's session pairs), loaded once and cached."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path

from amint_demo.errors import InvalidPair
from amint_demo.pairs import Pair, PairSummary, list_pairs, load_pair
from amint_demo.ui import sessions

EXPIRED = "this pair is no longer available (session pairs expire): choose another one"
ROOT = Path(__file__).resolve().parents[2]
PAIR_ROOT = Path(os.environ.get("AMINT_PAIRS", ROOT / "pretrained"))
SESSION_ROOT = Path(os.environ.get("AMINT_SESSION_DIR", Path(tempfile.gettempdir()) / "amint_sessions"))
EXAMPLES_DIR = ROOT / "assets" / "examples"


def summaries(session_pairs: list[str] | None = None, root: Path = PAIR_ROOT) -> list[PairSummary]:
    """Loadable pairs: the committed ones, then the session's (newest last)."""
    found = list_pairs(root) if root.is_dir() else []
    for path in session_pairs or []:
        if Path(path).is_dir():
            found += list_pairs(path)
    return [s for s in found if s.problem is None]


def pair_value(path: Path, root: Path = PAIR_ROOT) -> str:
    """What the page and the API call a pair: its folder name for a committed pair (the same on every
    machine), the full path for a session pair."""
    return path.name if path.parent.resolve() == root.resolve() else str(path)


def resolve(value: str, root: Path | None = None) -> Path:
    """Inverse of `pair_value`. Only committed pairs and session pairs can be named: any other path a
    client sends (the API takes free text) is refused, so the page never reads outside the app's folders."""
    root = PAIR_ROOT if root is None else root
    unknown = InvalidPair(f"unknown pair {value[:80]!r}: choose one from the list")
    try:
        named = root / value
        if value and "/" not in value and "\\" not in value and value not in (".", "..") and named.is_dir():
            return named
        path = Path(value)
        if not path.is_absolute() or not (sessions.inside(path, SESSION_ROOT) or sessions.inside(path, root)):
            raise unknown
        if not (path / "manifest.json").is_file():
            raise InvalidPair(EXPIRED)
    except (OSError, ValueError):  # names too long for the file system, NUL bytes, ...
        raise unknown from None
    return path


def label(summary: PairSummary) -> str:
    row = summary.row()
    metrics = f" · AUC {row['auc']:.2f}, acc@0.5 {row['balanced_accuracy']:.2f}" if row.get("auc") is not None else ""
    return f"{row['family']} · {row['method']} · {row['taps']} tap{metrics} ({row['pair']})"


def choices(session_pairs: list[str] | None = None, root: Path = PAIR_ROOT) -> list[tuple[str, str]]:
    """Dropdown choices (label, path), grouped by family, method and tap."""
    items = summaries(session_pairs, root)
    items.sort(key=lambda s: (s.row()["family"], s.row()["method"] != "amint", s.row()["method"], s.row()["taps"]))
    return [(label(s), pair_value(s.path, root)) for s in items]


def default_pair(session_pairs: list[str] | None = None, root: Path = PAIR_ROOT) -> str | None:
    """The best aMINT pair by stored AUC (else the first pair)."""
    items = summaries(session_pairs, root)
    amint = [s for s in items if s.row()["method"] == "amint" and s.row().get("auc") is not None]
    if amint:
        return pair_value(max(amint, key=lambda s: s.row()["auc"]).path, root)
    return pair_value(items[0].path, root) if items else None


@lru_cache(maxsize=16)
def _load(path: str, stamp: float) -> Pair:
    return load_pair(path, device="auto")


def get_pair(value: str) -> Pair:
    """Cached load (bounded) of a pair by its page value; a pair rewritten on disk is reloaded."""
    path = resolve(value)
    try:
        stamp = (path / "manifest.json").stat().st_mtime
    except FileNotFoundError:
        raise InvalidPair(EXPIRED) from None
    return _load(str(path), stamp)


def family_of_pair(path: str) -> str:
    return get_pair(path).manifest["backbone"]["family"]


def examples() -> tuple[list[str], dict[str, dict]]:
    """Gallery image paths and their ground truth (file name -> {"member", "split", "label", ...})."""
    truth_file = EXAMPLES_DIR / "ground_truth.json"
    if not truth_file.is_file():
        return [], {}
    truth = json.loads(truth_file.read_text())["images"]
    return [str(EXAMPLES_DIR / name) for name in truth if (EXAMPLES_DIR / name).is_file()], truth


@lru_cache(maxsize=1)
def _truth_by_content() -> dict[str, dict]:
    paths, truth = examples()
    return {hashlib.sha256(Path(p).read_bytes()).hexdigest(): truth[Path(p).name] for p in paths}


def example_truth(image_path: str) -> dict | None:
    """Ground truth of a gallery example, recognised by its bytes (Gradio hands handlers a cached copy)."""
    path = Path(image_path)
    if not path.is_file() or path.stat().st_size > 1 << 20:
        return None
    return _truth_by_content().get(hashlib.sha256(path.read_bytes()).hexdigest())


def upload_examples() -> list[str]:
    """Real photos no pair has seen (assets/photos)."""
    folder = ROOT / "assets" / "photos"
    return sorted(str(p) for p in folder.glob("*.png")) if folder.is_dir() else []
