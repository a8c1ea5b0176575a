"""One error style in the UI: ``user_errors`` wraps every handler.

Our errors (``SentilensError``: bad input, an unreadable file, a damaged model) become a message
box with their sentence; anything else is a bug: a short notice in the page, the traceback in
the server log. Never a traceback in the page.
"""

from __future__ import annotations

import functools
import logging

import gradio as gr

from sentilens.errors import SentilensError

log = logging.getLogger("sentilens")


def user_errors(fn):
    """``SentilensError`` -> its message; anything unexpected -> a short notice, traceback to the log."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SentilensError as err:
            raise gr.Error(str(err), print_exception=False) from None
        except gr.Error:
            raise
        except Exception as err:  # noqa: BLE001 - never a traceback in the page
            log.exception("handler %s failed", getattr(fn, "__name__", fn))
            raise gr.Error(f"Something went wrong ({type(err).__name__}); the input was not changed.") from None

    return wrapper
