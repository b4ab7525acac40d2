"""A background sweep while the app serves: expired session pairs and abandoned partial uploads.

Gradio writes an upload to a `tmp*` file at the root of its cache folder and moves it into a hashed
sub-folder once complete; a client that disconnects mid-upload leaves that file behind, and Gradio's own
`delete_cache` never sees it. A partial file still being written has a fresh modification time, so only
files untouched for `AMINT_UPLOAD_STALE_S` seconds are removed.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from gradio.utils import get_upload_folder

from amint_demo.ui import registry, sessions

SWEEP_EVERY_S = 60.0
UPLOAD_STALE_S = 300.0
_started = threading.Event()


def stale_partial_uploads(folder: Path, max_age_s: float, now: float) -> list[Path]:
    """Root-level `tmp*` files of Gradio's upload folder untouched for more than `max_age_s` seconds."""
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        try:
            if entry.name.startswith("tmp") and entry.is_file() and now - entry.stat().st_mtime > max_age_s:
                found.append(entry)
        except OSError:  # removed meanwhile
            continue
    return found


def sweep(now: float | None = None) -> list[Path]:
    """One pass: prune session pairs (expiry and caps), delete stale partial uploads. Returns what was removed."""
    now = time.time() if now is None else now
    removed = sessions.prune(registry.SESSION_ROOT, sessions.SessionPolicy.from_env(), now=now)
    stale_s = float(os.environ.get("AMINT_UPLOAD_STALE_S", UPLOAD_STALE_S))
    for partial in stale_partial_uploads(Path(get_upload_folder()), stale_s, now):
        partial.unlink(missing_ok=True)
        removed.append(partial)
    return removed


def _loop(every_s: float) -> None:
    while True:
        time.sleep(every_s)
        try:
            sweep()
        except OSError:  # a full or read-only disk must not stop the next sweep
            continue


def start() -> bool:
    """Start the sweeping daemon thread once per process (every `AMINT_HOUSEKEEPING_S`, 0 = never).
    Returns whether this call started it."""
    every_s = float(os.environ.get("AMINT_HOUSEKEEPING_S", SWEEP_EVERY_S))
    if every_s <= 0 or _started.is_set():
        return False
    _started.set()
    threading.Thread(target=_loop, args=(every_s,), name="amint-housekeeping", daemon=True).start()
    return True
