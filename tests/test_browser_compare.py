"""The Compare tab in a real browser: the committed model beside the tiny fixture model (--compare), each
side in the Analyze tab's view and colours."""

import pytest
from selenium.webdriver.common.by import By

from serve.app.palette import NEGATIVE, POSITIVE
from tests.pages import Server, click, find, open_tab, rgb, settled, shot, style, text_of, wait, words
from tests.tiny_model import FIXTURE

pytest_plugins = ["tests.pages"]
pytestmark = pytest.mark.browser


def test_compare_tab_shows_both_models_side_by_side(browser, tmp_path, axe):
    with Server("--db", str(tmp_path / "db.sqlite3"), "--compare", str(FIXTURE), log=tmp_path / "server.log") as server:
        browser.get(server.url)
        open_tab(browser, "Compare")
        find(browser, "#cmp-review textarea").send_keys("The plot was splendid and the acting superb.")
        click(browser, "#cmp-go")
        wait(browser, lambda d: "A: " in text_of(d, "#cmp-summary") and "B: " in text_of(d, "#cmp-summary"))
        for side in ("#cmp-a", "#cmp-b"):  # each side in the Analyze tab's view and colours
            badge = find(browser, f"{side} .sl-badge")
            assert style(browser, badge, "background-color") == rgb(POSITIVE if badge.text == "Positive" else NEGATIVE)
            assert [w.text for w in words(browser, side)][-1] == "superb"
        assert not [e for e in browser.find_elements(By.ID, "cmp-changed") if e.is_displayed()]  # no empty table
        # a new method re-runs both sides at once
        click(browser, "//*[@id='cmp-method']//label[contains(., 'contextual decomposition')]")
        for side in ("#cmp-a", "#cmp-b"):
            wait(browser, lambda d, side=side: "logit contribution" in text_of(d, f"{side} .sl-legend"))
        wait(browser, settled)
        shot(browser, "compare")
        axe(browser, "compare")
