"""Which pairs the app offers: the committed ones (by folder name) and a visitor's own session pairs (by path),
loaded once and cached."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from amint_demo.errors import InvalidPair
from amint_demo.methods import method_rank
from amint_demo.pairs import MANIFEST_FILE, NO_TAP, Pair, PairSummary, list_pairs, load_pair
from amint_demo.runtime.sessions import inside

EXPIRED = "this pair is no longer available (session pairs expire): choose another one"


@lru_cache(maxsize=16)
def _load(path: str, stamp: float) -> Pair:
    return load_pair(path, device="auto")


class PairRegistry:
    """The committed pairs under `pairs_dir` and visitors' pairs under `session_dir`; nothing else can be named."""

    def __init__(self, pairs_dir: Path, session_dir: Path) -> None:
        self.pairs_dir, self.session_dir = Path(pairs_dir), Path(session_dir)

    def summaries(self, session_pairs: list[str] | None = None) -> list[PairSummary]:
        """Loadable pairs: the committed ones, then the session's (newest last)."""
        found = list_pairs(self.pairs_dir) if self.pairs_dir.is_dir() else []
        for path in session_pairs or []:
            if Path(path).is_dir():
                found += list_pairs(path)
        return [s for s in found if s.problem is None]

    def pair_value(self, path: Path) -> str:
        """What the page and the API call a pair: its folder name for a committed pair (the same on every
        machine), the full path for a session pair."""
        return path.name if path.parent.resolve() == self.pairs_dir.resolve() else str(path)

    def resolve(self, value: str) -> Path:
        """Inverse of `pair_value`. Only committed pairs and session pairs can be named: any other path a
        client sends (the API takes free text) is refused, so the page never reads outside the app's folders."""
        unknown = InvalidPair(f"unknown pair {value[:80]!r}: choose one from the list")
        try:
            named = self.pairs_dir / value
            if value and "/" not in value and "\\" not in value and value not in (".", "..") and named.is_dir():
                return named
            path = Path(value)
            if not path.is_absolute() or not (inside(path, self.session_dir) or inside(path, self.pairs_dir)):
                raise unknown
            if not (path / MANIFEST_FILE).is_file():
                raise InvalidPair(EXPIRED)
        except (OSError, ValueError):  # names too long for the file system, NUL bytes, ...
            raise unknown from None
        return path

    @staticmethod
    def label(summary: PairSummary) -> str:
        row = summary.row()
        metrics = f" · AUC {row['auc']:.2f}, acc@0.5 {row['balanced_accuracy']:.2f}" if row.get("auc") is not None else ""
        tap = "no tap" if row["taps"] == NO_TAP else f"{row['taps']} tap"
        return f"{row['family']} · {row['method']} · {tap}{metrics} ({row['pair']})"

    def choices(self, session_pairs: list[str] | None = None) -> list[tuple[str, str]]:
        """Dropdown choices (label, value), grouped by family, then method (registry order) and tap."""
        items = self.summaries(session_pairs)
        items.sort(key=lambda s: (s.manifest.family, method_rank(s.manifest.method), s.manifest.tap_label))
        return [(self.label(s), self.pair_value(s.path)) for s in items]

    def default_pair(self, session_pairs: list[str] | None = None) -> str | None:
        """The best pair of the joint method (aMINT) by stored AUC, else the first pair."""
        items = self.summaries(session_pairs)
        joint = [s for s in items if s.manifest.method_info.joint and s.manifest.metrics is not None]
        if joint:
            return self.pair_value(max(joint, key=lambda s: s.manifest.metrics.members_vs_test.auc).path)
        return self.pair_value(items[0].path) if items else None

    def get_pair(self, value: str) -> Pair:
        """Cached load (bounded) of a pair by its page value; a pair rewritten on disk is reloaded."""
        path = self.resolve(value)
        try:
            stamp = (path / MANIFEST_FILE).stat().st_mtime
        except FileNotFoundError:
            raise InvalidPair(EXPIRED) from None
        return _load(str(path), stamp)

    def family_of_pair(self, value: str) -> str:
        return self.get_pair(value).manifest.family
