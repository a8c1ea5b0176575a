"""The app in a process of its own: ``python -m serve`` started on a free loopback port, ready once it
answers, stopped with SIGTERM. The load benchmarks (``bench.load``, ``bench.interaction``...) and the tests
that talk to the app in a process use it, so neither imports the other."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from sentilens.ports import free_port

__all__ = ["ROOT", "Server", "free_port"]

ROOT = Path(__file__).resolve().parents[2]


class Server:
    def __init__(self, *args: str, env: dict | None = None, log: Path | None = None, root: Path = ROOT):
        """``root``: the checkout whose ``serve`` runs (another revision's, to compare in one run)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = open(log or os.devnull, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "serve", "--host", "127.0.0.1", "--port", str(self.port), *args],
            cwd=root, stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})},
        )
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {log}")
            try:
                urllib.request.urlopen(self.url + "gradio_api/info", timeout=2)  # noqa: S310 - loopback
                return
            except urllib.error.HTTPError:  # it answers (401 behind a login): it is up
                return
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.5)
        self.stop()
        raise RuntimeError("server did not start within 90 s")

    def kill(self) -> None:
        """SIGKILL: no chance to flush or clean up, as in a crash."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
