"""A background sweep while the app serves: expired session pairs and abandoned partial uploads.

Gradio writes an upload to a `tmp*` file at the root of its cache folder and moves it into a hashed
sub-folder once complete; a client that disconnects mid-upload leaves that file behind, and Gradio's own
`delete_cache` never sees it. A partial file still being written has a fresh modification time, so only
files untouched for `AMINT_UPLOAD_STALE_S` seconds are removed.
"""
from __future__ import annotations

import logging
import os
import re
import stat
import tempfile
import threading
import time
from pathlib import Path

from gradio.utils import get_upload_folder

from amint_demo.ui import registry, sessions

SWEEP_EVERY_S = 60.0
UPLOAD_STALE_S = 300.0
# tempfile.NamedTemporaryFile's names, as Gradio creates them: "tmp" + 8 characters.
PARTIAL_UPLOAD_NAME = re.compile(r"tmp[a-z0-9_]{8}")
_started = threading.Event()
_log = logging.getLogger(__name__)


def stale_partial_uploads(folder: Path, max_age_s: float, now: float) -> list[Path]:
    """Gradio's partial-upload files at the root of its upload folder, untouched for more than `max_age_s`
    seconds: regular files (not links) of this user named like `tmpXXXXXXXX`. Nothing is ever returned for
    the system's shared temporary folder itself (a GRADIO_TEMP_DIR set to /tmp)."""
    if not folder.is_dir() or folder.resolve() == Path(tempfile.gettempdir()).resolve():
        return []
    found = []
    for entry in folder.iterdir():
        try:
            info = entry.lstat()
        except OSError:  # removed meanwhile
            continue
        if (PARTIAL_UPLOAD_NAME.fullmatch(entry.name) and stat.S_ISREG(info.st_mode)
                and info.st_uid == os.getuid() and now - info.st_mtime > max_age_s):
            found.append(entry)
    return found


def sweep(now: float | None = None, upload_stale_s: float = UPLOAD_STALE_S) -> list[Path]:
    """One pass: prune session pairs (expiry and caps), delete stale partial uploads. Returns what was removed."""
    now = time.time() if now is None else now
    removed = sessions.prune(registry.SESSION_ROOT, sessions.SessionPolicy.from_env(), now=now)
    for partial in stale_partial_uploads(Path(get_upload_folder()), upload_stale_s, now):
        partial.unlink(missing_ok=True)
        removed.append(partial)
    return removed


def _loop(every_s: float, upload_stale_s: float) -> None:
    while True:  # a first pass at start-up (what a previous run left), then every `every_s`
        try:
            sweep(upload_stale_s=upload_stale_s)
        except Exception:  # noqa: BLE001 - a failed pass (full disk, a race) must not stop the next one
            _log.exception("housekeeping sweep failed; trying again in %.0f s", every_s)
        time.sleep(every_s)


def start() -> bool:
    """Start the sweeping daemon thread once per process: a pass now, then every `AMINT_HOUSEKEEPING_S`
    seconds (0 = never); partial uploads count as abandoned after `AMINT_UPLOAD_STALE_S`. Returns whether
    this call started it."""
    every_s = float(os.environ.get("AMINT_HOUSEKEEPING_S", SWEEP_EVERY_S))
    upload_stale_s = float(os.environ.get("AMINT_UPLOAD_STALE_S", UPLOAD_STALE_S))
    if every_s <= 0 or _started.is_set():
        return False
    _started.set()
    threading.Thread(target=_loop, args=(every_s, upload_stale_s), name="amint-housekeeping", daemon=True).start()
    return True
