"""Visitors' own pairs under the session folder: where they go, and when they expire.

Layout: SESSION_ROOT/<session key>/<pair name>/ (+ <pair name>.zip, the download). A pair expires after a
time to live; beyond a cap on their number or total size the oldest go first, so a busy Space cannot fill
its disk. Leftovers of interrupted work (hidden folders) are removed once they are older than a grace period.
"""
from __future__ import annotations

import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from amint_demo.pairs import MANIFEST_FILE
from amint_demo.settings import Settings

STRAY_GRACE_S = 3600.0
_PRUNE_LOCK = threading.Lock()  # the housekeeping thread and a starting training may prune at once


@dataclass(frozen=True)
class SessionPolicy:
    """How long and how much visitors' pairs are kept."""

    ttl_s: float = 4 * 3600.0
    max_pairs: int = 40
    max_bytes: int = 2 * 2**30

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        return cls(settings.session_ttl_s, settings.session_max_pairs, int(settings.session_max_mb * 2**20))


@dataclass(frozen=True)
class StoredPair:
    """A visitor's pair folder and its download, if any."""

    folder: Path
    modified: float
    size: int

    @property
    def archive(self) -> Path:
        return self.folder.with_suffix(".zip")


def _size(path: Path) -> int:
    """Bytes under `path`; files removed meanwhile count as 0."""
    def size(file: Path) -> int:
        try:
            return file.stat().st_size if file.is_file() else 0
        except OSError:
            return 0
    return size(path) if path.is_file() else sum(size(p) for p in path.rglob("*"))


def stored_pairs(root: Path) -> list[StoredPair]:
    """Every complete session pair under `root`, oldest first."""
    found = []
    for manifest in root.glob(f"*/*/{MANIFEST_FILE}"):
        folder = manifest.parent
        if folder.name.startswith("."):
            continue
        archive = folder.with_suffix(".zip")
        size = _size(folder) + (_size(archive) if archive.is_file() else 0)
        found.append(StoredPair(folder, manifest.stat().st_mtime, size))
    return sorted(found, key=lambda p: p.modified)


def _remove(pair: StoredPair) -> None:
    shutil.rmtree(pair.folder, ignore_errors=True)
    pair.archive.unlink(missing_ok=True)


def prune(root: Path, policy: SessionPolicy, now: float | None = None, reserve: int = 0) -> list[Path]:
    """Delete expired pairs, then the oldest until at most `max_pairs - reserve` remain within `max_bytes`;
    also stray temporary folders and orphaned zips past the grace period, and empty session folders.
    Returns the pair folders removed."""
    with _PRUNE_LOCK:
        try:
            return _prune(root, policy, time.time() if now is None else now, reserve)
        except FileNotFoundError:  # something vanished under us (a finished download, a closed job): next time
            return []


def _prune(root: Path, policy: SessionPolicy, now: float, reserve: int) -> list[Path]:
    if not root.is_dir():
        return []
    removed = []
    kept = []
    for pair in stored_pairs(root):
        if now - pair.modified > policy.ttl_s:
            _remove(pair)
            removed.append(pair.folder)
        else:
            kept.append(pair)
    while kept and (len(kept) > max(0, policy.max_pairs - reserve) or sum(p.size for p in kept) > policy.max_bytes):
        oldest = kept.pop(0)
        _remove(oldest)
        removed.append(oldest.folder)
    for session in (p for p in root.iterdir() if p.is_dir()):
        for entry in session.iterdir():
            try:
                stale = now - entry.stat().st_mtime > STRAY_GRACE_S
            except FileNotFoundError:  # removed meanwhile
                continue
            orphan_zip = entry.suffix == ".zip" and not entry.with_suffix("").is_dir()
            if stale and (entry.name.startswith(".") or orphan_zip):
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
        if not any(session.iterdir()):
            try:
                session.rmdir()
            except OSError:  # a training run just created something in it
                pass
    return removed


def inside(path: Path, root: Path) -> bool:
    """Whether `path` (resolved, links followed) lies under `root`."""
    return path.resolve().is_relative_to(root.resolve())
