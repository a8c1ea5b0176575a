"""Counts in words: ``1 word``, ``2 words``. Every count a person reads goes through ``count``."""

from __future__ import annotations

__all__ = ["count"]


def count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
