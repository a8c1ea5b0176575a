"""The app in a process of its own, for a test: ``bench.server`` starts and stops it (the load
benchmark uses the same helper, and the product and bench never import from tests/)."""

from __future__ import annotations

from bench.server import ROOT, Server, free_port

__all__ = ["ROOT", "Server", "free_port"]
