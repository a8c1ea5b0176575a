"""Our error types. Each message is one line a user can act on, naming the file, row or field.

Every entry point turns ``SentilensError`` into that line (exit status 2 on the command line, a
message box in the app); anything else is a bug and keeps its traceback for the log.
"""

from __future__ import annotations

import re

__all__ = ["DataError", "ExportError", "InputError", "ModelError", "SentilensError"]

_BREAKS = re.compile(r"\s*[\r\n\u2028\u2029\x85\x0b\x0c]+\s*")


class SentilensError(Exception):
    """Base of every error we raise on purpose. The message is kept to one line whatever it
    quotes (a library's multi-line error, a value read from a file)."""

    def __init__(self, message: str = "", *args: object):
        super().__init__(_BREAKS.sub(" / ", str(message)).strip(), *args)


class DataError(SentilensError, ValueError):
    """A source that cannot be read; the message names the file (and row) and the problem."""


class ModelError(SentilensError, RuntimeError):
    """A model directory that is missing, damaged or inconsistent; the message names the file."""


class InputError(SentilensError, ValueError):
    """Input a user typed or sent that we refuse; the message says how to fix it."""


class ExportError(SentilensError, RuntimeError):
    """An exported graph that is not what serving expects, or that disagrees with Keras."""
