"""The Team tab in a real browser: two annotators with --overlap 2 (one in the page, one through the API),
their agreement, and a lead settling the review they disagree on."""

import json
import sqlite3

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.pages import (REVIEWS, annotating, click, find, name_box, open_tab, queue_csv, settled, shot, text_of,
                         viewport, wait)

pytest_plugins = ["tests.pages"]
pytestmark = pytest.mark.browser


def test_two_annotators_with_overlap_2_and_a_lead_settling_their_disagreement(browser, tmp_path, axe):
    """Issue 20.6: with --overlap 2 every review goes to alice (here, by keys) and to bob (by the API);
    the Team tab shows their agreement and lists the review they disagree on beside the model's view;
    a lead settles it, and the store's export carries both votes and the settled label."""
    from gradio_client import Client

    from serve.store.annotations import AnnotationStore

    src = tmp_path / "team.csv"
    queue_csv(src, REVIEWS[:3], "r")
    db = tmp_path / "db.sqlite3"
    with annotating(browser, src, db, "--overlap", "2", log=tmp_path / "server.log") as server:
        name_box(browser).click()
        ActionChains(browser).send_keys("alice", Keys.ENTER).perform()
        wait(browser, lambda d: "sl-tok" in (d.switch_to.active_element.get_attribute("class") or ""))
        decided = lambda: sqlite3.connect(db).execute("SELECT COUNT(*) FROM decisions").fetchone()[0]  # noqa: E731
        alice = {}
        for n in range(3):
            item = text_of(browser, "#ann-info").split("#")[1].split(":")[0]
            key = "2" if item == "r1" else "1"
            alice[item] = key
            ActionChains(browser).send_keys(key).perform()
            wait(browser, lambda d, n=n: decided() == n + 1)
            wait(browser, settled)
        assert sorted(alice) == ["r0", "r1", "r2"]
        bob = Client(server.url, verbose=False)
        for _ in range(3):  # each review goes to bob too: he says positive to all
            item = bob.predict("bob", "file", api_name="/next_item")
            bob.predict(item["item_id"], "pos", "bob", "", api_name="/annotate")
        assert bob.predict("bob", "file", api_name="/next_item") == {}  # nothing left for him
        assert "Done 3 / 3" in wait(browser, lambda d: d.find_element(By.ID, "ann-next").click() or
                                    ("Done 3 / 3" in text_of(d, "#ann-progress") and text_of(d, "#ann-progress")))
        open_tab(browser, "Team")
        wait(browser, lambda d: "Krippendorff" in text_of(d, "#team-summary"))
        summary = text_of(browser, "#team-summary")
        assert "1 review to settle" in summary and "3 reviews with two or more labels" in summary
        pairs = text_of(browser, "#team-pairs")
        assert "alice" in pairs and "bob" in pairs
        click(browser, "#team-disputes input")
        option = wait(browser, lambda d: next((o for o in d.find_elements(By.CSS_SELECTOR, "[role=option]")
                                               if "#r1" in o.text), None))
        option.click()
        wait(browser, lambda d: "alice: negative" in text_of(d, "#team-votes") and "bob: positive" in text_of(d, "#team-votes"))
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#team-review .sl-tok"))  # the model's view
        wait(browser, settled)
        shot(browser, "team")
        axe(browser, "team")
        viewport(browser, 390, 844)
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
        axe(browser, "team at 390x844")
        viewport(browser, 1366, 900)
        find(browser, "#team-lead input, #team-lead textarea").send_keys("lena")
        click(browser, "#team-neg")
        wait(browser, lambda d: "0 reviews to settle" in text_of(d, "#team-summary"))
        assert not [t for t in browser.find_elements(By.CSS_SELECTOR, ".toast-body") if t.is_displayed()
                    and "rror" in t.text]
    store = AnnotationStore(db, overlap=2)
    out = tmp_path / "export.jsonl"
    assert store.export(out) == (3, 0)
    rows = {r["source_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert rows["r1"]["votes"] == {"alice": "neg", "bob": "pos"} and rows["r1"]["adjudicated"] == "neg"
    assert rows["r1"]["label"] == 0 and rows["r0"]["label"] == 1 and rows["r0"]["adjudicated"] is None
