"""The Data tab in a real browser: the aclImdb test split (25,000 reviews, from ../shared beside the
checkout; skipped without it) uploaded, scored and sliced, a row opened in Analyze; another visitor sees
none of it."""

import json
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC

from tests.conftest import SHARED_DATA
from tests.pages import (ROOT, click, event_finished, find, open_tab, settled, shot, tab_button, text_of, viewport,
                         wait)

pytest_plugins = ["tests.pages"]
pytestmark = pytest.mark.browser


@pytest.mark.skipif(not SHARED_DATA.exists(), reason=f"needs the aclImdb archive at {SHARED_DATA} (../shared beside "
                                                     "the checkout, as in CI)")
def test_the_data_tab_loads_and_slices_the_25000_test_reviews(page, axe):
    """Issue 21.1: the aclImdb test split (25,000 reviews) uploaded, scored once with progress, then sliced:
    a confusion-matrix cell, a word, a column; a row opens in Analyze. Prints how long each step takes."""
    browser = page
    open_tab(browser, "Data")
    t0 = time.perf_counter()
    browser.find_element(By.CSS_SELECTOR, "#data-upload input[type=file]").send_keys(str(SHARED_DATA))
    wait(browser, lambda d: "25,000 reviews scored" in text_of(d, "#data-status"), timeout=300)
    wait(browser, lambda d: "Slice: 25,000 reviews" in text_of(d, "#data-summary"))
    loaded = time.perf_counter() - t0
    overall = text_of(browser, "#data-summary")
    accuracy = float(overall.split("Accuracy ")[1].split("%")[0]) / 100
    test = json.loads((ROOT / "exported" / "metadata.json").read_text())["metrics"]["test"]["accuracy"]
    assert accuracy == pytest.approx(test, abs=0.001)  # the same model on the same reviews as the model card
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#data-reliability canvas, #data-reliability svg"))
    # a confusion-matrix cell is a slice: the table then holds exactly its reviews
    cell = find(browser, "#data-cell-pos-wrong")
    n = int(cell.text.split()[0].replace(",", ""))  # "1,234 wrong": the count, in a 2x2 grid
    t0 = time.perf_counter()
    cell.click()
    wait(browser, lambda d: f"Slice: {n:,} reviews" in text_of(d, "#data-summary") and "Accuracy 0.0%" in text_of(d, "#data-summary"))
    sliced = time.perf_counter() - t0
    assert f"of {-(-n // 50)}" in text_of(browser, "#data-pages")  # 50 rows a page
    # and a word within it
    word = find(browser, "#data-word input, #data-word textarea")
    word.send_keys("boring", Keys.ENTER)
    wait(browser, lambda d: "Slice: " in text_of(d, "#data-summary") and f"Slice: {n:,}" not in text_of(d, "#data-summary"))
    assert "boring" in text_of(browser, "#data-table").lower() or "Slice: 0 reviews" in text_of(browser, "#data-summary")
    # a row opens in Analyze with a click on its text
    shot(browser, "data")
    cell = wait(browser, lambda d: next((c for c in d.find_elements(By.CSS_SELECTOR, "#data-table [role=gridcell]")
                                         if c.is_displayed() and c.get_attribute("data-col") == "8"), None))
    shown, clicked = " ".join(cell.text.split()), cell.get_attribute("data-row")
    t0 = time.perf_counter()
    cell.click()
    wait(browser, lambda d: tab_button(d, "Analyze").get_attribute("aria-selected") == "true")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#result .sl-verdict"))
    opened = time.perf_counter() - t0
    text = browser.find_element(By.CSS_SELECTOR, "#review textarea").get_attribute("value")
    assert " ".join(text.split()).startswith(shown[:100])  # the review of the row clicked
    # ... or another with its number typed, from the keyboard
    open_tab(browser, "Data")
    other = wait(browser, lambda d: d.execute_script(
        "const c = [...document.querySelectorAll('#data-table [role=gridcell]')].filter(c => c.dataset.row !== "
        "arguments[0] && (c.dataset.col === '0' || c.dataset.col === '8')).map(c => c.textContent.trim());"
        "return c.length >= 2 ? c : null", clicked))
    box = find(browser, "#data-row input")
    box.clear()
    box.send_keys(other[0], Keys.ENTER)
    wait(browser, lambda d: " ".join(d.find_element(By.CSS_SELECTOR, "#review textarea").get_attribute("value").split())
         .startswith(" ".join(other[1].split())[:100]))
    assert tab_button(browser, "Analyze").get_attribute("aria-selected") == "true"
    print(f"\nData tab, 25,000 test reviews: load and score {loaded:.1f} s, a confusion cell {sliced * 1000:.0f} ms, "
          f"a row into Analyze {opened * 1000:.0f} ms")
    # a row number that is not in the table: a warning, and Analyze's review is left as it was, usable
    open_tab(browser, "Data")
    box = find(browser, "#data-row input")
    box.clear()
    box.send_keys("99999", Keys.ENTER)
    wait(browser, lambda d: "1 to 25,000" in " ".join(t.text for t in d.find_elements(By.CSS_SELECTOR, ".toast-body")))
    open_tab(browser, "Analyze")
    assert not [e for e in browser.find_elements(By.CSS_SELECTOR, "#review .error") if e.is_displayed()]
    assert " ".join(browser.find_element(By.CSS_SELECTOR, "#review textarea").get_attribute("value").split()) \
        .startswith(" ".join(other[1].split())[:100])
    # another visitor (a page of their own) sees none of this visitor's file
    mine, url = browser.current_window_handle, browser.current_url
    browser.switch_to.new_window("tab")
    browser.get(url)
    wait(browser, EC.presence_of_element_located((By.CSS_SELECTOR, "#review textarea")))
    open_tab(browser, "Data")
    negative = "//*[@id='data-label']//label[contains(., 'negative')]"
    with event_finished(browser, "#data-summary"):  # the slice's event ran, and came back having changed nothing
        click(browser, negative)
    assert browser.find_element(By.XPATH, negative + "//input").is_selected()  # (the click did choose it)
    assert "Slice" not in text_of(browser, "#data-summary") and "Loaded" not in text_of(browser, "#data-status")
    browser.close()
    browser.switch_to.window(mine)
    for close in browser.find_elements(By.CSS_SELECTOR, ".toast-close"):  # Gradio's toast, not ours, for axe
        if close.is_displayed():
            close.click()
    open_tab(browser, "Data")
    wait(browser, settled)
    axe(browser, "data")
    viewport(browser, 390, 844)
    axe(browser, "data at 390x844")
    viewport(browser, 1366, 900)
