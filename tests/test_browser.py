"""The app in a real browser (Debian's headless Chromium through chromedriver), at 1366x900 and
at phone width (390x844), walked through as a person would use it; axe-core (from the npm
registry, installed by scripts/test into tests/axe) checks each tab with a result on screen.

Screenshots of each tab go to artifacts/screenshots/ for people to look at (the README's come from here).
"""

import json
import os
import sqlite3
import urllib.request
from contextlib import contextmanager

import pytest

os.environ["SE_AVOID_STATS"] = "true"  # Selenium Manager must never run (it calls outside hosts)
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from bench.interaction import REVIEWS as INTERACTION_REVIEWS, click_to_colours
from serve.app.palette import NEGATIVE, POSITIVE
from tests.conftest import SHARED_DATA
from tests.servers import ROOT, Server

pytestmark = pytest.mark.browser

SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_FLAGS = ("--headless --no-sandbox --disable-gpu --disable-background-networking "
                  "--disable-component-update --disable-sync --no-first-run --window-size=1400,2000").split()
REVIEWS = ["A tender, funny film with a superb cast; I loved every minute.",
           "Dull and far too long, the jokes never land and the plot makes no sense.",
           "It was fine, some good scenes and some bad ones.",
           "An outstanding script and a brilliant ending."]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={tmp_path_factory.mktemp('chrome')}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def wait(driver, condition, timeout=30):
    return WebDriverWait(driver, timeout).until(condition)


# An element each tab always shows: a tab's content mounts only when the tab is first opened.
TAB_CONTENT = {"Analyze": "#review", "Data": "#data-upload", "Annotate": "#ann-name", "Team": "#team-refresh", "Compare": "#cmp-review",
               "Model": "#card"}


def tab_button(driver, name):
    return next((t for t in driver.find_elements(By.CSS_SELECTOR, "button[role=tab]") if t.text.strip() == name), None)


def open_tab(driver, name):
    """Open a tab and wait until it is selected, its content shown and no event is running."""
    wait(driver, lambda d: tab_button(d, name)).click()
    wait(driver, lambda d: tab_button(d, name).get_attribute("aria-selected") == "true")
    wait(driver, lambda d: any(e.is_displayed() for e in d.find_elements(By.CSS_SELECTOR, TAB_CONTENT[name])))
    wait(driver, settled)


def settled(driver):
    """No event is running: every Gradio progress overlay is hidden (a screenshot or an axe run sees
    the result, not a spinner over it)."""
    return driver.execute_script("return !Array.from(document.querySelectorAll('.wrap')).some("
                                 "e => /\\b(full|minimal)\\b/.test(e.className) && !e.classList.contains('hide'))")


def plots_drawn(driver):
    """How many plots on screen have drawn their lines (Vega draws them after the tab mounts)."""
    return driver.execute_script("return Array.from(document.querySelectorAll('.vega-embed svg.marks')).filter("
                                 "s => s.getBoundingClientRect().width > 0 && s.querySelector('path')).length")


def shot(driver, name):
    """A screenshot, the mouse parked on the title so that no tooltip covers the page."""
    ActionChains(driver).move_to_element(driver.find_element(By.TAG_NAME, "h1")).perform()
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def text_of(driver, css):
    found = driver.find_elements(By.CSS_SELECTOR, css)
    return found[0].text if found else ""


def viewport(driver, width, height):
    """The page as a device of this size sees it (the window itself cannot be made phone-narrow)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})


def rect(driver, element):
    return driver.execute_script("const r = arguments[0].getBoundingClientRect(); "
                                 "return {top: r.top, bottom: r.bottom, left: r.left, right: r.right};", element)


def rgb(colour):
    return "rgb({}, {}, {})".format(*colour)


def style(driver, element, prop, pseudo=None):
    return driver.execute_script("return getComputedStyle(arguments[0], arguments[2]).getPropertyValue(arguments[1])",
                                 element, prop, pseudo)


def analyze(driver, text, wait_for="#result .sl-verdict"):
    box = wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "#review textarea")))
    box.clear()
    driver.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'));",
                          box, text)  # send_keys types a long review one key at a time
    driver.execute_script("const r = document.querySelector('#result .sl-review'); if (r) r.dataset.old = '1';")
    driver.find_element(By.ID, "analyze").click()
    wait(driver, lambda d: d.execute_script(
        "const r = document.querySelector('#result .sl-review'); return r && !r.dataset.old;"))
    return wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, wait_for)))


def words(driver, root="#result"):
    return driver.find_elements(By.CSS_SELECTOR, f"{root} .sl-tok")


# ---- accessibility ----------------------------------------------------------------------------
AXE = ROOT / "tests" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# Violations inside Gradio's own widgets, which we cannot change from the app; reported in the README.
GRADIO_OWN: set[tuple[str, str]] = set()  # none left: the upload button's name is fixed in the page (upload_names.js)
AXE_REPORT = ROOT / "artifacts" / "axe-report.json"


def axe(driver, where):
    """Run axe-core on the page; fail on any serious or critical violation outside GRADIO_OWN.
    Every finding (ours and Gradio's) is appended to artifacts/axe-report.json."""
    assert AXE.exists(), "axe-core is missing: scripts/test installs it (npm ci --prefix tests/axe)"
    driver.execute_script(AXE.read_text())
    found = driver.execute_async_script(
        "const done = arguments[0]; axe.run(document, {resultTypes: ['violations']}).then(r => done("
        "r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, "
        "nodes: v.nodes.map(n => n.target.join(' ') + ' ' + n.html.slice(0, 120))}))));")
    gradio, ours = [], []
    for v in found:
        for node in v["nodes"]:
            owner = gradio if any(v["id"] == rule and sel in node for rule, sel in GRADIO_OWN) else ours
            owner.append({"where": where, "rule": v["id"], "impact": v["impact"], "help": v["help"], "node": node})
    AXE_REPORT.parent.mkdir(parents=True, exist_ok=True)
    report = json.loads(AXE_REPORT.read_text()) if AXE_REPORT.exists() else {}
    report[where] = {"ours": ours, "gradio": gradio}
    AXE_REPORT.write_text(json.dumps(report, indent=1))
    serious = [f for f in ours if f["impact"] in ("serious", "critical")]
    assert not serious, f"{where}: {serious}"
    return found


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("app")
    with Server("--db", str(tmp / "db.sqlite3"), log=tmp / "server.log") as server:
        yield server


@pytest.fixture()
def page(browser, app_server):
    viewport(browser, 1366, 900)
    browser.get(app_server.url)
    wait(browser, EC.presence_of_element_located((By.CSS_SELECTOR, "#review textarea")))
    return browser



MAXLEN = json.loads((ROOT / "exported" / "metadata.json").read_text())["codec"]["maxlen"]  # the model reads this many ids
REVIEW = "What a film!\n\nThe cast is superb, the script sharp; I loved it. Not bad at all, really."
FILLER = "The story follows a teacher who moves to a small town by the sea. "  # 14 words
LONG = ("Dreadful, I hated it. " + FILLER * (MAXLEN // 14 + 10)
        + "But the final scene is wonderful.")


def test_analyze_shows_the_review_as_written_with_a_legend_and_exact_values(page):
    browser = page
    analyze(browser, REVIEW)
    verdict = browser.find_element(By.CSS_SELECTOR, "#result .sl-badge")
    assert verdict.text in ("Positive", "Negative")
    assert style(browser, verdict, "background-color") == rgb(POSITIVE if verdict.text == "Positive" else NEGATIVE)
    # the text as typed: punctuation and the blank line between paragraphs
    text = browser.find_element(By.CSS_SELECTOR, "#result .sl-text")
    assert text.get_attribute("textContent") == REVIEW
    assert [w.text for w in words(browser)][:3] == ["What", "a", "film"]
    legend = text_of(browser, "#result .sl-legend")
    assert "toward negative" in legend and "toward positive" in legend and "change in P(positive)" in legend
    # the result sits beside the form at 1366x900, in view
    form, result = rect(browser, browser.find_element(By.ID, "review")), rect(browser, browser.find_element(By.ID, "result"))
    assert result["left"] >= form["right"] - 1 and result["top"] < 900
    # the exact value on hover...
    superb = next(w for w in words(browser) if w.text == "superb")
    ActionChains(browser).move_to_element(superb).perform()
    tip = superb.get_attribute("data-tip")
    assert tip.startswith("superb: +") and "points of P(positive)" in tip
    assert style(browser, superb, "content", "::after").strip('"') == tip
    # ...and without a mouse: Tab from the Analyze button lands on the first word, arrows move on
    browser.find_element(By.ID, "analyze").send_keys(Keys.TAB)
    first = browser.switch_to.active_element
    assert first.get_attribute("data-i") == "0"
    first.send_keys(Keys.ARROW_RIGHT)
    second = browser.switch_to.active_element
    assert second.get_attribute("data-i") == "1"
    assert "points of P(positive)" in style(browser, second, "content", "::after")
    # Enter (or a click) on a word: its neighbours right under the text, in view
    second.send_keys(Keys.ENTER)
    panel = wait(browser, lambda d: next((p for p in d.find_elements(By.CSS_SELECTOR, "#result .sl-nb") if p.is_displayed()), None))
    assert 'Nearest words to "a"' in panel.text
    assert panel.find_element(By.CSS_SELECTOR, ".sl-nb-value").text == second.get_attribute("data-tip")  # for touch
    box = rect(browser, panel)
    assert 0 <= box["top"] and box["bottom"] <= 900
    shot(browser, "analyze")
    # a new method re-explains at once, in its own units
    browser.find_element(By.XPATH, "//*[@id='method']//label[contains(., 'contextual decomposition')]").click()
    wait(browser, lambda d: "logit contribution" in text_of(d, "#result .sl-legend"))
    assert "logit" in words(browser)[0].get_attribute("data-tip")
    axe(browser, "analyze")
    # an error clears the previous result instead of leaving it beside the new input
    browser.find_element(By.CSS_SELECTOR, "#review textarea").clear()
    browser.find_element(By.CSS_SELECTOR, "#review textarea").send_keys("   ")
    browser.find_element(By.ID, "analyze").click()
    wait(browser, lambda d: "Type or paste a review first" in d.find_element(By.TAG_NAME, "body").text)
    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, "#result .sl-review"))
    assert not [e for e in browser.find_elements(By.ID, "running") if e.is_displayed()]
    # counts read as English
    analyze(browser, "Wonderful")
    notice = text_of(browser, "#result .sl-notice")
    assert "has 1 word;" in notice and "read it after" in notice and "1 words" not in notice


def test_two_methods_side_by_side_with_their_agreement(page):
    """Issue 21.2: two methods on the same review at once, with the rank correlation of their word scores,
    the overlap of their strongest words and their agreement on direction; the same method twice is refused."""
    browser = page
    analyze(browser, REVIEW)
    browser.find_element(By.CSS_SELECTOR, "#methods-box button").click()
    browser.find_element(By.XPATH, "//*[@id='method-b']//label[contains(., 'contextual')]").click()
    browser.find_element(By.ID, "methods-compare").click()
    agreement = wait(browser, lambda d: "Spearman" in text_of(d, "#methods-agreement") and text_of(d, "#methods-agreement"))
    assert "of 5 are the same" in agreement and "pushed the same way" in agreement
    a, b = words(browser, "#side-a"), words(browser, "#side-b")
    assert len(a) == len(b) > 5 and [w.text for w in a] == [w.text for w in b]
    assert "logit" in b[0].get_attribute("data-tip") and "points of P(positive)" in a[0].get_attribute("data-tip")
    wait(browser, settled)
    axe(browser, "analyze, two methods")
    browser.find_element(By.XPATH, "//*[@id='method-b']//label[contains(., 'running')]").click()
    browser.find_element(By.ID, "methods-compare").click()
    wait(browser, lambda d: "two different methods" in d.find_element(By.TAG_NAME, "body").text)
    browser.find_element(By.CSS_SELECTOR, "#methods-box button").click()  # closed again for the tests after


def test_what_if_a_word_is_negated_or_dropped_or_the_review_edited(page):
    """Issue 21.3: from a clicked word, "Negate it" and "Drop this word" edit the what-if text and score it at
    once, with each word's contribution before and after; a hand edit is scored the same way."""
    browser = page
    analyze(browser, REVIEW)
    browser.find_element(By.CSS_SELECTOR, "#whatif-box button").click()
    box = wait(browser, lambda d: next((b for b in d.find_elements(By.CSS_SELECTOR, "#whatif textarea") if b.is_displayed()), None))
    wait(browser, lambda d: box.get_attribute("value") == REVIEW)  # it starts from the review as analysed
    superb = next(w for w in words(browser, "#result") if w.text == "superb")
    superb.click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#result .sl-nb .sl-whatif"))
    next(b for b in browser.find_elements(By.CSS_SELECTOR, "#result .sl-whatif") if b.text == "Negate it").click()
    wait(browser, lambda d: "not superb" in box.get_attribute("value"))
    summary = wait(browser, lambda d: "→" in text_of(d, "#whatif-summary") and text_of(d, "#whatif-summary"))
    assert "points of P(positive)" in summary
    table = wait(browser, lambda d: "not (added)" in text_of(d, "#whatif-changes") and text_of(d, "#whatif-changes"))
    assert "superb" in table
    # a word of the edited review: drop it
    loved = next(w for w in words(browser, "#whatif-review") if w.text == "loved")
    loved.click()
    next(b for b in browser.find_elements(By.CSS_SELECTOR, "#whatif-review .sl-whatif") if b.text == "Drop this word").click()
    wait(browser, lambda d: "loved" not in box.get_attribute("value") and "loved (removed)" in text_of(d, "#whatif-changes"))
    # by hand
    box.clear()
    box.send_keys("Dreadful. The plot is not good.")
    browser.find_element(By.ID, "whatif-score").click()
    wait(browser, lambda d: "dreadful (added)" in text_of(d, "#whatif-changes"))
    # negating a "not" takes it away rather than doubling it
    wait(browser, lambda d: any(w.text == "not" for w in words(d, "#whatif-review")))
    next(w for w in words(browser, "#whatif-review") if w.text == "not").click()
    next(b for b in browser.find_elements(By.CSS_SELECTOR, "#whatif-review .sl-whatif") if b.text == "Negate it").click()
    wait(browser, lambda d: box.get_attribute("value") == "Dreadful. The plot is good.")
    wait(browser, lambda d: "not (removed)" in text_of(d, "#whatif-changes"))  # scored: nothing still drawing
    wait(browser, settled)
    axe(browser, "analyze, what if")
    browser.find_element(By.CSS_SELECTOR, "#whatif-box button").click()  # closed again for the tests after


def test_the_data_tab_loads_and_slices_the_25000_test_reviews(page):
    """Issue 21.1: the aclImdb test split (25,000 reviews) uploaded, scored once with progress, then sliced:
    a confusion-matrix cell, a word, a column; a row opens in Analyze. Prints how long each step takes."""
    import time

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
    cell = browser.find_element(By.ID, "data-cell-pos-wrong")
    n = int(cell.text.split(": ")[1].replace(",", ""))
    t0 = time.perf_counter()
    cell.click()
    wait(browser, lambda d: f"Slice: {n:,} reviews" in text_of(d, "#data-summary") and "Accuracy 0.0%" in text_of(d, "#data-summary"))
    sliced = time.perf_counter() - t0
    assert f"of {-(-n // 50)}" in text_of(browser, "#data-pages")  # 50 rows a page
    # and a word within it
    word = browser.find_element(By.CSS_SELECTOR, "#data-word input, #data-word textarea")
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
    box = browser.find_element(By.CSS_SELECTOR, "#data-row input")
    box.clear()
    box.send_keys(other[0], Keys.ENTER)
    wait(browser, lambda d: " ".join(d.find_element(By.CSS_SELECTOR, "#review textarea").get_attribute("value").split())
         .startswith(" ".join(other[1].split())[:100]))
    assert tab_button(browser, "Analyze").get_attribute("aria-selected") == "true"
    print(f"\nData tab, 25,000 test reviews: load and score {loaded:.1f} s, a confusion cell {sliced * 1000:.0f} ms, "
          f"a row into Analyze {opened * 1000:.0f} ms")
    # a row number that is not in the table: a warning, and Analyze's review is left as it was, usable
    open_tab(browser, "Data")
    box = browser.find_element(By.CSS_SELECTOR, "#data-row input")
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
    browser.find_element(By.XPATH, "//*[@id='data-label']//label[contains(., 'negative')]").click()
    time.sleep(1)  # a filter change with nothing loaded changes nothing
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


def test_a_long_review_is_folded_where_the_model_starts_reading(page):
    browser = page
    analyze(browser, LONG)
    fold = browser.find_element(By.CSS_SELECTOR, "#result details.sl-unread")
    assert fold.get_attribute("open") is None and "the model did not read" in fold.text
    summary = fold.find_element(By.TAG_NAME, "summary")
    assert "(show)" in summary.text and "(hide)" not in summary.text  # the label says what a click does
    marker = browser.find_element(By.CSS_SELECTOR, "#result .sl-start")
    assert marker.is_displayed() and "starts reading here" in marker.text
    shown = [w for w in words(browser) if w.is_displayed()]
    assert len(shown) == MAXLEN and shown[-1].text == "wonderful"  # the last MAXLEN words, nothing before
    browser.execute_script("window.scrollTo(0, 0)")
    shot(browser, "analyze-long")
    fold.find_element(By.TAG_NAME, "summary").click()
    assert [w for w in words(browser) if w.is_displayed()][0].text == "Dreadful"
    assert "(hide)" in summary.text and "(show)" not in summary.text
    assert "not read by the model" in words(browser)[0].get_attribute("data-tip")
    # the running score is by word number in the review, with the words in the tooltip
    running = wait(browser, lambda d: next((e for e in d.find_elements(By.ID, "running") if e.is_displayed()), None))
    assert "word number" in running.text  # the plot follows the coloured review in a second step
    # the encodings: the dropped words listed; no padding in a long review
    browser.find_element(By.XPATH, "//*[@id='encodings']//button[contains(., 'What the model sees')]").click()
    dropped = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#dropped textarea"))
    assert dropped.get_attribute("value").startswith("dreadful i hated it")
    shot(browser, "analyze-encodings")
    analyze(browser, "A fine film.")
    assert not browser.find_elements(By.ID, "dropped")  # no empty box when nothing was dropped
    pads = MAXLEN - 4  # <start> and three words
    table = wait(browser, lambda d: f"padding ({pads} zeros)" in text_of(d, "#padded") and text_of(d, "#padded"))
    cells = table.splitlines()  # one cell per line: padding summarised in one row, then the start marker
    at = cells.index(f"0-{pads - 1}")
    assert cells[at:at + 8] == [f"0-{pads - 1}", "0", f"<pad> x {pads}", f"padding ({pads} zeros)", str(pads), "1",
                                "<start>", "start"]


def test_on_a_phone_the_result_comes_into_view_after_the_form(page):
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
    next(w for w in words(browser) if w.text == "superb").click()
    panel = browser.find_element(By.CSS_SELECTOR, "#result .sl-nb")
    assert panel.is_displayed() and 0 <= rect(browser, panel)["top"] and rect(browser, panel)["bottom"] <= 845  # (sub-pixel rounding)
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    shot(browser, "analyze-phone")
    axe(browser, "analyze at 390x844")


def test_an_example_runs_on_click(page):
    from serve.app.blocks import EXAMPLES

    example = wait(page, lambda d: next((e for e in d.find_elements(By.CSS_SELECTOR, "#examples button, #examples tr")
                                         if e.is_displayed() and EXAMPLES[1][:20] in e.text), None))
    example.click()
    first_words = EXAMPLES[1].split()[:3]
    wait(page, lambda d: [w.text.strip(",.;!") for w in words(d)][:3] == [w.strip(",.;!") for w in first_words])
    assert page.find_element(By.CSS_SELECTOR, "#review textarea").get_attribute("value") == EXAMPLES[1]
    wait(page, lambda d: plots_drawn(d) >= 1)  # the plot and tables follow, as after Analyze


def test_click_to_coloured_review_latency_is_measured_and_printed(page):
    """Issue 24's third figure, measured as bench/interaction.py measures it (inside the page, from the
    click to the new review's coloured words) and printed; the goal (p50 under 150 ms on 2 cores) is the
    benchmark's to report, a test only checks that every click shows its own review, coloured."""
    times = click_to_colours(page, None, repeats=12)
    words = page.find_elements(By.CSS_SELECTOR, "#result .sl-tok")
    assert len(words) == len(INTERACTION_REVIEWS[0].split()) and all(ms > 0 for ms in times)
    assert words[-1].text == INTERACTION_REVIEWS[0].split()[-1]  # 12 clicks: the last showed the first review
    ordered = sorted(times)
    print(f"\nclick Analyze -> coloured 250-word review: p50 {ordered[len(times) // 2]:.0f} ms, "
          f"max {ordered[-1]:.0f} ms over {len(times)} clicks")
    # the plot and the tables follow the review in a second step
    wait(page, lambda d: plots_drawn(d) >= 1)


def test_model_card_and_api_page(page):
    browser = page
    open_tab(browser, "Model")
    card = wait(browser, lambda d: d.find_element(By.ID, "card"))
    for part in ("Intended use", "Out of scope", "Limitations", "Known failure modes", "Data."):
        assert part in card.text
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "precision" in body and "recall" in body and "Accuracy by epoch" in body and "Loss" in body
    assert "Compared with the simple models you could use instead" in body
    headers = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "th") if h.is_displayed()]
    assert headers and all(h.strip() for h in headers)  # no empty table header
    wait(browser, lambda d: plots_drawn(d) == 2)  # accuracy and loss by epoch
    shot(browser, "model")
    axe(browser, "model")
    viewport(browser, 390, 844)  # on a phone nothing in the card scrolls sideways (a sha256 wraps)
    wait(browser, lambda d: d.execute_script("const c = document.getElementById('card'); "
                                             "return c.scrollWidth <= c.clientWidth;"))
    axe(browser, "model at 390x844")
    viewport(browser, 1366, 900)
    browser.find_element(By.CSS_SELECTOR, "footer .show-api").click()
    api = wait(browser, lambda d: "/explain" in d.find_element(By.TAG_NAME, "body").text and
               d.find_element(By.TAG_NAME, "body").text)
    assert api.index("/predict") < api.index("/explain") < api.index("/next_item")
    assert "Literal['running', 'occlusion', 'cd']" in api and "Example" in api
    shot(browser, "api")


def test_dark_mode_is_as_readable(page):
    browser = page
    browser.get(browser.current_url.split("?")[0] + "?__theme=dark")
    assert analyze(browser, LONG) and browser.execute_script("return document.body.classList.contains('dark')")
    browser.find_element(By.CSS_SELECTOR, "#result summary").click()  # the unread words, greyed
    axe(browser, "analyze, dark")
    shot(browser, "analyze-dark")
    open_tab(browser, "Annotate")
    axe(browser, "annotate, dark")
    open_tab(browser, "Team")
    axe(browser, "team, dark")
    open_tab(browser, "Model")
    wait(browser, lambda d: plots_drawn(d) == 2)
    axe(browser, "model, dark")


def annotate_next(browser):
    old = text_of(browser, "#ann-info")
    browser.find_element(By.ID, "ann-next").click()
    return wait(browser, lambda d: text_of(d, "#ann-info") != old and "Item" in text_of(d, "#ann-info")
                and text_of(d, "#ann-info"))


def name_box(browser):
    return browser.find_element(By.CSS_SELECTOR, "#ann-name input, #ann-name textarea")


def queue_csv(path, texts, prefix):
    """A file of our own reviews to annotate: ids PREFIX0, PREFIX1, ..., no labels."""
    path.write_text("id,text,label\n" + "\n".join(f'{prefix}{i},"{t}",' for i, t in enumerate(texts)) + "\n")
    return path


@contextmanager
def annotating(browser, src, db, *options, log):
    """The app queueing ``src`` into the database ``db`` (more ``options`` for serve), open on Annotate."""
    with Server("--db", str(db), "--annotate", str(src), *options, log=log) as server:
        browser.get(server.url)
        open_tab(browser, "Annotate")
        yield server


def pressed(browser):
    return [int(w.get_attribute("data-i")) for w in words(browser, "#ann-text") if w.get_attribute("aria-pressed") == "true"]


def test_annotate_twenty_reviews_with_the_keyboard_alone(browser, tmp_path):
    """Issue 20's flow: the name typed and Enter, then only keys; nothing renames the annotator, no
    error appears, every label lands; ? lists the keys and Esc closes it; e goes to the note and Esc
    comes back out of it, so the next key labels again."""
    src = tmp_path / "many.csv"
    queue_csv(src, [f"{REVIEWS[i % len(REVIEWS)]} (copy {i})" for i in range(24)], "k")
    db = tmp_path / "db.sqlite3"
    viewport(browser, 1366, 900)
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
        help_box = wait(browser, lambda d: next((e for e in d.find_elements(By.ID, "ann-help") if e.is_displayed()), None))
        assert "Next review" in help_box.text and "Edit the note" in help_box.text
        ActionChains(browser).send_keys(Keys.ESCAPE).perform()
        wait(browser, lambda d: not d.find_element(By.ID, "ann-help").is_displayed())
        # e: into the note; typed keys are text there; Esc: out again, and the next key labels
        ActionChains(browser).send_keys("e").perform()
        ActionChains(browser).send_keys("meh3").perform()
        note = browser.find_element(By.CSS_SELECTOR, "#ann-note input, #ann-note textarea")
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


def test_guidelines_and_the_files_own_columns_are_shown_while_annotating(browser, tmp_path):
    """Issue 20.7: --guidelines FILE.md in a panel (Markdown formats it; HTML in it stays text), and the
    file's columns beyond id/text/label beside each review."""
    rules = tmp_path / "rules.md"
    rules.write_text("# House rules\n\n- **Sarcasm** counts as negative\n\n<script>window.__pwned = 1</script>"
                     "<img src=x onerror=\"window.__pwned = 2\">\n")
    src = tmp_path / "meta.csv"
    src.write_text('id,text,label,genre,year\ng1,"' + REVIEWS[0] + '",,drama,2001\n')
    viewport(browser, 1366, 900)
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
    viewport(browser, 1366, 900)
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
        browser.find_element(By.CSS_SELECTOR, "#ann-show-model input").click()
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
    viewport(browser, 1366, 900)
    with annotating(browser, src, db, log=tmp_path / "server.log"):
        name_box(browser).send_keys("hana\n")
        wait(browser, lambda d: "Item" in text_of(d, "#ann-info"))
        first = text_of(browser, "#ann-info").split("#")[1].split(":")[0]
        browser.find_element(By.CSS_SELECTOR, "#ann-note input, #ann-note textarea").send_keys("first one")
        browser.find_element(By.ID, "ann-pos").click()
        wait(browser, lambda d: "Done 1 / 4" in text_of(d, "#ann-progress"))
        browser.find_element(By.ID, "ann-neg").click()
        wait(browser, lambda d: "Done 2 / 4" in text_of(d, "#ann-progress"))
        wait(browser, settled)
        browser.find_element(By.CSS_SELECTOR, "#ann-history-box button").click()  # open the list
        entries = wait(browser, lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, "#ann-history label")
                                           if e.is_displayed()])
        assert len(entries) == 2 and entries[0].text.startswith("Negative") and entries[1].text.startswith("Positive")
        assert f"{first} - " in entries[1].text
        entries[1].click()
        wait(browser, lambda d: "Revisiting your positive label" in text_of(d, "#ann-info"))
        assert f"#{first}:" in text_of(browser, "#ann-info")
        note = browser.find_element(By.CSS_SELECTOR, "#ann-note input, #ann-note textarea")
        assert note.get_attribute("value") == "first one"
        browser.find_element(By.ID, "ann-neg").click()  # changed their mind
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
    viewport(browser, 1366, 900)
    with annotating(browser, src, tmp_path / "db.sqlite3", log=tmp_path / "server.log"):
        name_box(browser).send_keys("lena\n")
        wait(browser, lambda d: "Item" in text_of(d, "#ann-info"))
        shown = [w for w in words(browser, "#ann-text") if w.is_displayed()]
        assert len(shown) == len(LONG.split()) > MAXLEN and shown[0].text == "Dreadful"
        assert not browser.find_elements(By.CSS_SELECTOR, "#ann-text details")
        marker = browser.find_element(By.CSS_SELECTOR, "#ann-text .sl-start")
        assert not marker.is_displayed()
        browser.find_element(By.CSS_SELECTOR, "#ann-show-model input").click()
        wait(browser, lambda d: marker.is_displayed())
        assert "not read by the model" in marker.text and "starts reading here" in marker.text
        assert style(browser, shown[0], "color") == "rgb(90, 90, 90)"  # greyed with the model shown


def test_on_a_phone_the_review_and_the_label_buttons_are_seen_together(browser, tmp_path):
    """Issue 20.2: at 390x844 the label bar stays at the bottom of the screen and each new review starts at
    the top, so no item needs scrolling to be read and labelled."""
    src = tmp_path / "phone.csv"  # reviews longer than a phone's screen
    queue_csv(src, [" ".join([r] * 12) for r in REVIEWS], "p")
    viewport(browser, 390, 844)
    try:
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
                browser.find_element(By.ID, "ann-pos").click()
                wait(browser, lambda d, shown=shown: text_of(d, "#ann-info") != shown)
                wait(browser, settled)
    finally:
        viewport(browser, 1366, 900)


def test_two_annotators_with_overlap_2_and_a_lead_settling_their_disagreement(browser, tmp_path):
    """Issue 20.6: with --overlap 2 every review goes to alice (here, by keys) and to bob (by the API);
    the Team tab shows their agreement and lists the review they disagree on beside the model's view;
    a lead settles it, and the store's export carries both votes and the settled label."""
    from gradio_client import Client

    from serve.store.annotations import AnnotationStore

    src = tmp_path / "team.csv"
    queue_csv(src, REVIEWS[:3], "r")
    db = tmp_path / "db.sqlite3"
    viewport(browser, 1366, 900)
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
        browser.find_element(By.CSS_SELECTOR, "#team-disputes input").click()
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
        browser.find_element(By.CSS_SELECTOR, "#team-lead input, #team-lead textarea").send_keys("lena")
        browser.find_element(By.ID, "team-neg").click()
        wait(browser, lambda d: "0 reviews to settle" in text_of(d, "#team-summary"))
        assert not [t for t in browser.find_elements(By.CSS_SELECTOR, ".toast-body") if t.is_displayed()
                    and "rror" in t.text]
    store = AnnotationStore(db, overlap=2)
    out = tmp_path / "export.jsonl"
    assert store.export(out) == (3, 0)
    rows = {r["source_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert rows["r1"]["votes"] == {"alice": "neg", "bob": "pos"} and rows["r1"]["adjudicated"] == "neg"
    assert rows["r1"]["label"] == 0 and rows["r0"]["label"] == 1 and rows["r0"]["adjudicated"] is None


def test_annotate_as_a_labeller_would(browser, tmp_path):
    src = tmp_path / "to_label.csv"
    queue_csv(src, REVIEWS, "r")
    db = tmp_path / "db.sqlite3"
    viewport(browser, 1366, 900)
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
        browser.find_element(By.CSS_SELECTOR, "#ann-show-model input").click()
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
        note = browser.find_element(By.CSS_SELECTOR, "#ann-note input, #ann-note textarea")
        note.send_keys("clear")
        browser.find_element(By.ID, "ann-pos").click()
        wait(browser, lambda d: "Done 1 / 4" in text_of(d, "#ann-progress"))
        row = sqlite3.connect(db).execute("SELECT label, note, rationale, rationale_tokens FROM decisions").fetchone()
        tokens = [t.text.lower() for t in words(browser, "#ann-text")]  # (the next review's; checked below)
        assert row[:2] == ("pos", "clear") and json.loads(row[3]) == [1, 3, 4] and len(json.loads(row[2])) == 3
        # Undo brings the review back with the note and the rationale entered
        browser.find_element(By.ID, "ann-undo").click()
        wait(browser, lambda d: text_of(d, "#ann-info") == first)
        wait(browser, lambda d: pressed(d) == [1, 3, 4])
        assert browser.find_element(By.CSS_SELECTOR, "#ann-note input, #ann-note textarea").get_attribute("value") == "clear"
        assert "Done 0 / 4" in text_of(browser, "#ann-progress")
        # Next moves on; the passed item is free again
        second = annotate_next(browser)
        assert second != first and tokens
        leases = sqlite3.connect(db).execute("SELECT item_id FROM leases WHERE annotator = 'alice'").fetchall()
        assert [lease[0] for lease in leases] == [second.split("Item ")[1].split(":")[0]]
        # a new queue order applies at once
        browser.find_element(By.XPATH, "//*[@id='ann-order']//label[contains(., 'file order')]").click()
        wait(browser, lambda d: "#r0:" in text_of(d, "#ann-info"))
        # the name, the queue order, the item, its half-written note and marked words survive a reload
        words(browser, "#ann-text")[2].click()
        browser.find_element(By.CSS_SELECTOR, "#ann-note input, #ann-note textarea").send_keys("half written")
        browser.refresh()
        open_tab(browser, "Annotate")
        wait(browser, lambda d: name_box(d).get_attribute("value") == "alice")
        wait(browser, lambda d: "#r0:" in text_of(d, "#ann-info"))
        checked = browser.find_element(By.XPATH, "//*[@id='ann-order']//label[contains(., 'file order')]//input")
        assert checked.is_selected()
        wait(browser, lambda d: pressed(d) == [2])
        note_box = browser.find_element(By.CSS_SELECTOR, "#ann-note input, #ann-note textarea")
        wait(browser, lambda d: note_box.get_attribute("value") == "half written")
        browser.find_element(By.ID, "ann-progress").click()  # focus on the page, not in a field
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
        browser.find_element(By.ID, "ann-progress").click()
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
        browser.find_element(By.XPATH, "//*[@id='ann-export']/preceding::label[contains(., 'jsonl')][1]").click()
        browser.find_element(By.ID, "ann-export").click()
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
    viewport(browser, 1366, 900)
    with Server(*args, log=tmp_path / "server1.log") as server:
        browser.get(server.url)
        open_tab(browser, "Annotate")
        name_box(browser).clear()
        name_box(browser).send_keys("alice\n")
        wait(browser, lambda d: "Item" in text_of(d, "#ann-info"))
        first = text_of(browser, "#ann-info")
        browser.find_element(By.ID, "ann-pos").click()
        wait(browser, lambda d: "Done 1 / 4" in text_of(d, "#ann-progress"))
        second = text_of(browser, "#ann-info")
        assert second != first
        browser.find_element(By.ID, "ann-progress").click()
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


class Logger:
    """An HTTP server on loopback that records every request: nothing on the page may reach it."""

    def __init__(self):
        import http.server
        import threading

        self.paths = []
        log = self.paths

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                log.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_untrusted_text_from_files_and_forms_never_becomes_markup(browser, tmp_path):
    viewport(browser, 1366, 900)
    logger = Logger()
    u = logger.url
    js_url = u.replace("/", "\\u002f")
    hostile_name = tmp_path / f"x<img src=x onerror=fetch('{js_url}\\u002fname')>.csv"
    hostile_name.write_text("")  # empty: the error message names the file
    src = tmp_path / "**bold** [a](b).csv"
    src.write_text(
        "id,text,label\n"
        f'"![i]({u}/id-img) <img src={u}/id-tag>",the plot was splendid <img src="{u}/text-img">,pos\n'
        f'bad,the music was dreadful,"![x]({u}/label.png)"\n'
        f'"[link]({u}/id-link)","![m]({u}/text-md) dreadful",neg\n')
    try:
        with Server("--db", str(tmp_path / "db.sqlite3"), log=tmp_path / "server.log") as server:
            browser.get(server.url)
            hostile = f'<img src="{u}/analyze"> ![a]({u}/analyze-md) a splendid film'
            analyze(browser, hostile)
            assert browser.find_element(By.CSS_SELECTOR, "#result .sl-text").get_attribute("textContent") == hostile
            open_tab(browser, "Annotate")
            upload = browser.find_element(By.CSS_SELECTOR, "#ann-upload input[type=file]")
            upload.send_keys(str(hostile_name))
            wait(browser, lambda d: "empty file" in d.find_element(By.TAG_NAME, "body").text)
            assert "onerror=fetch(" in browser.find_element(By.TAG_NAME, "body").text  # the name, as text
            browser.find_element(By.CSS_SELECTOR, "#ann-upload button[aria-label=Clear]").click()
            wait(browser, EC.presence_of_element_located((By.CSS_SELECTOR, "#ann-upload input[type=file]")))
            browser.find_element(By.CSS_SELECTOR, "#ann-upload input[type=file]").send_keys(str(src))
            wait(browser, lambda d: "Loaded" in text_of(d, "#ann-load-status"), timeout=60)
            status = text_of(browser, "#ann-load-status")
            # shown as typed (Gradio itself drops '*' from uploaded file names)
            assert "bold [a](b).csv" in status and f"![x]({u}/label.png)" in status
            name_box(browser).send_keys("alice\n")
            info = wait(browser, lambda d: "Item" in text_of(d, "#ann-info") and text_of(d, "#ann-info"))
            assert u in info  # the id is shown literally, not as a link or an image
            browser.find_element(By.ID, "ann-pos").click()
            wait(browser, lambda d: "Done 1 / " in text_of(d, "#ann-progress"))
            wait(browser, lambda d: text_of(d, "#ann-info") not in ("", info))  # the next review
            browser.find_element(By.CSS_SELECTOR, "#ann-show-model input").click()  # its words, coloured
            wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#ann-text .sl-model-only").is_displayed())
            wait(browser, lambda d: {style(d, w, "background-color") for w in words(d, "#ann-text")}
                 != {"rgba(0, 0, 0, 0)"})
            shot(browser, "untrusted")
            links = [a.get_attribute("href") or "" for a in browser.find_elements(By.TAG_NAME, "a")]
            images = [i.get_attribute("src") or "" for i in browser.find_elements(By.TAG_NAME, "img")]
            assert not [x for x in links + images if u in x]
        assert logger.paths == []
    finally:
        logger.close()


def test_compare_tab_shows_both_models_side_by_side(browser, tmp_path):
    from tests.tiny_model import FIXTURE

    viewport(browser, 1366, 900)
    with Server("--db", str(tmp_path / "db.sqlite3"), "--compare", str(FIXTURE), log=tmp_path / "server.log") as server:
        browser.get(server.url)
        open_tab(browser, "Compare")
        box = wait(browser, EC.presence_of_element_located((By.CSS_SELECTOR, "#cmp-review textarea")))
        box.send_keys("The plot was splendid and the acting superb.")
        browser.find_element(By.ID, "cmp-go").click()
        wait(browser, lambda d: "A: " in text_of(d, "#cmp-summary") and "B: " in text_of(d, "#cmp-summary"))
        for side in ("#cmp-a", "#cmp-b"):  # each side in the Analyze tab's view and colours
            badge = browser.find_element(By.CSS_SELECTOR, f"{side} .sl-badge")
            assert style(browser, badge, "background-color") == rgb(POSITIVE if badge.text == "Positive" else NEGATIVE)
            assert [w.text for w in words(browser, side)][-1] == "superb"
        assert not [e for e in browser.find_elements(By.ID, "cmp-changed") if e.is_displayed()]  # no empty table
        # a new method re-runs both sides at once
        browser.find_element(By.XPATH, "//*[@id='cmp-method']//label[contains(., 'contextual decomposition')]").click()
        for side in ("#cmp-a", "#cmp-b"):
            wait(browser, lambda d, side=side: "logit contribution" in text_of(d, f"{side} .sl-legend"))
        wait(browser, settled)
        shot(browser, "compare")
        axe(browser, "compare")
