"""The Analyze tab in a real browser at 1366x900, walked through as a person would use it: the review as
written with its colours, legend and exact values, two methods side by side, the what-if box, a long
review folded where the model starts reading, an example, and the click-to-colours latency."""

import time

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from serve.app.palette import NEGATIVE, POSITIVE
from tests.pages import (LONG, MAXLEN, REVIEW, analyze, click, click_text, find, plots_drawn, rect, rgb, settled, shot,
                         style, text_of, wait, words)

pytest_plugins = ["tests.pages"]
pytestmark = pytest.mark.browser


def test_analyze_shows_the_review_as_written_with_a_legend_and_exact_values(page, axe):
    browser = page
    analyze(browser, REVIEW)
    verdict = browser.find_element(By.CSS_SELECTOR, "#result .sl-badge")
    assert verdict.text in ("Positive", "Negative")
    assert style(browser, verdict, "background-color") == rgb(POSITIVE if verdict.text == "Positive" else NEGATIVE)
    # the text as typed: punctuation and the blank line between paragraphs
    text = browser.find_element(By.CSS_SELECTOR, "#result .sl-text")
    assert text.get_attribute("textContent") == REVIEW
    assert [w.text for w in words(browser)][:3] == ["What", "a", "film"]
    legend = text_of(browser, "#result .sl-legend")  # the most faithful method first: contextual decomposition
    assert "toward negative" in legend and "toward positive" in legend and "logit contribution" in legend
    # the result sits beside the form at 1366x900, in view
    form, result = rect(browser, browser.find_element(By.ID, "review")), rect(browser, browser.find_element(By.ID, "result"))
    assert result["left"] >= form["right"] - 1 and result["top"] < 900
    # the exact value on hover...
    superb = next(w for w in words(browser) if w.text == "superb")
    ActionChains(browser).move_to_element(superb).perform()
    tip = superb.get_attribute("data-tip")
    assert tip.startswith("superb: +") and "logit" in tip
    assert style(browser, superb, "content", "::after").strip('"') == tip
    # ...and without a mouse: Tab from the Analyze button lands on the first word, arrows move on
    browser.find_element(By.ID, "analyze").send_keys(Keys.TAB)
    first = browser.switch_to.active_element
    assert first.get_attribute("data-i") == "0"
    first.send_keys(Keys.ARROW_RIGHT)
    second = browser.switch_to.active_element
    assert second.get_attribute("data-i") == "1"
    assert "logit" in style(browser, second, "content", "::after")
    # Enter (or a click) on a word: its neighbours right under the text, in view
    second.send_keys(Keys.ENTER)
    panel = find(browser, "#result .sl-nb")
    assert 'Nearest words to "a"' in panel.text
    assert panel.find_element(By.CSS_SELECTOR, ".sl-nb-value").text == second.get_attribute("data-tip")  # for touch
    box = rect(browser, panel)
    assert 0 <= box["top"] and box["bottom"] <= 900
    shot(browser, "analyze")
    # a new method re-explains at once, in its own units
    click(browser, "//*[@id='method']//label[contains(., 'running score')]")
    wait(browser, lambda d: "change in P(positive)" in text_of(d, "#result .sl-legend"))
    assert "points of P(positive)" in words(browser)[0].get_attribute("data-tip")
    axe(browser, "analyze")
    # an error clears the previous result instead of leaving it beside the new input
    review = find(browser, "#review textarea")
    review.clear()
    review.send_keys("   ")
    click(browser, "#analyze")
    wait(browser, lambda d: "Type or paste a review first" in d.find_element(By.TAG_NAME, "body").text)
    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, "#result .sl-review"))
    assert not [e for e in browser.find_elements(By.ID, "running") if e.is_displayed()]
    # counts read as English
    analyze(browser, "Wonderful")
    notice = text_of(browser, "#result .sl-notice")
    assert "has 1 word;" in notice and "read it after" in notice and "1 words" not in notice


def test_two_methods_side_by_side_with_their_agreement(page, axe):
    """Issue 21.2: two methods on the same review at once, with the rank correlation of their word scores,
    the overlap of their strongest words and their agreement on direction; the same method twice is refused."""
    browser = page
    analyze(browser, REVIEW)
    click(browser, "#methods-box button")  # the accordion: its content is rendered once it opens
    click(browser, "//*[@id='method-b']//label[contains(., 'running')]")  # A: the method shown first (cd)
    click(browser, "#methods-compare")
    agreement = wait(browser, lambda d: "Spearman" in text_of(d, "#methods-agreement") and text_of(d, "#methods-agreement"))
    assert "of 5 are the same" in agreement and "pushed the same way" in agreement
    a, b = words(browser, "#side-a"), words(browser, "#side-b")
    assert len(a) == len(b) > 5 and [w.text for w in a] == [w.text for w in b]
    assert "logit" in a[0].get_attribute("data-tip") and "points of P(positive)" in b[0].get_attribute("data-tip")
    wait(browser, settled)
    axe(browser, "analyze, two methods")
    click(browser, "//*[@id='method-b']//label[contains(., 'contextual')]")
    click(browser, "#methods-compare")
    wait(browser, lambda d: "two different methods" in d.find_element(By.TAG_NAME, "body").text)


def test_what_if_a_word_is_negated_or_dropped_or_the_review_edited(page, axe):
    """Issue 21.3: from a clicked word, "Negate it" and "Drop this word" edit the what-if text and score it at
    once, with each word's contribution before and after; a hand edit is scored the same way."""
    browser = page
    analyze(browser, REVIEW)
    click(browser, "#whatif-box button")
    box = find(browser, "#whatif textarea")
    wait(browser, lambda d: box.get_attribute("value") == REVIEW)  # it starts from the review as analysed
    superb = next(w for w in words(browser, "#result") if w.text == "superb")
    superb.click()
    click_text(browser, "#result .sl-whatif", "Negate it")
    wait(browser, lambda d: "not superb" in box.get_attribute("value"))
    summary = wait(browser, lambda d: "→" in text_of(d, "#whatif-summary") and text_of(d, "#whatif-summary"))
    assert "logit units" in summary  # the method shown first, contextual decomposition
    table = wait(browser, lambda d: "not (added)" in text_of(d, "#whatif-changes") and text_of(d, "#whatif-changes"))
    assert "superb" in table
    # a word of the edited review: drop it
    loved = next(w for w in words(browser, "#whatif-review") if w.text == "loved")
    loved.click()
    click_text(browser, "#whatif-review .sl-whatif", "Drop this word")
    wait(browser, lambda d: "loved" not in box.get_attribute("value") and "loved (removed)" in text_of(d, "#whatif-changes"))
    # by hand
    box.clear()
    box.send_keys("Dreadful. The plot is not good.")
    click(browser, "#whatif-score")
    wait(browser, lambda d: "dreadful (added)" in text_of(d, "#whatif-changes"))
    # negating a "not" takes it away rather than doubling it
    click_text(browser, "#whatif-review .sl-tok", "not")
    click_text(browser, "#whatif-review .sl-whatif", "Negate it")
    wait(browser, lambda d: box.get_attribute("value") == "Dreadful. The plot is good.")
    wait(browser, lambda d: "not (removed)" in text_of(d, "#whatif-changes"))  # scored: nothing still drawing
    wait(browser, settled)
    axe(browser, "analyze, what if")


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
    summary.click()  # a <details> opens in the same task as the click: nothing to wait for
    assert [w for w in words(browser) if w.is_displayed()][0].text == "Dreadful"
    assert "(hide)" in summary.text and "(show)" not in summary.text
    assert "not read by the model" in words(browser)[0].get_attribute("data-tip")
    # the running score is by word number in the review, with the words in the tooltip
    running = find(browser, "#running")
    assert "word number" in running.text  # the plot follows the coloured review in a second step
    # the encodings: the dropped words listed; no padding in a long review
    click(browser, "//*[@id='encodings']//button[contains(., 'What the model sees')]")
    dropped = find(browser, "#dropped textarea", enabled=False)  # read-only
    assert dropped.get_attribute("value").startswith("dreadful i hated it")
    shot(browser, "analyze-encodings")
    analyze(browser, "A fine film.")
    pads = MAXLEN - 4  # <start> and three words
    table = wait(browser, lambda d: f"padding ({pads} zeros)" in text_of(d, "#padded") and text_of(d, "#padded"))
    # (the encodings of this review are in: the box of dropped words went with the same step)
    assert not browser.find_elements(By.ID, "dropped")  # no empty box when nothing was dropped
    cells = table.splitlines()  # one cell per line: padding summarised in one row, then the start marker
    at = cells.index(f"0-{pads - 1}")
    assert cells[at:at + 8] == [f"0-{pads - 1}", "0", f"<pad> x {pads}", f"padding ({pads} zeros)", str(pads), "1",
                                "<start>", "start"]


def test_an_example_runs_on_click(page):
    from serve.app.analyze_tab import EXAMPLES

    example = wait(page, lambda d: next((e for e in d.find_elements(By.CSS_SELECTOR, "#examples button, #examples tr")
                                         if e.is_displayed() and EXAMPLES[1][:20] in e.text), None))
    example.click()
    first_words = EXAMPLES[1].split()[:3]
    wait(page, lambda d: [w.text.strip(",.;!") for w in words(d)][:3] == [w.strip(",.;!") for w in first_words])
    assert page.find_element(By.CSS_SELECTOR, "#review textarea").get_attribute("value") == EXAMPLES[1]
    wait(page, lambda d: plots_drawn(d) >= 1)  # the plot and tables follow, as after Analyze


# ---- click to coloured review, as bench/interaction.py measures it (copied: tests never import bench/) ----
SENTENCE = ("the first half drags and the jokes fall flat but the final act is tense moving and "
            "beautifully shot with a lead performance that i will remember for years ")  # bench/explain.py's
LATENCY_WORDS = (SENTENCE.split() * 20)[:250]
LATENCY_REVIEWS = (" ".join(LATENCY_WORDS), " ".join(LATENCY_WORDS[:-1] + ["forever"]))  # one word apart

# Resolves with the milliseconds from the click to the new review's coloured words in the page.
CLICK_TO_COLOURS = """
const done = arguments[arguments.length - 1];
const old = document.querySelector('#result .sl-review');
if (old) old.dataset.old = '1';
const fresh = () => {
  const r = document.querySelector('#result .sl-review');
  return r && !r.dataset.old && r.querySelector('.sl-tok[style]');
};
const t0 = performance.now();
const watch = new MutationObserver(() => { if (fresh()) { watch.disconnect(); done(performance.now() - t0); } });
watch.observe(document.body, {childList: true, subtree: true, attributes: true});
document.getElementById('analyze').click();
"""
PAUSE = 0.4  # seconds between clicks, as a person's next click: pacing for the measure, not a wait for a result
FILL = "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}));"


def click_to_colours(driver, repeats: int) -> list[float]:
    """Milliseconds per Analyze click on the page the driver is on (the first, a warm-up, not counted);
    the two reviews alternate, so every click changes what is shown."""
    box = WebDriverWait(driver, 60).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#review textarea")))
    times = []
    for i in range(repeats + 1):
        time.sleep(PAUSE)
        driver.execute_script(FILL, box, LATENCY_REVIEWS[i % 2])
        ms = driver.execute_async_script(CLICK_TO_COLOURS)
        if i:
            times.append(float(ms))
    return times


def test_click_to_coloured_review_latency_is_measured_and_printed(page):
    """Issue 24's third figure, measured as bench/interaction.py measures it (inside the page, from the
    click to the new review's coloured words) and printed; the goal (p50 under 150 ms on 2 cores) is the
    benchmark's to report, a test only checks that every click shows its own review, coloured."""
    times = click_to_colours(page, repeats=12)
    shown = page.find_elements(By.CSS_SELECTOR, "#result .sl-tok")
    assert len(shown) == len(LATENCY_REVIEWS[0].split()) and all(ms > 0 for ms in times)
    assert shown[-1].text == LATENCY_REVIEWS[0].split()[-1]  # 12 clicks: the last showed the first review
    ordered = sorted(times)
    print(f"\nclick Analyze -> coloured 250-word review: p50 {ordered[len(times) // 2]:.0f} ms, "
          f"max {ordered[-1]:.0f} ms over {len(times)} clicks")
    # the plot and the tables follow the review in a second step
    wait(page, lambda d: plots_drawn(d) >= 1)
