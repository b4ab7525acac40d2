"""Serve app.py in a subprocess on a free loopback port (tests, screenshots, benchmarks, load scripts)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from collections.abc import Callable
from types import TracebackType

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalApp:
    """Context manager: starts `app.py` (own session and Gradio cache folders under `workdir`, analytics off),
    waits until GET / answers 200, and always stops it. `url`, `start_seconds` (process start to ready),
    `log()` and `children(marker)` are available inside. `preexec_fn` runs in the child before app.py
    (e.g. resource limits)."""

    def __init__(self, workdir: Path, cwd: Path = ROOT, script: Path = ROOT / "app.py", timeout: float = 120.0,
                 env: dict[str, str] | None = None, preexec_fn: Callable[[], None] | None = None) -> None:
        self.workdir, self.cwd, self.script, self.timeout = Path(workdir), Path(cwd), Path(script), timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.session_dir, self.gradio_dir = self.workdir / "sessions", self.workdir / "gradio"
        self.env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", GRADIO_SERVER_PORT=str(self.port),
                        GRADIO_SERVER_NAME="127.0.0.1", AMINT_SESSION_DIR=str(self.session_dir),
                        GRADIO_TEMP_DIR=str(self.gradio_dir)) | (env or {})
        self.preexec_fn = preexec_fn
        self.log_file = self.workdir / "app.log"
        self.process: subprocess.Popen | None = None
        self.start_seconds = float("nan")

    def log(self, chars: int = 3000) -> str:
        return self.log_file.read_text(errors="replace")[-chars:] if self.log_file.is_file() else ""

    def __enter__(self) -> LocalApp:
        self.workdir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        with self.log_file.open("w") as sink:
            self.process = subprocess.Popen([sys.executable, str(self.script)], cwd=self.cwd, env=self.env,
                                            stdout=sink, stderr=subprocess.STDOUT, preexec_fn=self.preexec_fn)
        try:
            self._wait_ready(started)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.perf_counter() - started
        return self

    def _wait_ready(self, started: float) -> None:
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"app.py exited with code {self.process.returncode} before serving:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.perf_counter() - started > self.timeout:
                raise RuntimeError(f"app.py did not answer GET / within {self.timeout:.0f} s:\n{self.log()}")
            time.sleep(0.1)

    def children(self, marker: str) -> list[int]:
        """PIDs of the server's child processes whose command line contains `marker` (Linux /proc)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                if parent == self.process.pid and marker in (stat.parent / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(stat.parent.name))
            except (OSError, ValueError, IndexError):
                continue
        return found

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
