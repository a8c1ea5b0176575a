"""What holds on every tab, in a real browser: dark mode is as readable (axe-core on Analyze, Annotate, Team
and Model), and text from files and forms (Analyze's review, Annotate's uploads) never becomes markup."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from tests.pages import (LONG, Server, analyze, click, name_box, open_tab, plots_drawn, shot, style, text_of,
                         wait, words)

pytest_plugins = ["tests.pages"]
pytestmark = pytest.mark.browser


def test_dark_mode_is_as_readable(page, axe):
    browser = page
    browser.get(browser.current_url.split("?")[0] + "?__theme=dark")
    assert analyze(browser, LONG) and browser.execute_script("return document.body.classList.contains('dark')")
    click(browser, "#result summary")  # the unread words, greyed
    axe(browser, "analyze, dark")
    shot(browser, "analyze-dark")
    open_tab(browser, "Annotate")
    axe(browser, "annotate, dark")
    open_tab(browser, "Team")
    axe(browser, "team, dark")
    open_tab(browser, "Model")
    wait(browser, lambda d: plots_drawn(d) == 2)
    axe(browser, "model, dark")


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
            hostile = f'<img src="{u}/analyze"> ![a]({u}/analyze-md) a splendid film'
            analyze(browser, hostile)
            assert browser.find_element(By.CSS_SELECTOR, "#result .sl-text").get_attribute("textContent") == hostile
            open_tab(browser, "Annotate")
            upload = browser.find_element(By.CSS_SELECTOR, "#ann-upload input[type=file]")
            upload.send_keys(str(hostile_name))
            wait(browser, lambda d: "empty file" in d.find_element(By.TAG_NAME, "body").text)
            assert "onerror=fetch(" in browser.find_element(By.TAG_NAME, "body").text  # the name, as text
            click(browser, "#ann-upload button[aria-label=Clear]")
            wait(browser, EC.presence_of_element_located((By.CSS_SELECTOR, "#ann-upload input[type=file]")))
            browser.find_element(By.CSS_SELECTOR, "#ann-upload input[type=file]").send_keys(str(src))
            wait(browser, lambda d: "Loaded" in text_of(d, "#ann-load-status"), timeout=60)
            status = text_of(browser, "#ann-load-status")
            # shown as typed (Gradio itself drops '*' from uploaded file names)
            assert "bold [a](b).csv" in status and f"![x]({u}/label.png)" in status
            name_box(browser).send_keys("alice\n")
            info = wait(browser, lambda d: "Item" in text_of(d, "#ann-info") and text_of(d, "#ann-info"))
            assert u in info  # the id is shown literally, not as a link or an image
            click(browser, "#ann-pos")
            wait(browser, lambda d: "Done 1 / " in text_of(d, "#ann-progress"))
            wait(browser, lambda d: text_of(d, "#ann-info") not in ("", info))  # the next review
            click(browser, "#ann-show-model input")  # its words, coloured
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


@pytest.mark.parametrize("size", [(1366, 900), (390, 844)], ids=["desktop", "phone"])
def test_every_tab_at_every_size_has_no_serious_accessibility_finding(browser, tmp_path, axe, size):
    """Issue 33: axe-core finds nothing serious or critical on any tab, empty as a visitor first sees it, at
    1366x900 and 390x844; each tab opened by its address (``?tab=``), as a reload or a shared link does."""
    from tests.pages import TAB_CONTENT, settled, viewport
    from tests.tiny_model import FIXTURE

    with Server("--db", str(tmp_path / "db.sqlite3"), "--compare", str(FIXTURE), log=tmp_path / "server.log") as s:
        viewport(browser, *size)
        for name in ("Analyze", "Data", "Annotate", "Team", "Compare", "Model"):
            browser.get(f"{s.url}?tab={name.lower()}")
            wait(browser, EC.visibility_of_element_located((By.CSS_SELECTOR, TAB_CONTENT[name])))
            wait(browser, settled)
            axe(browser, f"{name.lower()} at {size[0]}x{size[1]}")
