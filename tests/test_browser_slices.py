"""Issue 34.4 and 34.6 in a real browser, on the app with a second model (``--compare``, the tiny fixture
model as B): the Data tab's numeric filters, threshold slider, 2x2 confusion matrix, saved slices compared
side by side, readable table and both models' numbers; Compare's one colour scale and its A - B row. Each
view is checked by axe-core at 1366 and 390 px wide (issue 33: the empty Data tab's plot included)."""

import random
import re

import pandas as pd
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from serve.app.data_slices import B, Range, at_threshold, confusion, score_file, select, slice_stats
from serve.runtime import SentimentModel
from tests.pages import (ROOT, Server, click, find, open_tab, settled, shot, text_of, viewport, wait)
from tests.synthetic import review
from tests.tiny_model import FIXTURE

pytest_plugins = ["tests.pages"]
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def with_b(tmp_path_factory):
    """The app serving the committed model (A) with the tiny one beside it (B)."""
    tmp = tmp_path_factory.mktemp("slices")
    with Server("--db", str(tmp / "db.sqlite3"), "--compare", str(FIXTURE), log=tmp / "server.log") as server:
        yield server


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    """80 labelled reviews of our own words, with <br /> in each, and the scores both models give them."""
    rng = random.Random(7)
    path = tmp_path_factory.mktemp("reviews") / "reviews.csv"
    rows = [(f"r{i}", review(i % 2, rng, rng.randint(3, 40)), ("neg", "pos")[i % 2]) for i in range(80)]
    pd.DataFrame(rows, columns=["id", "text", "label"]).to_csv(path, index=False)
    scored = score_file(SentimentModel(ROOT / "exported"), path, None, other=SentimentModel(FIXTURE))
    return path, scored.frame


def summary(driver) -> str:
    return " ".join(text_of(driver, "#data-summary").split())


def shown_count(driver) -> int:
    return int(re.search(r"Slice: ([\d,]+) review", summary(driver)).group(1).replace(",", ""))


def share(driver, after: str) -> float:
    return float(re.search(after + r" ([\d.]+)%", summary(driver)).group(1)) / 100


def submit(driver, where: str, text: str) -> None:
    """Type ``text`` into the box at ``where`` and press Enter, then wait for the slice to be shown again."""
    old = summary(driver)
    box = find(driver, f"{where} input, {where} textarea")
    box.send_keys(Keys.CONTROL, "a")  # typed, so the page hears it (clear() alone is not an edit)
    box.send_keys(Keys.BACKSPACE, text, Keys.ENTER)
    wait(driver, lambda d: summary(d) != old)
    wait(driver, settled)


def column(driver, col: int, root: str = "#data-table") -> list[str]:
    cells = driver.find_elements(By.CSS_SELECTOR, f"{root} [role=gridcell][data-col='{col}']")
    return [c.text.strip() for c in cells if c.is_displayed()]


def choose(driver, dropdown: str, option: str) -> None:
    click(driver, f"{dropdown} input")
    click(driver, f"//ul[@role='listbox']//li[contains(., '{option}')]")


def axe_both_widths(driver, axe, where: str) -> None:
    wait(driver, settled)
    axe(driver, where)
    viewport(driver, 390, 844)
    axe(driver, f"{where} at 390x844")
    viewport(driver, 1366, 900)


def test_slices_filters_threshold_and_a_second_model(browser, with_b, reviews, axe):
    path, frame = reviews
    browser.get(with_b.url)
    open_tab(browser, "Data")
    assert browser.find_elements(By.CSS_SELECTOR, "#data-reliability svg[role=img]")  # drawn by us, empty
    axe_both_widths(browser, axe, "the empty Data tab")  # issue 33: aria-prohibited-attr on the plot
    browser.find_element(By.CSS_SELECTOR, "#data-upload input[type=file]").send_keys(str(path))
    wait(browser, lambda d: "80 reviews scored by both models" in text_of(d, "#data-status"), timeout=120)
    wait(browser, lambda d: "Slice: 80 reviews" in summary(d))
    s, b = slice_stats(frame), slice_stats(frame, B)
    assert share(browser, "Accuracy") == pytest.approx(s["accuracy"], abs=6e-4)
    assert share(browser, "B on the same slice: accuracy") == pytest.approx(b["accuracy"], abs=6e-4)
    # the table: readable numbers (never "1" for 0.9996) and the review without its <br />
    probabilities = column(browser, 4)
    assert probabilities and all(re.fullmatch(r"([<>] )?[01]\.\d{4}", p) for p in probabilities), probabilities
    texts = column(browser, 8)
    assert texts and not any("<br" in t for t in texts)
    assert "B P(positive)" in text_of(browser, "#data-table")
    # the whole slice in another order
    choose(browser, "#data-order", "P(positive), highest first")
    wait(browser, lambda d: column(d, 0)[:1] == [str(int(frame["p"].idxmax()) + 1)])
    # a numeric filter: P(positive) up to 0.5
    submit(browser, "#data-p-high", "0.5")
    low = frame[select(frame, p=Range(None, 0.5))]
    assert shown_count(browser) == len(low)
    assert share(browser, "Accuracy") == pytest.approx(slice_stats(low)["accuracy"], abs=6e-4)
    submit(browser, "#data-p-high", "")
    assert shown_count(browser) == 80
    # the threshold slider: labels, accuracy, B's accuracy and the confusion matrix follow it
    submit(browser, "#data-threshold", "0.8")
    wait(browser, lambda d: "at threshold 0.80" in summary(d))
    at = at_threshold(frame, 0.8)
    assert share(browser, "Accuracy") == pytest.approx(slice_stats(at)["accuracy"], abs=6e-4)
    assert share(browser, "B on the same slice: accuracy") == pytest.approx(slice_stats(at, B)["accuracy"], abs=6e-4)
    cells = confusion(at)
    for (label, result), n in cells.items():
        assert find(browser, f"#data-cell-{label}-{result}").text == f"{n:,} {result}"
    # the confusion matrix is a 2x2 grid: predicted positive on the left, true positive on top ...
    box = {key: browser.find_element(By.ID, f"data-cell-{key}").rect for key in ("pos-right", "pos-wrong",
                                                                                 "neg-wrong", "neg-right")}
    assert box["pos-right"]["y"] == box["pos-wrong"]["y"] < box["neg-wrong"]["y"] == box["neg-right"]["y"]
    assert box["pos-right"]["x"] == box["neg-wrong"]["x"] < box["pos-wrong"]["x"] == box["neg-right"]["x"]
    # ... and a cell still filters: true positive, predicted negative
    click(browser, "#data-cell-pos-wrong")
    wait(browser, lambda d: shown_count(d) == cells[("pos", "wrong")] and "Accuracy 0.0%" in summary(d)
         or cells[("pos", "wrong")] == 0)
    assert browser.find_element(By.XPATH, "//*[@id='data-label']//label[contains(., 'positive')]//input").is_selected()
    # saved slices, compared side by side with B's numbers
    find(browser, "#data-slice-name input, #data-slice-name textarea").send_keys("missed positives")
    click(browser, "#data-save-slice")
    wait(browser, lambda d: "missed positives" in text_of(d, "#data-slices"))
    click(browser, "//*[@id='data-label']//label[contains(., 'all')]")
    click(browser, "//*[@id='data-result']//label[contains(., 'all')]")
    wait(browser, lambda d: shown_count(d) == 80)
    submit(browser, "#data-words-high", "12")
    find(browser, "#data-slice-name input, #data-slice-name textarea").send_keys("short", Keys.ENTER)
    wait(browser, lambda d: "short" in column(d, 0, "#data-slices"))
    names = column(browser, 0, "#data-slices")
    assert names == ["(on screen)", "missed positives", "short"]
    short = at[select(at, words=Range(None, 12))]
    row = [c for c in (column(browser, k, "#data-slices") for k in range(7))]
    assert row[1][2] == f"{len(short):,}"
    assert row[2][2] == f"{slice_stats(short)['accuracy']:.1%}" and row[4][2] == f"{slice_stats(short)['ece']:.1%}"
    assert row[5][2] == f"{slice_stats(short, B)['accuracy']:.1%}"
    missed = at[select(at, label="pos", result="wrong")]
    assert row[1][1] == f"{len(missed):,}"
    headings = text_of(browser, "#data-slices")
    assert "B accuracy" in headings and "B ECE" in headings
    viewport(browser, 1366, 2200)  # the filters, the numbers, the 2x2 matrix, the plot and the saved slices
    shot(browser, "data-slices")
    viewport(browser, 1366, 900)
    axe_both_widths(browser, axe, "Data with slices and B")


def test_compare_colours_both_models_on_one_scale_with_an_a_minus_b_row(browser, with_b, axe):
    browser.get(with_b.url)
    open_tab(browser, "Compare")
    axe_both_widths(browser, axe, "the empty Compare tab")
    find(browser, "#cmp-review textarea").send_keys("The plot was splendid and the acting superb.")
    click(browser, "#cmp-go")
    wait(browser, lambda d: "A: " in text_of(d, "#cmp-summary")
         and d.find_elements(By.CSS_SELECTOR, "#cmp-diff .sl-tok"))
    for method in ("running score", "occlusion", "contextual decomposition"):
        if method != "running score":
            old = text_of(browser, "#cmp-a .sl-legend")
            click(browser, f"//*[@id='cmp-method']//label[contains(., '{method}')]")
            wait(browser, lambda d, old=old: text_of(d, "#cmp-a .sl-legend") != old)
        wait(browser, settled)
        scale_a, scale_b = (text_of(browser, f"{side} .sl-legend-scale") for side in ("#cmp-a", "#cmp-b"))
        assert scale_a and scale_a == scale_b  # one scale: the same colour is the same number on both sides
        # the top of that scale is the larger of the two sides' strongest words
        values = []
        for side in ("#cmp-a", "#cmp-b"):
            for t in browser.find_elements(By.CSS_SELECTOR, f"{side} .sl-tok"):
                found = re.search(r": ([+-][\d.]+) (points|logit)", t.get_attribute("data-tip") or "")
                if found:
                    values.append(abs(float(found.group(1))))
        top, unit = re.search(r"\+([\d.]+) (points|logit)", scale_a).groups()
        assert float(top) == pytest.approx(max(values), abs=0.06 if unit == "points" else 0.006)
        diff = [t.get_attribute("data-tip") for t in browser.find_elements(By.CSS_SELECTOR, "#cmp-diff .sl-tok")]
        assert len(diff) == 8 and all(t.split(": ", 1)[1].startswith("A - B ") for t in diff)
        assert "A more positive than B" in text_of(browser, "#cmp-diff .sl-legend")
    viewport(browser, 1366, 1300)  # both sides and the A - B row
    shot(browser, "compare-one-scale")
    viewport(browser, 1366, 900)
    axe_both_widths(browser, axe, "Compare with A - B")
