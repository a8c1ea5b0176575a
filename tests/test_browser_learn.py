"""The learning loop in a real browser (headless Chromium through chromedriver, at 1366x900), walked as
a person would: a name, 24 reviews labelled with the Positive / Negative buttons and the 1 / 2 keys,
"Learn from these labels", "Use this version", then a rollback to the base model; the served model is
checked through the API after each switch. Served from the tiny fixture model, with reviews of filler
words where 'river' means positive and 'boat' negative (``tests/test_learn.py``'s ``new_kind``), which
the tiny model never learned.

The screenshot of the learn panel goes to docs/screenshots/learn.png.
"""

import sqlite3
import time

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from serve.runtime import SentimentModel
from tests.pages import ROOT, annotating, click, find, name_box, open_tab, queue_csv, settled, text_of, wait, words
from tests.test_learn import new_kind
from tests.tiny_model import FIXTURE

pytest_plugins = ["tests.pages"]
pytestmark = pytest.mark.browser

SHOT = ROOT / "docs" / "screenshots" / "learn.png"
LABELS = 24  # enough to learn from (serve.learn needs 10), too few for the audit to look (it needs 20 a word)

# Every Gradio toast, recorded as it appears (they fade after a few seconds): none may be an error.
WATCH_TOASTS = """
window.__toasts = [];
new MutationObserver(() => document.querySelectorAll('.toast-body').forEach(t => {
  if (!t.dataset.watched) { t.dataset.watched = '1'; window.__toasts.push(t); }
})).observe(document.body, {childList: true, subtree: true});
"""
TOASTS = "return (window.__toasts || []).map(t => [t.className, t.textContent.trim()]);"


def toasts(driver):
    """(type, text) of every toast shown since the page loaded; type is error, warning, info or success."""
    kinds = ("error", "warning", "info", "success")
    return [(next((k for k in kinds if k in cls.split()), cls), text) for cls, text in driver.execute_script(TOASTS)]


def errors(driver):
    return [(kind, text) for kind, text in toasts(driver) if kind in ("error", "warning")]


def close_toasts(driver):
    for close in driver.find_elements(By.CSS_SELECTOR, ".toast-close"):
        if close.is_displayed():
            close.click()
    wait(driver, lambda d: not [t for t in d.find_elements(By.CSS_SELECTOR, ".toast-body") if t.is_displayed()])


# The learn panel's accordion: the button of #learn-box that is neither of its own two.
LEARN_TOGGLE = "//*[@id='learn-box']//button[not(@id='learn-start') and not(@id='learn-use')]"


def choose(driver, name):
    """Pick ``name`` in the Version dropdown as a person would: open it, click the option."""
    click(driver, "#learn-choice input")
    option = wait(driver, lambda d: next((o for o in d.find_elements(By.CSS_SELECTOR, "[role=option]")
                                          if o.is_displayed() and o.text.replace("✓", "").strip() == name), None))
    option.click()
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#learn-choice input").get_attribute("value") == name)
    wait(driver, lambda d: not [o for o in d.find_elements(By.CSS_SELECTOR, "[role=option]") if o.is_displayed()])


def use(driver, name):
    """Choose ``name`` and press "Use this version"; returns the status line once it names ``name``."""
    choose(driver, name)
    click(driver, "#learn-use")
    status = wait(driver, lambda d: f"Now serving {name} (" in text_of(d, "#learn-status")
                  and text_of(d, "#learn-status"), timeout=60)
    wait(driver, lambda d: f"{name} (in use)" in text_of(d, "#learn-versions"))
    wait(driver, settled)
    return status


def versions_rows(driver):
    """The Versions table as the page shows it: one list of cell texts per row."""
    return driver.execute_script(
        "return [...document.querySelectorAll('#learn-versions [role=row][data-index]')].map(r => "
        "[...r.querySelectorAll('[role=gridcell]')].map(c => c.textContent.trim()));")


def in_use(client):
    return {v["version"]: v["in_use"] for v in client.predict(api_name="/versions")}


def served_scores(client, texts):
    return [client.predict(t, api_name="/predict")["positive"] for t in texts]


def queue_scores(db, texts):
    """The model's score the queue holds for each of ``texts`` (what "most uncertain first" ranks by)."""
    held = dict(sqlite3.connect(db).execute("SELECT text, model_score FROM items").fetchall())
    return [held[t] for t in texts]


def right(scores, truth):
    """The share of reviews read the way their word says."""
    return sum((p >= 0.5) == bool(y) for p, y in zip(scores, truth)) / len(truth)


def test_learn_from_labels_use_the_version_and_roll_back(browser, tmp_path, axe):
    from gradio_client import Client

    started = time.monotonic()
    texts, truth = new_kind(LABELS, seed=1)
    probes, probe_truth = new_kind(20, seed=101)  # the same kind of review, none of them labelled
    src = queue_csv(tmp_path / "queue.csv", texts, "q")
    db = tmp_path / "db.sqlite3"
    versions = tmp_path / "db.sqlite3.versions"
    base = SentimentModel(FIXTURE)
    base_scores = base.predict(probes)
    decided = lambda: sqlite3.connect(db).execute("SELECT COUNT(*) FROM decisions").fetchone()[0]  # noqa: E731
    with annotating(browser, src, db, "--model", str(FIXTURE), log=tmp_path / "server.log") as server:
        browser.execute_script(WATCH_TOASTS)
        client = Client(server.url, verbose=False)
        assert in_use(client) == {"base": True}
        # a name, then each review labelled by what it says: 'river' positive, 'boat' negative
        name_box(browser).send_keys("rita\n")
        wait(browser, lambda d: "Item" in text_of(d, "#ann-info") and d.find_element(By.ID, "ann-pos").is_enabled())
        given = {}
        for n in range(1, LABELS + 1):
            shown = text_of(browser, "#ann-info")
            item = shown.split("#")[1].split(":")[0]
            said = {w.text.lower() for w in words(browser, "#ann-text")}
            assert ("river" in said) != ("boat" in said), said  # each review says one or the other
            label = "pos" if "river" in said else "neg"
            if n <= LABELS // 2:  # the buttons...
                click(browser, "#ann-pos" if label == "pos" else "#ann-neg")
            else:  # ...then the keys, with the focus on the page rather than in a field
                click(browser, "#ann-progress")
                ActionChains(browser).send_keys("1" if label == "pos" else "2").perform()
            given[item] = label
            wait(browser, lambda d, n=n: decided() == n and f"Done {n} / {LABELS}" in text_of(d, "#ann-progress"))
            wait(browser, lambda d, shown=shown: text_of(d, "#ann-info") != shown)
            wait(browser, settled)
        assert "Queue empty" in text_of(browser, "#ann-info")
        assert given == {f"q{i}": "pos" if y else "neg" for i, y in enumerate(truth)}  # every review, rightly
        rows = sqlite3.connect(db).execute("SELECT DISTINCT annotator FROM decisions").fetchall()
        assert rows == [("rita",)]
        assert f"You (rita): {LABELS // 2} positive, {LABELS // 2} negative" in text_of(browser, "#ann-progress")

        # the learn panel: closed until opened; the base model in use
        assert not [e for e in browser.find_elements(By.ID, "learn-start") if e.is_displayed()]
        click(browser, LEARN_TOGGLE)
        start = find(browser, "#learn-start")
        assert text_of(browser, "#learn-status").startswith("Serving base (")
        assert [r[0] for r in versions_rows(browser)] == ["base (in use)"]
        assert browser.find_element(By.CSS_SELECTOR, "#learn-choice input").get_attribute("value") == "base"

        # learn: the before/after on the labels and on the IMDB sample, and v1 listed (not yet served)
        learn_clicked = time.monotonic()
        start.click()
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#learn-result table"), timeout=120)
        learned_in = time.monotonic() - learn_clicked
        result = text_of(browser, "#learn-result")
        assert result.startswith(f"v1 learned from {LABELS} labels in ")
        assert "the audit found nothing" in result and "before (the parent)" in result
        lineage = {v["version"]: v for v in client.predict(api_name="/versions")}["v1"]
        cells = [[c.text.strip() for c in r.find_elements(By.CSS_SELECTOR, "td")]
                 for r in browser.find_elements(By.CSS_SELECTOR, "#learn-result table tbody tr")]
        assert cells[0] == ["accuracy on the labels, each predicted without it (5-fold)",
                            f"{lineage['held_out']['before']:.3f}", f"{lineage['held_out']['after']:.3f}"]
        assert cells[1] == [f"accuracy on {lineage['imdb']['reviews']:,} IMDB test reviews",
                            f"{lineage['imdb']['before']:.3f}", f"{lineage['imdb']['after']:.3f}"]
        assert lineage["labels"] == LABELS and lineage["parent"] == "base"
        wait(browser, lambda d: [r[0] for r in versions_rows(d)] == ["base (in use)", "v1"])
        v1_row = versions_rows(browser)[1]
        assert v1_row[1:3] == ["base", str(LABELS)] and v1_row[5] == lineage["sha256"]
        assert [kind for kind, text in toasts(browser)
                if text.endswith("v1 is ready; it is not served until you choose it.")] == ["info"]
        assert text_of(browser, "#learn-status").startswith("Serving base (")  # learning alone serves nothing new
        assert in_use(client) == {"base": True, "v1": False}
        assert served_scores(client, probes) == pytest.approx(base_scores.tolist(), abs=1e-6)
        assert queue_scores(db, texts) == pytest.approx(base.predict(texts).tolist(), abs=1e-6)
        close_toasts(browser)  # Gradio's toast nests a button in a button (axe: nested-interactive), not ours
        wait(browser, settled)
        axe(browser, "annotate, learn from these labels")

        # use v1: the status says so, the table marks it, and every request is now scored by v1
        status = use(browser, "v1")
        v1 = SentimentModel(versions / "v1")
        assert f"`{v1.sha256[:12]}`" not in status and v1.sha256[:12] in status  # shown as code, not backticks
        assert [r[0] for r in versions_rows(browser)] == ["base", "v1 (in use)"]
        assert in_use(client) == {"base": False, "v1": True}
        now = served_scores(client, probes)
        assert now == pytest.approx(v1.predict(probes).tolist(), abs=1e-6)
        assert max(abs(a - b) for a, b in zip(now, base_scores)) > 0.01  # the model served really changed...
        right_before, right_now = right(base_scores, probe_truth), right(now, probe_truth)
        assert right_now >= right_before + 0.2  # ...as the labels taught it (0.30 -> 0.65 when written)
        river_gain = sum(a - b for a, b, y in zip(now, base_scores, probe_truth) if y) / sum(probe_truth)
        assert (versions / "current").read_text().strip() == "v1"  # a restart would serve it too
        assert queue_scores(db, texts) == pytest.approx(v1.predict(texts).tolist(), abs=1e-6)  # the queue re-scored
        # the screenshot: the panel after learning, its result and the versions in view
        browser.execute_script("document.getElementById('learn-box').scrollIntoView({block: 'start'})")
        ActionChains(browser).move_to_element(browser.find_element(By.ID, "learn-intro")).perform()
        wait(browser, lambda d: d.execute_script(
            "const r = document.getElementById('learn-status').getBoundingClientRect(); "
            "return r.bottom <= window.innerHeight && "
            "document.getElementById('learn-result').getBoundingClientRect().top >= 0;"))
        SHOT.parent.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SHOT))

        # a page opened now shows what is served now, not what was served when the app started
        browser.refresh()
        open_tab(browser, "Annotate")
        click(browser, LEARN_TOGGLE)
        wait(browser, lambda d: text_of(d, "#learn-status").startswith("Serving v1 ("))
        wait(browser, lambda d: [r[0] for r in versions_rows(d)] == ["base", "v1 (in use)"])
        assert browser.find_element(By.CSS_SELECTOR, "#learn-choice input").get_attribute("value") == "v1"
        wait(browser, settled)

        # roll back: base chosen and used again, and the base model's scores are back exactly
        use(browser, "base")
        assert [r[0] for r in versions_rows(browser)] == ["base (in use)", "v1"]
        assert in_use(client) == {"base": True, "v1": False}
        assert served_scores(client, probes) == pytest.approx(base_scores.tolist(), abs=1e-6)
        assert (versions / "current").read_text().strip() == "base"
        assert queue_scores(db, texts) == pytest.approx(base.predict(texts).tolist(), abs=1e-6)
        assert errors(browser) == [], errors(browser)  # no error toast at any step
    print(f"\nlearning loop in the browser: {LABELS} labels, learned in {learned_in:.1f} s (click to table), "
          f"unseen river/boat reviews right {right_before:.2f} -> {right_now:.2f} (river: {river_gain:+.3f} "
          f"P(positive)) with v1, whole test {time.monotonic() - started:.0f} s")
