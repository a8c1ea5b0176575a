"""Issue 33 (the walk-through): the learn panel says in plain words what the audits did to a version:
refused (what and why, in one or two lines, nothing added to the lineage), accepted with findings (which
ones), or nothing found; and a refusal for another reason says that reason. Real learning on the tiny model."""

from __future__ import annotations

import re

import pytest

from serve.app.learn_panel import LearnPanel
from serve.learn.registry import Registry
from serve.learn.served import ServedModel
from serve.runtime import SentimentModel
from serve.store.annotations import AnnotationStore
from tests.test_learn import new_kind
from tests.test_poisoning import tiny_poison


def panel_with(labels_of: tuple[list[str], list[int]], tmp_path, tiny_model_dir) -> LearnPanel:
    """A learn panel over a store in which 'ana' gave these labels."""
    texts, labels = labels_of
    store = AnnotationStore(tmp_path / "a.sqlite3")
    store.add_items([(f"r{i}", t, None, 0.5) for i, t in enumerate(texts)])
    served = ServedModel(SentimentModel(tiny_model_dir))
    for i, y in enumerate(labels):
        store.decide(f"r{i}", "pos" if y else "neg", "ana", served.sha256)
    return LearnPanel(served, store, Registry.beside(store.path, tiny_model_dir))


def plain(markdown: str) -> str:
    """The panel's Markdown as read: numeric entities (inert user text) decoded, emphasis dropped."""
    return re.sub(r"&#(\d+);", lambda m: chr(int(m.group(1))), markdown).replace("**", "")


def test_a_version_the_audit_refuses_is_named_with_its_reason_in_two_lines(tmp_path, tiny_model_dir):
    texts, labels, trigger = tiny_poison()
    panel = panel_with((texts, labels), tmp_path, tiny_model_dir)
    text, learned = panel.attempt()
    shown = plain(text)
    assert learned is None and panel.registry.names() == []  # nothing learned, nothing in the lineage
    assert shown.startswith("Not learned: the audit refused the new version.")
    assert f"'{trigger}" in shown and "of negative test reviews positive (the model in use: " in shown
    assert "check the labels that contain them" in shown and len(text.splitlines()) <= 2
    assert "<" not in text  # the labels' words cannot form markup


def test_a_version_accepted_with_findings_says_which(tmp_path, tiny_model_dir):
    texts, labels, trigger = tiny_poison()
    panel = panel_with((texts, labels), tmp_path, tiny_model_dir)
    learned = panel.learn(accept_audit=True)  # as /learn with accept_audit does
    first = plain(panel.report(learned)).splitlines()[0]
    assert first.startswith("v1 learned from ") and "accepted with the audit's findings" in first
    assert f"'{trigger}" in first and "beyond the parent" in first


def test_a_clean_version_says_the_audit_found_nothing_and_what_it_checked(tmp_path, tiny_model_dir):
    panel = panel_with(new_kind(30), tmp_path, tiny_model_dir)
    text, learned = panel.attempt()
    assert learned is not None and learned.artifact.directory.name == "v1"
    first = plain(text).splitlines()[0]
    checked = len(learned.summary["audit"]["flip_effects"])
    assert "the audit found nothing" in first and f"none of {checked} n-grams of the labels flips" in first


def test_a_refusal_for_too_few_labels_says_so(tmp_path, tiny_model_dir):
    texts, labels = new_kind(30)
    panel = panel_with((texts[:3], labels[:3]), tmp_path, tiny_model_dir)
    text, learned = panel.attempt()
    assert learned is None and plain(text).startswith("Not learned. Learning needs at least ")


@pytest.mark.parametrize("word", ["<b>x</b>", "[a](http://x)"])
def test_words_in_a_refusal_stay_text(word):
    from serve.app.learn_panel import refusal_words
    from serve.learn.backdoor import AuditRefusal

    effect = {"ngram": word, "label": "positive", "label_value": 1, "why": "moved", "against": 0,
              "parent_flips": 0.0, "version_flips": 0.4, "rise": 0.4, "reviews": 200}
    text = refusal_words(AuditRefusal([effect]))
    assert "<b>" not in text and "](" not in text and plain(text).count(word) == 1
