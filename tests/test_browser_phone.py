"""At phone width (390x844) in a real browser: Analyze brings the result into view after the form with
every tooltip on the screen, and Annotate keeps each review and its label buttons on one screen."""

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.pages import (REVIEW, REVIEWS, analyze, annotating, click, click_text, find, name_box, queue_csv, rect,
                         settled, shot, text_of, viewport, wait, words)

pytest_plugins = ["tests.pages"]
pytestmark = pytest.mark.browser


def test_on_a_phone_the_result_comes_into_view_after_the_form(page, axe):
    browser = page
    viewport(browser, 390, 844)
    browser.get(browser.current_url)
    analyze(browser, REVIEW)
    result = browser.find_element(By.ID, "result")
    wait(browser, lambda d: abs(rect(d, result)["top"]) < 60)  # scrolled to, not below the whole form
    examples = browser.find_element(By.ID, "examples")
    assert rect(browser, examples)["top"] > rect(browser, result)["top"]  # the examples come after the result
    for word in words(browser):  # every tooltip stays on the screen
        ActionChains(browser).move_to_element(word).perform()
        left, right = browser.execute_script(
            "const r = arguments[0].getBoundingClientRect(), s = getComputedStyle(arguments[0], '::after'); "
            "const w = parseFloat(s.width); "
            "return arguments[0].classList.contains('sl-tip-end') ? [r.right - w, r.right] : [r.left, r.left + w];",
            word)
        assert -1 <= left and right <= 391, (word.text, left, right)
    click_text(browser, "#result .sl-tok", "superb")
    panel = find(browser, "#result .sl-nb")
    assert panel.is_displayed() and 0 <= rect(browser, panel)["top"] and rect(browser, panel)["bottom"] <= 845  # (sub-pixel rounding)
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    shot(browser, "analyze-phone")
    axe(browser, "analyze at 390x844")


def test_on_a_phone_the_review_and_the_label_buttons_are_seen_together(browser, tmp_path):
    """Issue 20.2: at 390x844 the label bar stays at the bottom of the screen and each new review starts at
    the top, so no item needs scrolling to be read and labelled."""
    src = tmp_path / "phone.csv"  # reviews longer than a phone's screen
    queue_csv(src, [" ".join([r] * 12) for r in REVIEWS], "p")
    viewport(browser, 390, 844)
    with annotating(browser, src, tmp_path / "db.sqlite3", log=tmp_path / "server.log"):
        name_box(browser).click()
        ActionChains(browser).send_keys("pia", Keys.ENTER).perform()
        for n in range(2):
            wait(browser, lambda d: "sl-tok" in (d.switch_to.active_element.get_attribute("class") or "")
                 or n > 0)

            def together(d):
                first, button = words(d, "#ann-text")[0], d.find_element(By.ID, "ann-pos")
                a, b = rect(d, first), rect(d, button)
                return 0 <= a["top"] and a["bottom"] <= b["top"] and b["bottom"] <= 844
            wait(browser, together)
            shown = text_of(browser, "#ann-info")
            click(browser, "#ann-pos")
            wait(browser, lambda d, shown=shown: text_of(d, "#ann-info") != shown)
            wait(browser, settled)
