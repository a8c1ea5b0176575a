"""The app in a real browser (Debian's headless Chromium through chromedriver).

Screenshots of each tab go to artifacts/screenshots/ for people to look at.
"""

import os
import time

import pytest

os.environ["SE_AVOID_STATS"] = "true"  # Selenium Manager must never run (it calls outside hosts)
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

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
    yield driver
    driver.quit()


def wait(driver, condition, timeout=30):
    return WebDriverWait(driver, timeout).until(condition)


def open_tab(driver, name):
    tab = wait(driver, lambda d: next((t for t in d.find_elements(By.CSS_SELECTOR, "button[role=tab]")
                                       if t.text.strip() == name), None))
    tab.click()
    time.sleep(0.5)


def shot(driver, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def text_of(driver, css):
    return driver.find_element(By.CSS_SELECTOR, css).text


def test_analyze_shows_label_and_highlights(browser, tmp_path):
    with Server("--db", str(tmp_path / "db.sqlite3"), log=tmp_path / "server.log") as server:
        browser.get(server.url)
        box = wait(browser, EC.presence_of_element_located((By.CSS_SELECTOR, "#review textarea")))
        review = "A superb, moving film <script>alert('x')</script> with a wonderful cast."
        box.send_keys(review)
        browser.find_element(By.ID, "analyze").click()
        wait(browser, lambda d: "positive" in text_of(d, "#prediction").lower())
        words = wait(browser, lambda d: [e.text for e in d.find_elements(By.CSS_SELECTOR, "#highlights .token .text")] or None)
        assert "superb" in " ".join(words)
        assert "words; the model read all of them" in text_of(browser, "#summary")
        # the review stays text: no script element was created from it, no alert is open
        assert box.get_attribute("value") == review
        assert not browser.find_elements(By.CSS_SELECTOR, "#highlights script, #summary script")
        accordion = [e for e in browser.find_elements(By.XPATH, "//*[contains(text(), 'What the model sees')]")
                     if e.is_displayed()]
        accordion[0].click()
        wait(browser, lambda d: d.find_element(By.ID, "padded").is_displayed())
        time.sleep(1)
        shot(browser, "analyze")
        open_tab(browser, "Model")
        wait(browser, lambda d: "test accuracy" in d.page_source)
        shot(browser, "model")


def annotate_next(browser):
    browser.find_element(By.ID, "ann-next").click()
    return wait(browser, lambda d: "Item" in text_of(d, "#ann-info") and text_of(d, "#ann-info"))


def test_annotations_persist_across_a_restart(browser, tmp_path):
    src = tmp_path / "to_label.csv"
    src.write_text("text\n" + "\n".join(f'"{r}"' for r in REVIEWS) + "\n")
    db = tmp_path / "db.sqlite3"
    args = ("--db", str(db), "--annotate", str(src))
    with Server(*args, log=tmp_path / "server1.log") as server:
        browser.get(server.url)
        open_tab(browser, "Annotate")
        browser.find_element(By.CSS_SELECTOR, "#ann-name input, #ann-name textarea").send_keys("alice")
        first = annotate_next(browser)
        browser.find_element(By.ID, "ann-pos").click()
        wait(browser, lambda d: "Done 1 / 4" in text_of(d, "#ann-progress"))
        second = text_of(browser, "#ann-info")
        assert second != first
        browser.find_element(By.TAG_NAME, "body").click()
        ActionChains(browser).send_keys("2").perform()  # keyboard shortcut: Negative
        wait(browser, lambda d: "Done 2 / 4" in text_of(d, "#ann-progress"))
        third = text_of(browser, "#ann-info")
        shot(browser, "annotate")
    with Server(*args, log=tmp_path / "server2.log") as server:  # a restart loads nothing new
        browser.get(server.url)
        open_tab(browser, "Annotate")
        wait(browser, lambda d: "Done 2 / 4" in text_of(d, "#ann-progress"))
        browser.find_element(By.CSS_SELECTOR, "#ann-name input, #ann-name textarea").send_keys("alice")
        assert annotate_next(browser) == third  # the queue resumes where it stopped
    import sqlite3

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
            box = wait(browser, EC.presence_of_element_located((By.CSS_SELECTOR, "#review textarea")))
            box.send_keys(f'<img src="{u}/analyze"> ![a]({u}/analyze-md) a splendid film')
            browser.find_element(By.ID, "analyze").click()
            wait(browser, lambda d: "positive" in text_of(d, "#prediction").lower()
                 or "negative" in text_of(d, "#prediction").lower())
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
            browser.find_element(By.CSS_SELECTOR, "#ann-name input, #ann-name textarea").send_keys("alice")
            info = annotate_next(browser)
            assert u in info  # the id is shown literally, not as a link or an image
            browser.find_element(By.ID, "ann-pos").click()
            wait(browser, lambda d: "Done 1 / " in text_of(d, "#ann-progress"))
            annotate_next(browser)
            time.sleep(1)
            shot(browser, "untrusted")
            links = [a.get_attribute("href") or "" for a in browser.find_elements(By.TAG_NAME, "a")]
            images = [i.get_attribute("src") or "" for i in browser.find_elements(By.TAG_NAME, "img")]
            assert not [x for x in links + images if u in x]
        assert logger.paths == []
    finally:
        logger.close()


def test_compare_tab_shows_both_models_side_by_side(browser, tmp_path):
    from tests.tiny_model import FIXTURE

    with Server("--db", str(tmp_path / "db.sqlite3"), "--compare", str(FIXTURE), log=tmp_path / "server.log") as server:
        browser.get(server.url)
        open_tab(browser, "Compare")
        box = wait(browser, EC.presence_of_element_located((By.CSS_SELECTOR, "#cmp-review textarea")))
        box.send_keys("The plot was splendid and the acting superb.")
        browser.find_element(By.ID, "cmp-go").click()
        wait(browser, lambda d: "A: " in text_of(d, "#cmp-summary") and "B: " in text_of(d, "#cmp-summary"))
        time.sleep(1)
        shot(browser, "compare")
