"""Visitors' own pairs under the session folder: where they go, and when they expire.

Layout: SESSION_ROOT/<session key>/<pair name>/ (+ <pair name>.zip, the download). A pair expires after a
time to live; beyond a cap on their number or total size the oldest go first, so a busy Space cannot fill
its disk. Leftovers of interrupted work (hidden folders) are removed once they are older than a grace period.
"""
from __future__ import annotations

import os
import shutil
import stat
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
    """How long and how much visitors' pairs are kept, in all and per visitor."""

    ttl_s: float = 4 * 3600.0
    max_pairs: int = 40
    max_bytes: int = 2 * 2**30
    max_pairs_per_session: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        return cls(settings.session_ttl_s, settings.session_max_pairs, int(settings.session_max_mb * 2**20),
                   settings.session_max_pairs_per_visitor)


@dataclass(frozen=True)
class StoredPair:
    """A visitor's pair folder and its download, if any."""

    folder: Path
    modified: float
    size: int

    @property
    def archive(self) -> Path:
        return self.folder.with_suffix(".zip")

    @property
    def session(self) -> str:
        return self.folder.parent.name


def secure_root(root: Path) -> Path:
    """Create the session root readable by this user only (0700), or check that an existing one is a real folder
    of this user, and make it 0700. Raises PermissionError otherwise (another user's or a link: never serve it)."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = root.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise PermissionError(f"the session folder {root} is not a real folder")
    if info.st_uid != os.getuid():
        raise PermissionError(f"the session folder {root} belongs to another user")
    if stat.S_IMODE(info.st_mode) != 0o700:
        root.chmod(0o700)
    return root


def _real_dirs(folder: Path) -> list[Path]:
    """The real sub-folders of `folder`; symbolic links found there are removed (the app never makes any), never
    followed."""
    found = []
    for entry in os.scandir(folder):
        if entry.is_symlink():
            Path(entry.path).unlink(missing_ok=True)
        elif entry.is_dir(follow_symlinks=False):
            found.append(Path(entry.path))
    return found


def _size(path: Path) -> int:
    """Bytes of the files under `path` (or of the file), links not followed; files removed meanwhile count 0."""
    def size(file: str) -> int:
        try:
            info = os.lstat(file)
        except OSError:
            return 0
        return info.st_size if stat.S_ISREG(info.st_mode) else 0
    if not path.is_dir() or path.is_symlink():
        return size(str(path))
    return sum(size(os.path.join(top, name)) for top, _, files in os.walk(path) for name in files)


def stored_pairs(root: Path) -> list[StoredPair]:
    """Every complete session pair under `root` (real folders only), oldest first."""
    found = []
    for session in _real_dirs(root):
        for folder in _real_dirs(session):
            manifest = folder / MANIFEST_FILE
            if folder.name.startswith(".") or not manifest.is_file() or manifest.is_symlink():
                continue
            archive = folder.with_suffix(".zip")
            found.append(StoredPair(folder, manifest.stat().st_mtime, _size(folder) + _size(archive)))
    return sorted(found, key=lambda p: p.modified)


def _remove(pair: StoredPair) -> None:
    shutil.rmtree(pair.folder, ignore_errors=True)  # never follows links: refuses a linked root, unlinks links inside
    if not pair.archive.is_symlink():
        pair.archive.unlink(missing_ok=True)


def prune(root: Path, policy: SessionPolicy, now: float | None = None, reserve: int = 0,
          session: str | None = None) -> list[Path]:
    """Delete expired pairs; then each visitor's oldest beyond `max_pairs_per_session` (`reserve` fewer for
    `session`, about to write one); then the oldest until at most `max_pairs - reserve` remain within
    `max_bytes`; also stray temporary entries and orphaned zips past the grace period, and empty session
    folders. Links are removed, never followed. Returns the pair folders removed."""
    with _PRUNE_LOCK:
        try:
            return _prune(root, policy, time.time() if now is None else now, reserve, session)
        except FileNotFoundError:  # something vanished under us (a finished download, a closed job): next time
            return []


def _prune(root: Path, policy: SessionPolicy, now: float, reserve: int, session: str | None) -> list[Path]:
    if not root.is_dir() or root.is_symlink():
        return []
    removed, kept = [], []
    for pair in stored_pairs(root):
        (removed if now - pair.modified > policy.ttl_s else kept).append(pair)
    per_session: dict[str, list[StoredPair]] = {}
    for pair in kept:
        per_session.setdefault(pair.session, []).append(pair)
    for name, pairs in per_session.items():
        quota = max(0, policy.max_pairs_per_session - (reserve if name == session else 0))
        removed += pairs[:max(0, len(pairs) - quota)]
    kept = [p for p in kept if p not in removed]
    while kept and (len(kept) > max(0, policy.max_pairs - reserve) or sum(p.size for p in kept) > policy.max_bytes):
        removed.append(kept.pop(0))
    for pair in removed:
        _remove(pair)
    for folder in _real_dirs(root):
        for entry in os.scandir(folder):
            path = Path(entry.path)
            if entry.is_symlink():
                path.unlink(missing_ok=True)
                continue
            try:
                stale = now - entry.stat(follow_symlinks=False).st_mtime > STRAY_GRACE_S
            except FileNotFoundError:  # removed meanwhile
                continue
            orphan_zip = path.suffix == ".zip" and not path.with_suffix("").is_dir()
            if stale and (path.name.startswith(".") or orphan_zip):
                shutil.rmtree(path, ignore_errors=True) if entry.is_dir(follow_symlinks=False) else path.unlink(missing_ok=True)
        if not any(folder.iterdir()):
            try:
                folder.rmdir()
            except OSError:  # a training run just created something in it
                pass
    return [p.folder for p in removed]


def inside(path: Path, root: Path) -> bool:
    """Whether `path` (resolved, links followed) lies under `root`."""
    return path.resolve().is_relative_to(root.resolve())
