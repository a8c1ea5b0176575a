"""The Annotate tab in a real browser, each test with an app of its own queueing a file of our own
reviews: labelling with buttons and keys, rationales, Undo, history, guidelines, a reload and a restart,
the export."""

import json
import sqlite3
import urllib.request

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from serve.app.palette import NEGATIVE, POSITIVE
from tests.pages import (LONG, MAXLEN, NOTE, REVIEWS, Server, annotate_next, annotating, click, find, name_box,
                         open_setup, open_tab, pressed, queue_csv, rect, rgb, settled, shot, style, text_of, viewport, wait, words)

pytest_plugins = ["tests.pages"]
pytestmark = pytest.mark.browser


def test_annotate_as_a_labeller_would(browser, tmp_path, axe):
    src = tmp_path / "to_label.csv"
    queue_csv(src, REVIEWS, "r")
    db = tmp_path / "db.sqlite3"
    with annotating(browser, src, db, log=tmp_path / "server.log") as server:
        # the page says a name is needed, and the buttons wait for it
        assert "Type your name" in text_of(browser, "#ann-hint")
        assert not browser.find_element(By.ID, "ann-pos").is_enabled()
        name_box(browser).send_keys("alice\n")
        wait(browser, lambda d: "Item" in text_of(d, "#ann-info"))
        assert not browser.find_elements(By.ID, "ann-hint") and browser.find_element(By.ID, "ann-pos").is_enabled()
        # the review as written; the model's score and colours hidden until asked for
        first = text_of(browser, "#ann-info")
        assert not browser.find_element(By.CSS_SELECTOR, "#ann-text .sl-model-only").is_displayed()
        assert {style(browser, w, "background-color") for w in words(browser, "#ann-text")} == {"rgba(0, 0, 0, 0)"}
        click(browser, "#ann-show-model input")
        wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#ann-text .sl-model-only").is_displayed())
        assert "Model:" in text_of(browser, "#ann-text .sl-model-only")
        assert {style(browser, w, "background-color") for w in words(browser, "#ann-text")} != {"rgba(0, 0, 0, 0)"}
        # the same colours mean the same thing here as in Analyze
        assert style(browser, browser.find_element(By.ID, "ann-pos"), "background-color") == rgb(POSITIVE)
        assert style(browser, browser.find_element(By.ID, "ann-neg"), "background-color") == rgb(NEGATIVE)
        # rationale: click one word, select a stretch of two more
        w = words(browser, "#ann-text")
        w[1].click()
        ActionChains(browser).click_and_hold(w[3]).move_to_element(w[4]).release().perform()
        assert pressed(browser) == [1, 3, 4]
        assert text_of(browser, "#ann-text .sl-chosen").startswith("Rationale: ")
        shot(browser, "annotate")
        axe(browser, "annotate")
        find(browser, NOTE).send_keys("clear")
        click(browser, "#ann-pos")
        wait(browser, lambda d: "Done 1 / 4" in text_of(d, "#ann-progress"))
        row = sqlite3.connect(db).execute("SELECT label, note, rationale, rationale_tokens FROM decisions").fetchone()
        tokens = [t.text.lower() for t in words(browser, "#ann-text")]  # (the next review's; checked below)
        assert row[:2] == ("pos", "clear") and json.loads(row[3]) == [1, 3, 4] and len(json.loads(row[2])) == 3
        # Undo brings the review back with the note and the rationale entered
        click(browser, "#ann-undo")
        wait(browser, lambda d: text_of(d, "#ann-info") == first)
        wait(browser, lambda d: pressed(d) == [1, 3, 4])
        assert find(browser, NOTE).get_attribute("value") == "clear"
        assert "Done 0 / 4" in text_of(browser, "#ann-progress")
        # Next moves on; the passed item is free again
        second = annotate_next(browser)
        assert second != first and tokens
        leases = sqlite3.connect(db).execute("SELECT item_id FROM leases WHERE annotator = 'alice'").fetchall()
        assert [lease[0] for lease in leases] == [second.split("Item ")[1].split(":")[0]]
        # a new queue order applies at once
        open_setup(browser)  # folded away while labelling, opened on demand
        click(browser, "//*[@id='ann-order']//label[contains(., 'file order')]")
        wait(browser, lambda d: "#r0:" in text_of(d, "#ann-info"))
        # the name, the queue order, the item, its half-written note and marked words survive a reload
        words(browser, "#ann-text")[2].click()
        find(browser, NOTE).send_keys("half written")
        browser.refresh()
        open_tab(browser, "Annotate")
        wait(browser, lambda d: name_box(d).get_attribute("value") == "alice")
        wait(browser, lambda d: "#r0:" in text_of(d, "#ann-info"))
        checked = browser.find_element(By.XPATH, "//*[@id='ann-order']//label[contains(., 'file order')]//input")
        assert checked.is_selected()
        wait(browser, lambda d: pressed(d) == [2])
        note_box = find(browser, NOTE)
        wait(browser, lambda d: note_box.get_attribute("value") == "half written")
        click(browser, "#ann-progress")  # focus on the page, not in a field
        ActionChains(browser).send_keys("3").perform()  # keyboard: Skip
        wait(browser, lambda d: "Done 1 / 4" in text_of(d, "#ann-progress"))
        assert "3 left" in text_of(browser, "#ann-progress")  # issue 20.4: a bar, done / left, and my own counts
        assert "You (alice): 0 positive, 0 negative, 1 skipped; 1 in the last hour" in text_of(browser, "#ann-progress")
        bar = browser.find_element(By.CSS_SELECTOR, "#ann-progress progress")
        assert (bar.get_attribute("value"), bar.get_attribute("max")) == ("1", "4")
        note, chosen = sqlite3.connect(db).execute(
            "SELECT note, rationale_tokens FROM decisions ORDER BY decision_id DESC LIMIT 1").fetchone()
        assert note == "half written" and json.loads(chosen) == [2]  # the restored draft is what was sent
        wait(browser, lambda d: note_box.get_attribute("value") == "" and pressed(d) == [])  # the next one starts clean
        click(browser, "#ann-progress")
        ActionChains(browser).send_keys("2").perform()  # keyboard: Negative
        wait(browser, lambda d: "Done 2 / 4" in text_of(d, "#ann-progress"))
        # keyboard only: Tab reaches a word, Space marks it
        browser.find_element(By.CSS_SELECTOR, "#ann-show-model input").send_keys(Keys.TAB)
        active = browser.switch_to.active_element
        assert active.get_attribute("class").startswith("sl-tok")
        active.send_keys(Keys.SPACE)
        assert active.get_attribute("aria-pressed") == "true"
        # on a phone: the review and the label buttons fit the width
        viewport(browser, 390, 844)
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
        for button in ("ann-pos", "ann-neg", "ann-skip", "ann-undo", "ann-next"):
            box = rect(browser, browser.find_element(By.ID, button))
            assert 0 <= box["left"] and box["right"] <= 390
        shot(browser, "annotate-phone")
        axe(browser, "annotate at 390x844")
        viewport(browser, 1366, 900)
        # export: a file of its own to download, skipped items with their status, ISO times, JSON lists
        click(browser, "//*[@id='ann-export']/preceding::label[contains(., 'jsonl')][1]")
        click(browser, "#ann-export")
        link = wait(browser, lambda d: next((a.get_attribute("href") for a in
                                             d.find_elements(By.CSS_SELECTOR, "#ann-export-file a")
                                             if (a.get_attribute("href") or "").startswith(server.url)), None))
        assert link.split("?")[0].endswith(".jsonl") and "annotations-" in link
        rows = [json.loads(x) for x in urllib.request.urlopen(link, timeout=10).read().decode().splitlines()]  # noqa: S310
        assert sorted(r["status"] for r in rows) == ["labelled", "skipped"]
        assert all(r["created_at"].endswith("Z") and "T" in r["created_at"] for r in rows)
        assert all(isinstance(r["rationale"], list) for r in rows)
        assert next(r for r in rows if r["status"] == "skipped")["label"] is None


def test_annotations_persist_across_a_restart(browser, tmp_path):
    src = tmp_path / "to_label.csv"
    src.write_text("text\n" + "\n".join(f'"{r}"' for r in REVIEWS) + "\n")
    db = tmp_path / "db.sqlite3"
    args = ("--db", str(db), "--annotate", str(src))
    with Server(*args, log=tmp_path / "server1.log") as server:
        browser.get(server.url)
        open_tab(browser, "Annotate")
        name_box(browser).clear()
        name_box(browser).send_keys("alice\n")
        wait(browser, lambda d: "Item" in text_of(d, "#ann-info"))
        first = text_of(browser, "#ann-info")
        click(browser, "#ann-pos")
        wait(browser, lambda d: "Done 1 / 4" in text_of(d, "#ann-progress"))
        second = text_of(browser, "#ann-info")
        assert second != first
        click(browser, "#ann-progress")
        ActionChains(browser).send_keys("2").perform()  # keyboard shortcut: Negative
        wait(browser, lambda d: "Done 2 / 4" in text_of(d, "#ann-progress"))
        third = text_of(browser, "#ann-info")
    with Server(*args, log=tmp_path / "server2.log") as server:  # a restart loads nothing new
        browser.get(server.url)
        open_tab(browser, "Annotate")
        wait(browser, lambda d: "Done 2 / 4" in text_of(d, "#ann-progress"))
        # The name does not survive a restart (a reload keeps it): the browser stores it encrypted
        # with a key each server process draws at start (gr.BrowserState), which the new one lacks.
        # The page asks for the name again, and the same name resumes the queue.
        wait(browser, lambda d: "Type your name" in text_of(d, "#ann-hint"))
        assert name_box(browser).get_attribute("value") == ""
        assert not browser.find_element(By.ID, "ann-pos").is_enabled() and text_of(browser, "#ann-info") == ""
        name_box(browser).send_keys("alice\n")
        wait(browser, lambda d: text_of(d, "#ann-info") == third)  # the queue resumes where it stopped
    rows = sqlite3.connect(db).execute("SELECT label, annotator FROM decisions ORDER BY decision_id").fetchall()
    assert rows == [("pos", "alice"), ("neg", "alice")]


def test_annotate_twenty_reviews_with_the_keyboard_alone(browser, tmp_path):
    """Issue 20's flow: the name typed and Enter, then only keys; nothing renames the annotator, no
    error appears, every label lands; ? lists the keys and Esc closes it; e goes to the note and Esc
    comes back out of it, so the next key labels again."""
    src = tmp_path / "many.csv"
    queue_csv(src, [f"{REVIEWS[i % len(REVIEWS)]} (copy {i})" for i in range(24)], "k")
    db = tmp_path / "db.sqlite3"
    decided = lambda: sqlite3.connect(db).execute("SELECT COUNT(*) FROM decisions").fetchone()[0]  # noqa: E731
    with annotating(browser, src, db, log=tmp_path / "server.log"):
        name_box(browser).click()
        ActionChains(browser).send_keys("dave", Keys.ENTER).perform()
        wait(browser, lambda d: "Item" in text_of(d, "#ann-info"))
        wait(browser, lambda d: "sl-tok" in (d.switch_to.active_element.get_attribute("class") or ""))  # on the review
        keys = "1231231231" + "2131231212"
        for i, key in enumerate(keys[:19]):
            ActionChains(browser).send_keys(key).perform()
            wait(browser, lambda d, n=i + 1: decided() == n)
            wait(browser, settled)
        # the help list opens and closes from the keyboard
        ActionChains(browser).send_keys("?").perform()
        help_box = find(browser, "#ann-help")
        assert "Next review" in help_box.text and "Edit the note" in help_box.text
        ActionChains(browser).send_keys(Keys.ESCAPE).perform()
        wait(browser, lambda d: not d.find_element(By.ID, "ann-help").is_displayed())
        # e: into the note; typed keys are text there; Esc: out again, and the next key labels
        ActionChains(browser).send_keys("e").perform()
        ActionChains(browser).send_keys("meh3").perform()
        note = browser.find_element(By.CSS_SELECTOR, NOTE)
        assert note.get_attribute("value") == "meh3" and decided() == 19
        ActionChains(browser).send_keys(Keys.ESCAPE, keys[19]).perform()
        wait(browser, lambda d: decided() == 20)
        assert name_box(browser).get_attribute("value") == "dave"
        labels = sqlite3.connect(db).execute("SELECT annotator, label, note FROM decisions ORDER BY decision_id").fetchall()
        assert {a for a, _, _ in labels} == {"dave"}
        assert [lab for _, lab, _ in labels] == [{"1": "pos", "2": "neg", "3": "skip"}[k] for k in keys]
        assert labels[-1][2] == "meh3"
        assert not [t for t in browser.find_elements(By.CSS_SELECTOR, ".toast-body") if t.is_displayed()]  # no error
        # n moves on without a label, and the review passed over does not come straight back after a label
        before = text_of(browser, "#ann-info")
        ActionChains(browser).send_keys("n").perform()
        wait(browser, lambda d: text_of(d, "#ann-info") != before)
        assert decided() == 20
        after_next = text_of(browser, "#ann-info")
        ActionChains(browser).send_keys("1").perform()
        wait(browser, lambda d: decided() == 21 and text_of(d, "#ann-info") != after_next)
        assert text_of(browser, "#ann-info") != before

    # a review with no word at all: Enter in the name still leaves the name box, and 1 labels it
    src = tmp_path / "emoji.jsonl"
    src.write_text(json.dumps({"id": "e1", "text": "\U0001F60D\U0001F525\U0001F37F"}) + "\n")
    db = tmp_path / "emoji.sqlite3"
    with annotating(browser, src, db, log=tmp_path / "server2.log"):
        name_box(browser).clear()
        name_box(browser).click()
        ActionChains(browser).send_keys("ivy", Keys.ENTER).perform()
        wait(browser, lambda d: "Item" in text_of(d, "#ann-info") and d.find_element(By.ID, "ann-pos").is_enabled())
        wait(browser, lambda d: d.switch_to.active_element.get_attribute("id") == "ann-pos")  # no word: the button
        ActionChains(browser).send_keys("1").perform()
        wait(browser, lambda d: sqlite3.connect(db).execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 1)
        assert name_box(browser).get_attribute("value") == "ivy"
        assert sqlite3.connect(db).execute("SELECT annotator, label FROM decisions").fetchall() == [("ivy", "pos")]


def test_guidelines_and_the_files_own_columns_are_shown_while_annotating(browser, tmp_path, axe):
    """Issue 20.7: --guidelines FILE.md in a panel (Markdown formats it; HTML in it stays text), and the
    file's columns beyond id/text/label beside each review."""
    rules = tmp_path / "rules.md"
    rules.write_text("# House rules\n\n- **Sarcasm** counts as negative\n\n<script>window.__pwned = 1</script>"
                     "<img src=x onerror=\"window.__pwned = 2\">\n")
    src = tmp_path / "meta.csv"
    src.write_text('id,text,label,genre,year\ng1,"' + REVIEWS[0] + '",,drama,2001\n')
    with annotating(browser, src, tmp_path / "db.sqlite3", "--guidelines", str(rules), log=tmp_path / "server.log"):
        panel = browser.find_element(By.ID, "ann-guidelines")
        assert panel.is_displayed() and "House rules" in panel.text
        assert panel.find_element(By.TAG_NAME, "strong").text == "Sarcasm"
        assert "<script>" in panel.text and not panel.find_elements(By.TAG_NAME, "img")
        assert browser.execute_script("return window.__pwned") is None
        name_box(browser).send_keys("gus\n")
        wait(browser, lambda d: "genre: drama" in text_of(d, "#ann-info") and "year: 2001" in text_of(d, "#ann-info"))
        axe(browser, "annotate with guidelines")


def test_a_rationale_drag_works_from_any_pixel_of_a_word_or_the_gap_before_it(browser, tmp_path):
    """Issue 20.2: a drag that starts on a word's first pixel, or in the space before it, marks the words it
    covers; the click that follows a drag ending off a word is not swallowed; with the model shown a tapped
    word's value is written out (no hover on a touch screen)."""
    src = tmp_path / "drag.csv"
    src.write_text("id,text,label\nd1,\"" + REVIEWS[0] + "\",\n")
    with annotating(browser, src, tmp_path / "db.sqlite3", log=tmp_path / "server.log"):
        name_box(browser).send_keys("dora\n")
        wait(browser, lambda d: words(d, "#ann-text"))
        w = words(browser, "#ann-text")

        def drag(start, x, end):
            size = rect(browser, start)
            ActionChains(browser).move_to_element_with_offset(start, x(size["right"] - size["left"]), 0) \
                .click_and_hold().move_to_element(end).release().perform()

        drag(w[2], lambda width: -width / 2 + 1, w[3])  # the first pixel of "funny"
        assert pressed(browser) == [2, 3]
        drag(w[5], lambda width: -width / 2 - 3, w[6])  # the space before "a"
        assert pressed(browser) == [2, 3, 5, 6]
        w[0].click()  # a plain click right after: it marks its word
        assert pressed(browser) == [0, 2, 3, 5, 6]
        click(browser, "#ann-show-model input")
        wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#ann-text .sl-model-only").is_displayed())
        w[1].click()
        assert "tender:" in text_of(browser, "#ann-text .sl-chosen").replace("Tender", "tender")


def test_history_revisits_a_decision_and_a_new_label_supersedes_it(browser, tmp_path):
    """Issue 20.5: the last decisions in a list; choosing one brings its review back with the note given;
    a new label is stored as a new decision (the old one kept) and becomes the label."""
    from serve.store.annotations import AnnotationStore

    src = tmp_path / "hist.csv"
    queue_csv(src, REVIEWS, "h")
    db = tmp_path / "db.sqlite3"
    with annotating(browser, src, db, log=tmp_path / "server.log"):
        name_box(browser).send_keys("hana\n")
        wait(browser, lambda d: "Item" in text_of(d, "#ann-info"))
        first = text_of(browser, "#ann-info").split("#")[1].split(":")[0]
        find(browser, NOTE).send_keys("first one")
        click(browser, "#ann-pos")
        wait(browser, lambda d: "Done 1 / 4" in text_of(d, "#ann-progress"))
        click(browser, "#ann-neg")
        wait(browser, lambda d: "Done 2 / 4" in text_of(d, "#ann-progress"))
        wait(browser, settled)
        click(browser, "#ann-history-box button")  # open the list
        entries = wait(browser, lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, "#ann-history label")
                                           if e.is_displayed()])
        assert len(entries) == 2 and entries[0].text.startswith("Negative") and entries[1].text.startswith("Positive")
        assert f"{first} - " in entries[1].text
        entries[1].click()
        wait(browser, lambda d: "Revisiting your positive label" in text_of(d, "#ann-info"))
        assert f"#{first}:" in text_of(browser, "#ann-info")
        assert find(browser, NOTE).get_attribute("value") == "first one"
        click(browser, "#ann-neg")  # changed their mind
        wait(browser, lambda d: "Revisiting" not in text_of(d, "#ann-info") and "Done 2 / 4" in text_of(d, "#ann-progress"))
    rows = sqlite3.connect(db).execute("SELECT label, undone FROM decisions WHERE item_id LIKE ? ORDER BY decision_id",
                                       (f"%#{first}",)).fetchall()
    assert rows == [("pos", 0), ("neg", 0)]  # both kept; the newer one counts
    labels = {r["id"].rsplit("#", 1)[1]: r["label"] for r in AnnotationStore(db).current_labels()}
    assert labels[first] == "neg"


def test_annotate_shows_the_whole_review_and_marks_what_the_model_read_on_request(browser, tmp_path):
    """Issue 20.2: a person judges the whole text, so nothing is folded in Annotate; where the model
    starts reading is marked only with the model's view shown."""
    src = tmp_path / "long.jsonl"
    src.write_text(json.dumps({"id": "long1", "text": LONG}) + "\n")
    with annotating(browser, src, tmp_path / "db.sqlite3", log=tmp_path / "server.log"):
        name_box(browser).send_keys("lena\n")
        wait(browser, lambda d: "Item" in text_of(d, "#ann-info"))
        shown = [w for w in words(browser, "#ann-text") if w.is_displayed()]
        assert len(shown) == len(LONG.split()) > MAXLEN and shown[0].text == "Dreadful"
        assert not browser.find_elements(By.CSS_SELECTOR, "#ann-text details")
        marker = browser.find_element(By.CSS_SELECTOR, "#ann-text .sl-start")
        assert not marker.is_displayed()
        click(browser, "#ann-show-model input")
        wait(browser, lambda d: marker.is_displayed())
        assert "not read by the model" in marker.text and "starts reading here" in marker.text
        assert style(browser, shown[0], "color") == "rgb(90, 90, 90)"  # greyed with the model shown
