"""A background sweep while the app serves: expired session pairs and abandoned partial uploads.

Gradio writes an upload to a `tmp*` file at the root of its cache folder and moves it into a hashed
sub-folder once complete; a client that disconnects mid-upload leaves that file behind, and Gradio's own
`delete_cache` never sees it. A partial file still being written has a fresh modification time, so only
files untouched for `Settings.upload_stale_s` seconds are removed.
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

from amint_demo.runtime import sessions
from amint_demo.runtime.uploads import cap_folder
from amint_demo.settings import Settings

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


def sweep(settings: Settings, now: float | None = None) -> list[Path]:
    """One pass: prune session pairs (expiry and caps), delete stale partial uploads, and keep Gradio's upload
    folder under its cap (oldest first). Returns what was removed."""
    now = time.time() if now is None else now
    removed = sessions.prune(settings.resolved_session_dir(), sessions.SessionPolicy.from_settings(settings), now=now)
    folder = Path(get_upload_folder())
    for partial in stale_partial_uploads(folder, settings.upload_stale_s, now):
        partial.unlink(missing_ok=True)
        removed.append(partial)
    if folder.is_dir() and folder.resolve() != Path(tempfile.gettempdir()).resolve():
        removed += cap_folder(folder, int(settings.upload_folder_max_mb * 2**20), now)
    return removed


def _loop(settings: Settings) -> None:
    while True:  # a first pass at start-up (what a previous run left), then every `housekeeping_s`
        try:
            sweep(settings)
        except Exception:  # noqa: BLE001 - a failed pass (full disk, a race) must not stop the next one
            _log.exception("housekeeping sweep failed; trying again in %.0f s", settings.housekeeping_s)
        time.sleep(settings.housekeeping_s)


def start(settings: Settings) -> bool:
    """Start the sweeping daemon thread once per process: a pass now, then every `settings.housekeeping_s`
    seconds (0 = never). Returns whether this call started it."""
    if settings.housekeeping_s <= 0 or _started.is_set():
        return False
    _started.set()
    threading.Thread(target=_loop, args=(settings,), name="amint-housekeeping", daemon=True).start()
    return True
