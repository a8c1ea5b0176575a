"""Label at scale and counterfactuals in batch (issue 34, points 3 and 5) in a real browser: find reviews in
the Annotate queue and label them in one action, undone as one; a Data tab slice's counterfactuals with the
share that flipped; the slice sent to Annotate as a queue."""

import sqlite3

import pytest
from selenium.webdriver.common.by import By

from serve.app.palette import NEGATIVE, POSITIVE
from tests.pages import (REVIEWS, SHOTS, Server, annotating, click, find, name_box, open_tab, queue_csv, rgb, settled,
                         style, text_of, viewport, wait)

pytest_plugins = ["tests.pages"]
pytestmark = pytest.mark.browser


def at_phone_size(browser, axe, where):
    """The same view at 390x844, checked by axe-core, then back to 1366x900."""
    viewport(browser, 390, 844)
    wait(browser, settled)
    axe(browser, f"{where} at 390x844")
    viewport(browser, 1366, 900)


def live(db):
    with sqlite3.connect(db) as con:
        return con.execute("SELECT item_id, label, batch FROM decisions WHERE undone = 0 ORDER BY item_id").fetchall()


def test_reviews_found_in_the_queue_are_labelled_in_one_action_and_undone_as_one(browser, tmp_path, axe):
    src = queue_csv(tmp_path / "to_label.csv", REVIEWS, "r")
    db = tmp_path / "db.sqlite3"
    with annotating(browser, src, db, log=tmp_path / "server.log"):
        name_box(browser).send_keys("alice\n")
        wait(browser, lambda d: "Item" in text_of(d, "#ann-info"))
        click(browser, "#bulk-box button")  # the accordion: its content is rendered once it opens
        find(browser, "#bulk-words input, #bulk-words textarea").send_keys("and")
        click(browser, "#bulk-find")
        wait(browser, lambda d: "3 reviews open to you in the whole queue" in text_of(d, "#bulk-status"))
        table = text_of(browser, "#bulk-table")
        assert "r1" in table and "r2" in table and "r3" in table and "r0" not in table
        wait(browser, settled)
        axe(browser, "annotate, find and label many")
        find(browser, "#bulk-box").screenshot(str(SHOTS / "annotate-bulk.png"))
        at_phone_size(browser, axe, "annotate, find and label many")
        # the app's colours mean the same here: blue labels positive, red negative
        assert style(browser, browser.find_element(By.ID, "bulk-pos"), "background-color") == rgb(POSITIVE)
        assert style(browser, browser.find_element(By.ID, "bulk-neg"), "background-color") == rgb(NEGATIVE)
        click(browser, "#bulk-all")
        boxes = lambda d: d.find_elements(By.CSS_SELECTOR, "#bulk-table input[type=checkbox]")  # noqa: E731
        wait(browser, lambda d: len(boxes(d)) == 3 and all(box.is_selected() for box in boxes(d)))
        click(browser, "#bulk-neg")
        wait(browser, lambda d: "Labelled 3 reviews negative in one action" in text_of(d, "#bulk-status"))
        rows = live(db)
        assert [r[:2] for r in rows] == [(f"to_label.csv@{rows[0][0].split('@')[1][:8]}#r{i}", "neg") for i in (1, 2, 3)]
        assert len({r[2] for r in rows}) == 1 and rows[0][2] > 0  # one batch, marked
        click(browser, "#ann-undo")
        wait(browser, lambda d: not live(db))  # the whole action taken back
        wait(browser, lambda d: "labelled negative together" in d.find_element(By.TAG_NAME, "body").text)


def test_a_data_slice_gets_its_counterfactuals_and_goes_to_annotate(browser, tmp_path, axe):
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("id,text,label\n" + "\n".join(f'd{i},"{t}",{1 - i % 2}' for i, t in enumerate(REVIEWS)) + "\n")
    queue = queue_csv(tmp_path / "to_label.csv", REVIEWS[:1], "q")
    db = tmp_path / "db.sqlite3"
    with Server("--db", str(db), "--annotate", str(queue), log=tmp_path / "server.log") as server:
        browser.get(server.url)
        open_tab(browser, "Data")
        browser.find_element(By.CSS_SELECTOR, "#data-upload input[type=file]").send_keys(str(labelled))
        wait(browser, lambda d: "4 reviews scored" in text_of(d, "#data-status"))
        assert "ids from the column" in text_of(browser, "#data-status")
        click(browser, "#data-cf-box button")
        click(browser, "#data-cf-run")
        summary = wait(browser, lambda d: "flipped" in text_of(d, "#data-cf-summary") and text_of(d, "#data-cf-summary"))
        assert "Counterfactuals of 4 reviews" in summary
        for generator in ("negate", "opposite", "drop"):
            assert f"**{generator}**" not in summary and generator in summary  # Markdown, rendered
        table = text_of(browser, "#data-cf-table")
        assert "points" in table and ("yes" in table or "no" in table)
        wait(browser, settled)  # nothing still drawing (a pending component is faded)
        axe(browser, "data, counterfactuals")
        find(browser, "#data-cf-box").screenshot(str(SHOTS / "data-counterfactuals.png"))
        at_phone_size(browser, axe, "data, counterfactuals")
        click(browser, "#data-send")
        status = wait(browser, lambda d: "From the Data tab" in text_of(d, "#bulk-status") and text_of(d, "#bulk-status"))
        assert "4 reviews of the slice's 4 (4 new in the queue)" in status
        with sqlite3.connect(db) as con:
            ids = {i for (i,) in con.execute("SELECT item_id FROM items")}
        assert {i.rsplit("#", 1)[1] for i in ids if i.startswith("labelled.csv@")} == {"d0", "d1", "d2", "d3"}
        name_box(browser).send_keys("bo\n")
        click(browser, "#bulk-find")  # "Look in" was set to the reviews sent
        wait(browser, lambda d: "4 reviews open to you in reviews sent from the Data tab" in text_of(d, "#bulk-status"))
        wait(browser, settled)
        axe(browser, "annotate, a slice sent from Data")
