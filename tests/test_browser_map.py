"""The Data tab's map and Analyze's "more like this" in a real browser (issue 34, points 1 and 2): a file of
our own reviews uploaded, every review a point; a box dragged on the map becomes the slice (the summary,
confusion matrix and table hold exactly the points inside it), a click on a point opens its review in
Analyze, and "more like this" lists the nearest reviews of the file with their labels and scores. axe-core
at 1366 and 390 pixels."""

import csv
import random

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.pages import SHOTS, click, find, open_tab, tab_button, text_of, viewport, wait

pytest_plugins = ["tests.pages"]
MAP = "#data-map[data-points], #data-map [data-points]"  # the element the map's script keeps its numbers on
pytestmark = pytest.mark.browser

# our own words, never IMDB text
GOOD = "wonderful superb moving lovely brilliant charming sharp funny".split()
BAD = "dull boring awful clumsy tedious silly lifeless weak".split()
PLAIN = "the film story cast scene night city music camera ending script actor long".split()


def write_reviews(path, n=240, seed=0):
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["id", "text", "label"])
        for i in range(n):
            label = i % 2
            words = [rng.choice(PLAIN) for _ in range(rng.randint(8, 40))]
            for _ in range(rng.randint(1, 3)):
                words.insert(rng.randrange(len(words) + 1), rng.choice(GOOD if label else BAD))
            out.writerow([f"r{i}", " ".join(words).capitalize() + ".", "pos" if label else "neg"])
    return path


def summary_count(driver) -> int | None:
    text = text_of(driver, "#data-summary")
    if "Slice: " not in text:
        return None
    return int(text.split("Slice: ")[1].split(" review")[0].replace(",", ""))


def drag(driver, canvas, start, end):
    """A pointer drag on the map from ``start`` to ``end`` (fractions of its width and height)."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    w, h = canvas.size["width"], canvas.size["height"]
    at = lambda f: (int((f[0] - 0.5) * w), int((f[1] - 0.5) * h))  # noqa: E731 - offsets from the centre
    (x0, y0), (x1, y1) = at(start), at(end)
    ActionChains(driver).move_to_element_with_offset(canvas, x0, y0).click_and_hold() \
        .move_by_offset((x1 - x0) // 2, (y1 - y0) // 2).move_by_offset(x1 - x0 - (x1 - x0) // 2,
                                                                     y1 - y0 - (y1 - y0) // 2).release().perform()


def test_the_map_selection_becomes_the_slice_and_a_click_opens_analyze(page, axe, tmp_path):
    browser = page
    path = write_reviews(tmp_path / "our_reviews.csv")
    open_tab(browser, "Data")
    browser.find_element(By.CSS_SELECTOR, "#data-upload input[type=file]").send_keys(str(path))
    wait(browser, lambda d: "240 reviews scored" in text_of(d, "#data-status"), timeout=120)
    wait(browser, lambda d: next((e for e in d.find_elements(By.CSS_SELECTOR, MAP)
                                  if e.get_attribute("data-points") == "240"), None), timeout=120)
    assert "240 reviews on the map" in text_of(browser, "#data-map .sl-map-status")
    wait(browser, lambda d: summary_count(d) == 240)
    axe(browser, "the map drawn, 1366 px")

    # colour by right or wrong: the legend follows, in the page (not a round trip)
    colour = find(browser, "#data-map .sl-map-colour")
    colour.find_element(By.CSS_SELECTOR, "option[value=error]").click()
    wait(browser, lambda d: "wrong" in text_of(d, "#data-map .sl-map-legend"))

    # a box over the left half: the slice is exactly the points inside it
    canvas = find(browser, "#data-map .sl-map-over")
    drag(browser, canvas, (0.02, 0.02), (0.5, 0.98))
    chosen = wait(browser, lambda d: int(d.find_element(By.CSS_SELECTOR, MAP).get_attribute(
        "data-selected") or 0) or None)
    assert 0 < chosen < 240
    wait(browser, lambda d: summary_count(d) == chosen)
    SHOTS.mkdir(parents=True, exist_ok=True)
    find(browser, "#data-map-box").screenshot(str(SHOTS / "data-map.png"))
    cells = sum(int(find(browser, f"#data-cell-{a}-{b}").text.split()[0].replace(",", ""))
                for a in ("pos", "neg") for b in ("right", "wrong"))
    assert cells == chosen  # the confusion matrix counts the selection too
    # the table's rows are from the selection, with their row numbers in the file kept
    rows = wait(browser, lambda d: [c.text for c in d.find_elements(By.CSS_SELECTOR, "#data-table [role=gridcell]")
                                    if c.get_attribute("data-col") == "0"] or None)
    picked_rows = set(browser.execute_script(
        "const el = document.querySelector('" + MAP + "');"
        "return JSON.parse(el.dataset.pickedRows || '[]');"))
    assert {int(r) for r in rows[:50]} <= picked_rows
    # a row of the selection opens by its number (the file's numbering, not the selection's)
    number = max(picked_rows)
    box = find(browser, "#data-row input")
    box.clear()
    box.send_keys(str(number), "\n")
    wait(browser, lambda d: tab_button(d, "Analyze").get_attribute("aria-selected") == "true")
    want = [r for r in csv.DictReader(path.open(encoding="utf-8"))][number - 1]["text"]
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#review textarea").get_attribute("value") == want)

    # clearing the selection gives the whole file back
    open_tab(browser, "Data")
    click(browser, "#data-map .sl-map-clear")
    wait(browser, lambda d: summary_count(d) == 240)

    # a lasso: a quadrilateral in the lower left, its points the slice (clearing made the count 0)
    assert find(browser, MAP).get_attribute("data-selected") == "0"
    tool = find(browser, "#data-map .sl-map-tool")
    tool.find_element(By.CSS_SELECTOR, "option[value=lasso]").click()
    canvas = find(browser, "#data-map .sl-map-over")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    w, h = canvas.size["width"], canvas.size["height"]
    chain = ActionChains(browser).move_to_element_with_offset(canvas, -w // 2 + 2, h // 2 - 2).click_and_hold()
    for dx, dy in ((w // 4, -h // 2), (w // 4, h // 2 - 2), (-w // 4, 0)):  # up to the middle, down, back
        chain = chain.move_by_offset(dx // 2, dy // 2).move_by_offset(dx - dx // 2, dy - dy // 2)
    chain.release().perform()
    lassoed = wait(browser, lambda d: int(d.find_element(By.CSS_SELECTOR, MAP).get_attribute("data-selected")) or None)
    assert lassoed < 240
    wait(browser, lambda d: summary_count(d) == lassoed)
    click(browser, "#data-map .sl-map-clear")
    wait(browser, lambda d: summary_count(d) == 240)

    # from the keyboard: the map takes focus, an arrow key picks a point, Enter opens it in Analyze
    canvas = find(browser, "#data-map .sl-map-over")
    canvas.send_keys(Keys.ARROW_RIGHT)
    wait(browser, lambda d: "Row " in text_of(d, "#data-map .sl-map-tip"))
    row = int(text_of(browser, "#data-map .sl-map-tip").split("Row ")[1].split(" ")[0])
    canvas.send_keys(Keys.ENTER)
    wait(browser, lambda d: tab_button(d, "Analyze").get_attribute("aria-selected") == "true")
    want = [r for r in csv.DictReader(path.open(encoding="utf-8"))][row - 1]["text"]
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#review textarea").get_attribute("value") == want)
    open_tab(browser, "Data")

    # a click on a point opens its review in Analyze
    point = browser.execute_script(
        "return JSON.parse(document.querySelector('" + MAP + "').dataset.lonePoint);")
    canvas = find(browser, "#data-map .sl-map-over")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    ActionChains(browser).move_to_element_with_offset(canvas, int(point["x"] - canvas.size["width"] / 2),
                                                      int(point["y"] - canvas.size["height"] / 2)).perform()
    tip = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#data-map .sl-map-tip"))
    wait(browser, lambda d: tip.is_displayed() and f"Row {point['row']} " in tip.text)  # hover: the review's start
    ActionChains(browser).click().perform()
    wait(browser, lambda d: tab_button(d, "Analyze").get_attribute("aria-selected") == "true")
    want = [r for r in csv.DictReader(path.open(encoding="utf-8"))][point["row"] - 1]["text"]
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#review textarea").get_attribute("value") == want)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#result .sl-verdict"))

    # more like this: the nearest reviews of the file, with their labels and scores
    click(browser, "#similar-box button")
    click(browser, "#similar-find")
    table = wait(browser, lambda d: [[c.text for c in r.find_elements(By.CSS_SELECTOR, "[role=gridcell]")]
                                     for r in d.find_elements(By.CSS_SELECTOR, "#similar [role=row]")
                                     if r.find_elements(By.CSS_SELECTOR, "[role=gridcell]")] or None)
    assert len(table) == 10
    for number, similarity, label, score, start in table:
        assert int(number) != point["row"] and label in ("positive", "negative") and 0 <= float(score) <= 1
        assert start and -1 <= float(similarity) <= 1
    sims = [float(r[1]) for r in table]
    assert sims == sorted(sims, reverse=True)
    axe(browser, "Analyze with more like this, 1366 px")
    browser.execute_script("document.getElementById('similar-box').scrollIntoView()")
    browser.save_screenshot(str(SHOTS / "analyze-similar.png"))
    # a row of it opens in Analyze
    first = table[0]
    cell = find(browser, "#similar [role=gridcell][data-col='4']")
    cell.click()
    want = [r for r in csv.DictReader(path.open(encoding="utf-8"))][int(first[0]) - 1]["text"]
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#review textarea").get_attribute("value") == want)

    viewport(browser, 390, 844)
    open_tab(browser, "Data")
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#data-map .sl-map-over").size["width"] < 390)
    axe(browser, "the map on a phone, 390 px")
