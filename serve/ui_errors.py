"""Handler wrapper: what the user can fix becomes a message box, anything else a short notice.

Never a traceback in the page: Gradio shows ``gr.Error`` text as it is.
"""

from __future__ import annotations

import functools
import logging

import gradio as gr

from serve.analysis import InputError

log = logging.getLogger("sentilens")


def user_errors(fn):
    """``InputError`` -> its message; anything unexpected -> a short notice, traceback to the server log."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except InputError as err:
            raise gr.Error(str(err), print_exception=False) from None
        except gr.Error:
            raise
        except Exception as err:  # noqa: BLE001 - never a traceback in the page
            log.exception("handler %s failed", getattr(fn, "__name__", fn))
            raise gr.Error(f"Something went wrong ({type(err).__name__}); the input was not changed.") from None

    return wrapper
