"""The page: the title, the tabs in their order and the API, and the options ``launch()`` needs.

Each tab is a module of its own that follows one contract (``serve.app.tab``): Analyze, Data,
Annotate and Team (when reviews are loaded for annotation), Compare (with a second model) and Model.
Handlers raise ``InputError`` for anything the user can fix and ``serve.app.ui_safety.user_errors``
turns it into a message box; review text reaches the page only through ``serve.app.review_view``
(escaped) or components that render it as text.
"""

from __future__ import annotations

import gradio as gr

from serve.app.analyze_tab import AnalyzeTab
from serve.app.api import build_api
from serve.app.data_tab import DataTab
from serve.app.logins import LoginAddress
from serve.app.model_tab import ModelTab
from serve.app.palette import css as palette_css
from serve.app.queue_limits import BodyLimit
from serve.app.review_view import asset
from serve.app.tab import Tab, TabContext
from serve.app.team_tab import TeamTab
from serve.app.uploads import MAX_UPLOAD_BYTES
from serve.runtime import SentimentModel

__all__ = ["TITLE", "build_app", "launch_options", "open_named_tab", "page_tabs", "theme"]

TITLE = "sentilens"
# for the page head: Annotate's keys and drafts, names for Gradio's upload buttons that match what they
# show, Analyze's what-if edits, the API page in our words (and the footer's icons), the open tab in the URL
HEAD = "".join(f"<script>\n{asset(name)}</script>\n" for name in ("shortcuts.js", "drafts.js", "upload_names.js",
                                                                 "whatif.js", "api_docs.js", "tab_url.js"))


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


def launch_options(host: str = "127.0.0.1", allowed_hosts: tuple[str, ...] = ()) -> dict:
    """What ``launch()`` needs besides host/port/auth (Gradio 6 takes head/css there, not in Blocks),
    a check of every request's Host (loopback, the bound address and ``allowed_hosts`` only), a bound on
    every request's body (``serve.app.queue_limits.BodyLimit``) and the address of each login attempt
    (``serve.app.logins.LoginAddress``: a name's line of attempts holds few from one address)."""
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    hosts = [*LOOPBACK_NAMES, *allowed_hosts] + ([host] if host not in ("0.0.0.0", "::") else [])
    return {"show_error": False, "max_file_size": MAX_UPLOAD_BYTES, "head": HEAD,
            "css": palette_css() + asset("review.css") + asset("data.css") + asset("api_docs.css"),
            "theme": theme(),
            "app_kwargs": {"middleware": [Middleware(TrustedHostMiddleware, allowed_hosts=hosts),
                                          Middleware(BodyLimit), Middleware(LoginAddress)]}}


def theme() -> gr.themes.Base:
    """Gradio's default look with text that passes WCAG AA in light and dark mode: primary buttons and
    the accent (the selected tab's name) a shade darker (white on orange-600 is 3.6:1, on orange-700 5.2:1)."""
    return gr.themes.Default().set(color_accent="*primary_700",
                                   button_primary_background_fill="*primary_700",
                                   button_primary_background_fill_dark="*primary_700",
                                   button_primary_background_fill_hover="*primary_800",
                                   button_primary_background_fill_hover_dark="*primary_800",
                                   button_primary_text_color="white", button_primary_text_color_dark="white")


def page_tabs(model: SentimentModel, annotate=None, compare=None) -> list[Tab]:
    """The tabs in the order of the page: Annotate and Team with reviews to annotate, Compare with a
    second model. A new tab is a module with a class that follows ``serve.app.tab.Tab``, and a line here."""
    tabs: list[Tab] = [AnalyzeTab(model), DataTab(model, compare.b if compare is not None else None,  # B: Data too
                                                  annotating=annotate is not None)]  # a slice can go to Annotate
    if annotate is not None:
        tabs += [annotate, TeamTab(model, annotate.store, annotate.learning)]
    if compare is not None:
        tabs.append(compare)
    return [*tabs, ModelTab(model)]


def build_app(model: SentimentModel, annotate=None, compare=None, address: str | None = None) -> gr.Blocks:
    """The whole UI. ``annotate`` is a ``serve.app.annotate_tab.AnnotateTab`` or None; ``compare`` a
    ``serve.app.compare_tab.CompareTab`` (a second model) or None; ``address``, the URL the app is served
    on when known, goes into the API page's examples."""
    # Uploads land in Gradio's temporary folder: files older than an hour are removed every ten minutes.
    with gr.Blocks(title=TITLE, delete_cache=(600, 3600)) as app:
        build_api(model, address)  # first: /predict and /explain lead the API page
        saved = annotate.browser_state() if annotate is not None else None
        gr.Markdown(f"# {TITLE}\nScore a movie review, see which words moved the score (blue toward positive, "
                    f"red toward negative), and the numbers the model really reads.")
        with gr.Tabs() as tabs:
            context = TabContext(app, tabs, saved=saved)
            pages = page_tabs(model, annotate, compare)
            for page in pages:
                with gr.Tab(page.title, id=page.id) as tab:
                    context.tab = tab
                    page.render(context)
        open_named_tab(app, tabs, [page.id for page in pages])
    return app


def open_named_tab(app: gr.Blocks, tabs: gr.Tabs, ids: list[str]) -> None:
    """A reload or a shared link opens the tab its address names (``?tab=annotate``; assets/tab_url.js
    writes it whenever a tab is opened): selected on page load, an unknown name is ignored."""

    def named(request: gr.Request):
        wanted = request.query_params.get("tab") if request is not None else None
        return gr.Tabs(selected=wanted) if wanted in ids and wanted != ids[0] else gr.skip()

    app.load(named, None, tabs, show_progress="hidden", api_visibility="private")
