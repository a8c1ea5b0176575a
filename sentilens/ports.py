"""A free TCP port on 127.0.0.1, for the local servers the product starts (the app in a process, a Spark
master and its workers): one definition for every room that starts one."""

from __future__ import annotations

import socket

__all__ = ["free_port"]


def free_port() -> int:
    """A port nothing listens on now (the OS picks it; another process could take it before use)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
