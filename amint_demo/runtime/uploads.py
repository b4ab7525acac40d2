"""Bounds on what visitors can upload: one request's size (an ASGI middleware in front of Gradio's upload route,
which otherwise takes up to 1,000 files of `max_file_size` each) and the upload folder's total size (the sweep)."""
from __future__ import annotations

import os
import stat
import time
from pathlib import Path

UPLOAD_PATH_SUFFIX = "/upload"
FRESH_S = 60.0  # files younger than this are being written or about to be read: never swept for size


class UploadLimit:
    """ASGI middleware: a POST to an upload route may carry at most `max_bytes`, by its Content-Length and by what
    it actually sends; beyond that it gets 413 and nothing of it is stored."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].rstrip("/").endswith(
                UPLOAD_PATH_SUFFIX):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    return {"type": "http.disconnect"}  # the parser sees a client that left: nothing is kept
            return message

        await self.app(scope, counted, send)

    async def _refuse(self, send) -> None:
        body = f"an upload may carry at most {self.max_bytes // 2**20} MiB".encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def cap_folder(folder: Path, max_bytes: int, now: float | None = None) -> list[Path]:
    """Delete the oldest regular files under `folder` (links never followed, files younger than FRESH_S kept)
    until its files total at most `max_bytes`. Returns what was removed."""
    now = time.time() if now is None else now
    files = []
    for top, _, names in os.walk(folder):
        for name in names:
            path = Path(top) / name
            try:
                info = path.lstat()
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                files.append((info.st_mtime, info.st_size, path))
    total = sum(size for _, size, _ in files)
    removed = []
    for modified, size, path in sorted(files):
        if total <= max_bytes:
            break
        if now - modified < FRESH_S:
            continue
        path.unlink(missing_ok=True)
        total -= size
        removed.append(path)
    return removed
