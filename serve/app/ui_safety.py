"""The only ways text reaches the page as something other than plain text, all escaped here.

Gradio renders ``gr.Error``/``gr.Info`` messages as HTML and ``gr.Markdown`` as Markdown, and
our messages quote what people send (file names, ids, labels, words). So:

- ``user_errors`` wraps every handler: our errors (``SentilensError``: bad input, an unreadable
  file, a damaged model) become a message box with their sentence, HTML-escaped; anything else
  is a bug: a short notice in the page, the traceback in the server log, never in the page.
- ``info`` shows a notice, escaped the same way.
- ``md_literal`` makes any user-controlled string inert inside Markdown (no link, image,
  emphasis or HTML can form from it).
"""

from __future__ import annotations

import functools
import html
import logging

import gradio as gr

from sentilens.errors import SentilensError

__all__ = ["as_html_text", "info", "md_literal", "user_errors", "warn"]

log = logging.getLogger("sentilens")
_MARKDOWN_SYNTAX = {ord(c): f"&#{ord(c)};" for c in "`*_[]()#|\\~<>!{}:+-=.&\"'"}


def as_html_text(message: str) -> str:
    """A message Gradio will render as HTML (element content), shown as the text it is: no tag can
    form without ``<`` and no entity without ``&``; quotes stay readable for API clients."""
    return html.escape(str(message), quote=False)


def md_literal(text: str) -> str:
    """User-controlled text inside Markdown, inert: every character Markdown or HTML could act on
    becomes a numeric entity, newlines become spaces."""
    return " ".join(str(text).split()).translate(_MARKDOWN_SYNTAX)


def info(message: str) -> None:
    gr.Info(as_html_text(message))


def warn(message: str) -> None:
    """A missing choice the person can simply make: said in a toast, with every output left as it was
    (an error would mark each output of the event as failed)."""
    gr.Warning(as_html_text(message))


def user_errors(fn):
    """``SentilensError`` -> its message (escaped); the server's disk failing (``OSError``: full, unwritable)
    -> one sentence with the system's reason; anything unexpected -> a short notice, traceback to the log."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SentilensError as err:
            raise gr.Error(as_html_text(str(err)), print_exception=False) from None
        except gr.Error:
            raise
        except OSError as err:  # the server's disk or files (full, unwritable): the person can only be told
            log.warning("handler %s: %s", getattr(fn, "__name__", fn), err)
            why = err.strerror or type(err).__name__
            raise gr.Error(as_html_text(f"The server could not read or write a file ({why}); try again, or tell "
                                        "whoever runs the app."),
                           print_exception=False) from None
        except Exception as err:  # noqa: BLE001 - never a traceback in the page
            log.exception("handler %s failed", getattr(fn, "__name__", fn))
            raise gr.Error(f"Something went wrong ({type(err).__name__}); the input was not changed.") from None

    return wrapper
