"""The tab contract (serve.app.tab): every tab of the page is a module whose class has a title, an id and
``render(context)``, and the page is built from that list alone, in its order."""

import inspect

from serve.app.blocks import build_app, page_tabs
from serve.app.compare_tab import CompareTab
from serve.app.tab import TabContext
from serve.runtime import SentimentModel
from serve.store.annotations import AnnotationStore
from tests.conftest import ROOT


def test_every_tab_follows_one_contract_and_lives_in_a_module_of_its_own(tiny_model_dir, tmp_path):
    from serve.app.annotate_tab import AnnotateTab

    model = SentimentModel(tiny_model_dir)
    store = AnnotationStore(tmp_path / "a.db")
    tabs = page_tabs(model, AnnotateTab(model, store), CompareTab(model, SentimentModel(tiny_model_dir), store))
    assert [t.title for t in tabs] == ["Analyze", "Data", "Annotate", "Team", "Compare", "Model"]
    assert len({t.id for t in tabs}) == len(tabs)
    for tab in tabs:
        assert list(inspect.signature(tab.render).parameters) == ["context"], type(tab).__name__
        assert inspect.signature(tab.render).parameters["context"].annotation in (TabContext, "TabContext")
        module = inspect.getmodule(type(tab))
        assert module.__name__ == f"serve.app.{tab.id}_tab", module.__name__
        assert (ROOT / "serve" / "app" / f"{tab.id}_tab.py").exists()
    assert [t.title for t in page_tabs(model)] == ["Analyze", "Data", "Model"]


def test_the_page_shows_the_tabs_of_the_list_in_its_order(tiny_model_dir):
    import gradio as gr

    app = build_app(SentimentModel(tiny_model_dir))
    shown = [b.label for b in app.blocks.values() if isinstance(b, gr.Tab)]
    assert shown == ["Analyze", "Data", "Model"]
