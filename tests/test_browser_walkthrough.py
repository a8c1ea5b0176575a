"""Issue 33's browser walk-through, as a demanding user would redo it: the API page in our words, the
footer without redundant image names, Annotate on a desktop (a long review with its label buttons in view,
the set-up folded away), a reload that keeps the tab, the revisit caption apart from the file's columns,
touch that reads a word's value without marking it, and another annotator's labels reaching the progress
line on their own."""

import sqlite3

import pytest
from gradio_client import Client
from selenium.webdriver.common.by import By

from tests.pages import (DESKTOP, FILLER, REVIEWS, annotating, click, find, name_box, open_tab, queue_csv, rect,
                         settled, shot, tab_button, text_of, viewport, wait, words)

pytestmark = pytest.mark.browser

pytest_plugins = ["tests.pages"]

# a review of 160+ words, longer than a desktop screen holds under the set-up
LONG_REVIEW = ("I went in expecting little. " + FILLER * 11 + "The ending, though, is superb and I loved it.")


def body(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def selected_tab(driver) -> str:
    return next(t.get_attribute("data-tab-id") for t in driver.find_elements(By.CSS_SELECTOR, "[role=tablist] button")
                if t.get_attribute("aria-selected") == "true")


def start_labelling(driver, name):
    """Type the name and press Enter; returns the first item's line once it is on screen."""
    name_box(driver).send_keys(name + "\n")
    return wait(driver, lambda d: "Item" in text_of(d, "#ann-info") and text_of(d, "#ann-info"))


def test_the_api_page_describes_every_value_in_our_words_and_next_item_needs_a_name(browser, tmp_path, axe):
    src = queue_csv(tmp_path / "q.csv", REVIEWS, "a")
    with annotating(browser, src, tmp_path / "db.sqlite3", log=tmp_path / "server.log") as server:
        # the footer's icons are decorative beside their names (axe: image-redundant-alt, minor)
        found = axe(browser, "annotate, before a name")
        assert not [v for v in found if v["id"] == "image-redundant-alt"], found
        assert all(i.get_attribute("alt") == "" for i in browser.find_elements(By.CSS_SELECTOR, "footer img"))
        click(browser, "footer .show-api")
        page = wait(browser, lambda d: "/use_version" in body(d) and "Accepts 2 parameters" in body(d) and body(d))
        wait(browser, lambda d: "The input value that is provided" not in body(d))  # rewritten as it appears
        page = body(browser)
        assert "The output value that appears" not in page and "Api component" not in page
        for said in ("the review, as written", "a dict: label ('positive' or 'negative')",
                     "a dict: item_id (pass it to /annotate)", "the decision's id (an integer) once it is stored",
                     "the text 'ok' while the app answers", "required: who is labelling"):
            assert said in page, said
        assert "'anonymous'" not in page
        # doc and behaviour agree: the annotator is required (no default), an empty one refused in one line
        info = Client(server.url, verbose=False).view_api(print_info=False, return_format="dict")
        annotator = info["named_endpoints"]["/next_item"]["parameters"][0]
        assert annotator["parameter_name"] == "annotator" and not annotator["parameter_has_default"]
        client = Client(server.url, verbose=False)
        with pytest.raises(Exception, match="annotator is required: the name the labels are recorded under"):
            client.predict("  ", "file", api_name="/next_item")
        assert client.predict("bot", "file", api_name="/next_item")["item_id"].endswith("#a0")
        shot(browser, "api-described")
        wait(browser, settled)
        axe(browser, "the API page")  # Gradio's own page: icon buttons named, lists marked, text readable


def test_on_a_desktop_a_long_review_and_its_label_buttons_are_seen_together(browser, tmp_path, axe):
    """1366x900, a review of 160+ words: the set-up folds away once labelling starts (and opens again on
    demand), the label bar stays at the bottom of the screen, and a click on it records the label."""
    assert len(LONG_REVIEW.split()) >= 154
    src = tmp_path / "long.csv"
    queue_csv(src, [LONG_REVIEW, LONG_REVIEW.replace("superb and I loved it", "dull and I hated it")], "d")
    db = tmp_path / "db.sqlite3"
    with annotating(browser, src, db, log=tmp_path / "server.log"):
        assert find(browser, "#ann-upload").is_displayed()  # nothing to label yet: the set-up is open
        start_labelling(browser, "dora")
        wait(browser, lambda d: not d.find_element(By.ID, "ann-upload").is_displayed())  # folded away
        wait(browser, settled)
        first = text_of(browser, "#ann-info").split("#")[1].split(":")[0]

        def in_view(d):
            bar = rect(d, d.find_element(By.ID, "ann-actions"))
            buttons = [rect(d, d.find_element(By.ID, b)) for b in ("ann-pos", "ann-neg")]
            first = rect(d, words(d, "#ann-text")[0])
            return (all(0 <= b["top"] and b["bottom"] <= DESKTOP[1] for b in buttons)
                    and 0 <= first["top"] and first["bottom"] <= bar["top"])
        wait(browser, in_view)
        review, bar = (rect(browser, browser.find_element(By.ID, e)) for e in ("ann-text", "ann-actions"))
        assert review["bottom"] <= bar["top"]  # the whole review above the bar: read and labelled without a scroll
        browser.execute_script("window.scrollBy(0, 400)")  # read on: the buttons stay where they are
        wait(browser, lambda d: all(0 <= rect(d, d.find_element(By.ID, b))["top"]
                                    and rect(d, d.find_element(By.ID, b))["bottom"] <= DESKTOP[1]
                                    for b in ("ann-pos", "ann-neg")))
        browser.execute_script("window.scrollTo(0, 0)")
        shot(browser, "annotate-desktop-long")
        axe(browser, "annotate at 1366x900, a long review")
        click(browser, "#ann-pos")
        wait(browser, lambda d: "Done 1 / 2" in text_of(d, "#ann-progress")
             and f"#{first}:" not in text_of(d, "#ann-info"))
        rows = sqlite3.connect(db).execute("SELECT item_id, label, annotator FROM decisions").fetchall()
        assert [(r[0].rsplit("#", 1)[1], r[1], r[2]) for r in rows] == [(first, "pos", "dora")]
        assert not browser.find_element(By.ID, "ann-upload").is_displayed()  # still folded for the next one
        click(browser, "#ann-setup > button, #ann-setup button.label-wrap")  # open again on demand
        wait(browser, lambda d: d.find_element(By.ID, "ann-upload").is_displayed())
        click(browser, "#ann-neg")
        wait(browser, lambda d: "Queue empty" in text_of(d, "#ann-info"))
        assert find(browser, "#ann-upload").is_displayed()  # an empty queue shows where to load more
        open_tab(browser, "Analyze")
        assert not browser.find_element(By.ID, "ann-actions").is_displayed()  # the bar belongs to Annotate


def test_a_reload_or_a_shared_link_opens_the_tab_the_address_names(browser, tmp_path):
    src = queue_csv(tmp_path / "q.csv", REVIEWS, "t")
    with annotating(browser, src, tmp_path / "db.sqlite3", log=tmp_path / "server.log") as server:
        wait(browser, lambda d: "tab=annotate" in d.current_url)
        browser.refresh()
        wait(browser, lambda d: tab_button(d, "Annotate") and selected_tab(d) == "annotate")
        find(browser, "#ann-name")
        open_tab(browser, "Team")
        wait(browser, lambda d: "tab=team" in d.current_url)
        browser.get(server.url + "?tab=model")  # a shared link
        wait(browser, lambda d: tab_button(d, "Model") and selected_tab(d) == "model")
        find(browser, "#card")
        assert "tab=model" in browser.current_url
        browser.get(server.url + "?tab=nonsense")  # an unknown name opens the first tab
        find(browser, "#review")
        assert selected_tab(browser) == "analyze"
        open_tab(browser, "Data")
        wait(browser, lambda d: "tab=data" in d.current_url)
        browser.back()  # the address was replaced, not pushed: back leaves the app's history as it was
        browser.get(server.url + "?__theme=dark&tab=annotate")  # other parameters are kept
        wait(browser, lambda d: tab_button(d, "Annotate") and selected_tab(d) == "annotate")
        open_tab(browser, "Analyze")
        wait(browser, lambda d: "tab=analyze" in d.current_url and "__theme=dark" in d.current_url)


def test_the_revisit_caption_stands_apart_from_the_files_columns(browser, tmp_path):
    src = tmp_path / "cols.csv"
    src.write_text("id,text,year,source\n" + "\n".join(f'c{i},"{t}",199{i},festival' for i, t in enumerate(REVIEWS))
                   + "\n")
    with annotating(browser, src, tmp_path / "db.sqlite3", log=tmp_path / "server.log"):
        start_labelling(browser, "rev")
        click(browser, "#ann-pos")
        wait(browser, lambda d: "Done 1 / 4" in text_of(d, "#ann-progress"))
        wait(browser, settled)
        click(browser, "#ann-history-box button")
        entry = wait(browser, lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, "#ann-history label")
                                         if e.is_displayed()])[0]
        entry.click()
        wait(browser, lambda d: "Revisiting your positive label" in text_of(d, "#ann-info"))
        paragraphs = [p.text for p in browser.find_elements(By.CSS_SELECTOR, "#ann-info p")]
        columns = next((p for p in paragraphs if "year: 199" in p), paragraphs)
        assert "Revisiting" not in columns and "source: festival" in columns
        assert any(p.startswith("Revisiting your positive label") for p in paragraphs), paragraphs


def touch(driver, element, phase):
    """A finger on the middle of ``element`` ("start") or lifted ("end"), through Chromium's own input
    pipeline (pointer events of type touch, a touch's gestures, a tap's click)."""
    r = rect(driver, element)
    points = [{"x": (r["left"] + r["right"]) / 2, "y": (r["top"] + r["bottom"]) / 2}] if phase == "start" else []
    driver.execute_cdp_cmd("Input.dispatchTouchEvent", {"type": f"touch{phase.capitalize()}", "touchPoints": points})


def test_on_touch_a_tap_reads_a_words_value_and_a_hold_marks_it(browser, tmp_path):
    """With the model's view shown on a phone, tapping a word shows its value and marks nothing; pressing and
    holding marks it; a mouse click still marks."""
    src = queue_csv(tmp_path / "q.csv", REVIEWS, "u")
    viewport(browser, 390, 844)
    browser.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 1})
    try:
        with annotating(browser, src, tmp_path / "db.sqlite3", log=tmp_path / "server.log"):
            start_labelling(browser, "tess")
            wait(browser, settled)
            click(browser, "#ann-show-model input")
            wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#ann-text .sl-model-only").is_displayed())
            word = words(browser, "#ann-text")[1]
            touch(browser, word, "start")
            touch(browser, word, "end")  # a tap
            wait(browser, lambda d: word.get_attribute("data-tip") in text_of(d, "#ann-text .sl-chosen"))
            assert word.get_attribute("aria-pressed") == "false"
            assert "Press and hold a word to mark it" in text_of(browser, "#ann-text .sl-chosen")
            touch(browser, word, "start")  # the finger stays down...
            wait(browser, lambda d: word.get_attribute("aria-pressed") == "true")  # ...and the hold marks it
            assert text_of(browser, "#ann-text .sl-chosen").startswith("Rationale: ")
            browser.execute_script("window.__clicks = 0; document.addEventListener('click', "
                                   "() => { window.__clicks += 1; }, true);")
            touch(browser, word, "end")  # lifting it: its tap's click arrives and changes nothing more
            wait(browser, lambda d: d.execute_script("return window.__clicks") >= 1)
            assert word.get_attribute("aria-pressed") == "true"
    finally:
        browser.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": False})
    # (a mouse click marks and unmarks as before: test_browser_annotate.py)


def test_another_annotators_labels_reach_the_progress_line_on_their_own(browser, tmp_path):
    """Two sessions: Alice's page is open on Annotate while Bob labels through the API; her progress line
    counts his labels without her doing anything, and again after she comes back from another tab."""
    src = queue_csv(tmp_path / "q.csv", REVIEWS, "p")
    db = tmp_path / "db.sqlite3"
    with annotating(browser, src, db, log=tmp_path / "server.log") as server:
        start_labelling(browser, "alice")
        wait(browser, lambda d: "Done 0 / 4" in text_of(d, "#ann-progress"))
        bob = Client(server.url, verbose=False)
        for _ in range(2):
            item = bob.predict("bob", "file", api_name="/next_item")
            bob.predict(item["item_id"], "neg", "bob", "", api_name="/annotate")
        wait(browser, lambda d: "Done 2 / 4" in text_of(d, "#ann-progress") and "2 labelled" in text_of(
            d, "#ann-progress"), timeout=20)
        assert "You (alice): 0 positive, 0 negative" in text_of(browser, "#ann-progress")  # his are not hers
        open_tab(browser, "Analyze")  # the timer stops with the tab and starts again with it
        item = bob.predict("bob", "file", api_name="/next_item")
        bob.predict(item["item_id"], "neg", "bob", "", api_name="/annotate")
        open_tab(browser, "Annotate")
        wait(browser, lambda d: "Done 3 / 4" in text_of(d, "#ann-progress"), timeout=20)
