"""The app in a process of its own, for a test: ``serve.app.process`` starts and stops it (the load
benchmarks use the same helper; tests import nothing from bench/)."""

from __future__ import annotations

from serve.app.process import ROOT, Server, free_port

__all__ = ["ROOT", "Server", "free_port"]
