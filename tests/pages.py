"""What the browser tests share (``tests/test_browser_*.py``): one headless Chromium (Debian's, through
its chromedriver) and one app server for the whole run, the waits, the page's parts, screenshots and
axe-core. Each browser module loads this as a plugin (``pytest_plugins = ["tests.pages"]``), so its
fixtures are defined once for the run, whichever modules run and in whatever order.

Waiting, not sleeping: an element a test acts on is found with ``find`` / ``click``, which wait until it
is in the page, displayed and enabled (a click that opens an accordion or a tab, or starts an event,
renders what comes next a moment later); a state is waited for with ``wait``; that an event ran and
changed nothing is shown by ``event_finished``, never by a sleep.

(PYTEST_DONT_REWRITE: the modules import this before pytest loads it as a plugin, too late for pytest to
rewrite its asserts, which carry their own messages.)
"""

from __future__ import annotations

import json
import os
import re
from contextlib import contextmanager

import pytest

os.environ["SE_AVOID_STATS"] = "true"  # Selenium Manager must never run (it calls outside hosts)
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    ElementClickInterceptedException, ElementNotInteractableException, StaleElementReferenceException)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from tests.servers import ROOT, Server  # noqa: E402

SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_FLAGS = ("--headless --no-sandbox --disable-gpu --disable-background-networking "
                  "--disable-component-update --disable-sync --no-first-run --window-size=1400,2000").split()
DESKTOP = (1366, 900)

# ---- the tests' own data ------------------------------------------------------------------------
REVIEWS = ["A tender, funny film with a superb cast; I loved every minute.",
           "Dull and far too long, the jokes never land and the plot makes no sense.",
           "It was fine, some good scenes and some bad ones.",
           "An outstanding script and a brilliant ending."]
MAXLEN = json.loads((ROOT / "exported" / "metadata.json").read_text())["codec"]["maxlen"]  # ids the model reads
REVIEW = "What a film!\n\nThe cast is superb, the script sharp; I loved it. Not bad at all, really."
FILLER = "The story follows a teacher who moves to a small town by the sea. "  # 14 words
LONG = ("Dreadful, I hated it. " + FILLER * (MAXLEN // 14 + 10)
        + "But the final scene is wonderful.")


# ---- the browser and the app, once for the run ------------------------------------------------
@pytest.fixture(scope="session")
def chromium(tmp_path_factory):
    """Headless Chromium for the whole run; tests take ``browser``, which hands it over in a known state."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={tmp_path_factory.mktemp('chrome')}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture()
def browser(chromium):
    """The run's Chromium with one window, at desktop size, whatever the test before it left."""
    handles = chromium.window_handles
    for handle in handles[1:]:
        chromium.switch_to.window(handle)
        chromium.close()
    chromium.switch_to.window(handles[0])
    viewport(chromium, *DESKTOP)
    return chromium


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """The app with the committed model and an empty database, for the tests that need nothing more."""
    tmp = tmp_path_factory.mktemp("app")
    with Server("--db", str(tmp / "db.sqlite3"), log=tmp / "server.log") as server:
        yield server


@pytest.fixture()
def page(browser, app_server):
    """The app's page, freshly loaded at 1366x900 (Analyze open)."""
    browser.get(app_server.url)
    wait(browser, EC.presence_of_element_located((By.CSS_SELECTOR, "#review textarea")))
    return browser


# ---- waits ------------------------------------------------------------------------------------
def wait(driver, condition, timeout=30):
    return WebDriverWait(driver, timeout).until(condition)


def locate(where: str) -> tuple[str, str]:
    """An XPath (it starts with / or a parenthesis) or a CSS selector, as Selenium's (by, value)."""
    return (By.XPATH, where) if where.startswith(("/", "(")) else (By.CSS_SELECTOR, where)


def usable(driver, where: str, text: str | None = None, enabled: bool = True):
    """The first element matching ``where`` (with exactly ``text``, if given) that is displayed and
    (unless ``enabled`` is False: a read-only box is disabled) enabled."""
    for element in driver.find_elements(*locate(where)):
        if element.is_displayed() and (element.is_enabled() or not enabled) \
                and (text is None or element.text.strip() == text):
            return element
    return None


RETRIED = (StaleElementReferenceException, ElementClickInterceptedException, ElementNotInteractableException)


def find(driver, where: str, text: str | None = None, enabled: bool = True, timeout=30):
    """The element at ``where`` (CSS or XPath), once it is in the page, displayed and enabled: after a
    click that opens an accordion or a tab or starts an event, what it shows is rendered a moment later."""
    what = where + (f" with the text {text!r}" if text is not None else "")
    return WebDriverWait(driver, timeout, ignored_exceptions=RETRIED).until(
        lambda d: usable(d, where, text, enabled), f"{what}: not shown{' and enabled' * enabled} within {timeout} s")


def click(driver, where: str, text: str | None = None, timeout=30):
    """Click the element at ``where`` once it can be clicked (see ``find``); a click that lands on a
    moment when it is re-rendered or covered is tried again. Returns the element clicked."""
    def clicked(d):
        element = usable(d, where, text)
        if element is not None:
            element.click()  # raises (and is tried again) if the click did not reach it
        return element
    what = where + (f" with the text {text!r}" if text is not None else "")
    return WebDriverWait(driver, timeout, ignored_exceptions=RETRIED).until(
        clicked, f"{what}: could not be clicked within {timeout} s")


def click_text(driver, where: str, text: str, timeout=30):
    """Click the element at ``where`` whose text is ``text`` (a button the page draws, e.g. "Negate it")."""
    return click(driver, where, text, timeout)


def settled(driver):
    """No event is running: every Gradio progress overlay is hidden (a screenshot or an axe run sees
    the result, not a spinner over it)."""
    return driver.execute_script("return !Array.from(document.querySelectorAll('.wrap')).some("
                                 "e => /\\b(full|minimal)\\b/.test(e.className) && !e.classList.contains('hide'))")


# Watches the progress overlays under one element: ``seen`` once one shows (the event started, Gradio
# marks its outputs pending at once), ``done`` once, after that, none shows (it finished).
WATCH_EVENT = """
const root = document.querySelector(arguments[0]);
const busy = () => [...root.querySelectorAll('.wrap')].some(
  e => /\\b(full|minimal)\\b/.test(e.className) && !e.classList.contains('hide'));
const mark = {seen: false, done: false};
(window.__events = window.__events || {})[arguments[0]] = mark;
new MutationObserver((records, observer) => {
  if (busy()) mark.seen = true;
  else if (mark.seen) { mark.done = true; observer.disconnect(); }
}).observe(root, {subtree: true, childList: true, attributes: true, attributeFilter: ['class']});
"""


@contextmanager
def event_finished(driver, outputs: str, timeout=30):
    """Around an action that starts an event whose outputs are under ``outputs`` (a CSS selector):
    waits, on leaving, until that event started and finished. The positive signal that an action
    which should change nothing was handled, rather than a sleep and a hope."""
    wait(driver, settled)  # an event still running would be taken for this one
    driver.execute_script(WATCH_EVENT, outputs)
    yield
    wait(driver, lambda d: d.execute_script("return window.__events[arguments[0]].done", outputs), timeout)


def plots_drawn(driver):
    """How many plots on screen have drawn their lines (Vega draws them after the tab mounts)."""
    return driver.execute_script("return Array.from(document.querySelectorAll('.vega-embed svg.marks')).filter("
                                 "s => s.getBoundingClientRect().width > 0 && s.querySelector('path')).length")


# ---- the page ---------------------------------------------------------------------------------
# An element each tab always shows: a tab's content mounts only when the tab is first opened.
TAB_CONTENT = {"Analyze": "#review", "Data": "#data-upload", "Annotate": "#ann-name", "Team": "#team-refresh",
               "Compare": "#cmp-review", "Model": "#card"}


def tab_button(driver, name):
    return next((t for t in driver.find_elements(By.CSS_SELECTOR, "button[role=tab]") if t.text.strip() == name), None)


def open_tab(driver, name):
    """Open a tab and wait until it is selected, its content shown and no event is running."""
    click(driver, "button[role=tab]", name)
    wait(driver, lambda d: tab_button(d, name).get_attribute("aria-selected") == "true")
    find(driver, TAB_CONTENT[name])
    wait(driver, settled)


def analyze(driver, text, wait_for="#result .sl-verdict"):
    """Type ``text`` as the review, press Analyze, and wait for the new result (not the one before)."""
    box = wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "#review textarea")))
    box.clear()
    driver.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'));",
                          box, text)  # send_keys types a long review one key at a time
    driver.execute_script("const r = document.querySelector('#result .sl-review'); if (r) r.dataset.old = '1';")
    click(driver, "#analyze")
    wait(driver, lambda d: d.execute_script(
        "const r = document.querySelector('#result .sl-review'); return r && !r.dataset.old;"))
    return wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, wait_for)))


def words(driver, root="#result"):
    return driver.find_elements(By.CSS_SELECTOR, f"{root} .sl-tok")


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


def shot(driver, name):
    """A screenshot in artifacts/screenshots/, the mouse parked on the title so that no tooltip covers the page."""
    ActionChains(driver).move_to_element(driver.find_element(By.TAG_NAME, "h1")).perform()
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


# ---- Annotate -----------------------------------------------------------------------------------
NOTE = "#ann-note input, #ann-note textarea"


def name_box(driver):
    return find(driver, "#ann-name input, #ann-name textarea")


def annotate_next(driver):
    """Press Next; returns the new item's line once it replaced the old one."""
    old = text_of(driver, "#ann-info")
    click(driver, "#ann-next")
    return wait(driver, lambda d: text_of(d, "#ann-info") != old and "Item" in text_of(d, "#ann-info")
                and text_of(d, "#ann-info"))


def queue_csv(path, texts, prefix):
    """A file of our own reviews to annotate: ids PREFIX0, PREFIX1, ..., no labels."""
    path.write_text("id,text,label\n" + "\n".join(f'{prefix}{i},"{t}",' for i, t in enumerate(texts)) + "\n")
    return path


@contextmanager
def annotating(driver, src, db, *options, log):
    """The app queueing ``src`` into the database ``db`` (more ``options`` for serve), open on Annotate."""
    with Server("--db", str(db), "--annotate", str(src), *options, log=log) as server:
        driver.get(server.url)
        open_tab(driver, "Annotate")
        yield server


def pressed(driver):
    """The word numbers marked as the rationale."""
    return [int(w.get_attribute("data-i")) for w in words(driver, "#ann-text")
            if w.get_attribute("aria-pressed") == "true"]


# ---- accessibility ----------------------------------------------------------------------------
AXE = ROOT / "tests" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# Violations inside Gradio's own widgets, which we cannot change from the app; reported in the README.
GRADIO_OWN: set[tuple[str, str]] = set()  # none left: the upload button's name is fixed in the page (upload_names.js)
AXE_REPORTS = ROOT / "artifacts" / "axe"  # one report per test: <module>__<test>.json
RUN_AXE = ("const done = arguments[0]; axe.run(document, {resultTypes: ['violations']}).then(r => done("
           "r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, "
           "nodes: v.nodes.map(n => n.target.join(' ') + ' ' + n.html.slice(0, 120))}))));")


class Axe:
    """axe-core for one test: ``axe(driver, where)`` checks the page as it is and records every finding
    (ours and Gradio's) under ``where`` in the test's own report, which no other test writes."""

    def __init__(self, test: str, report):
        self.test, self.report, self.checks = test, report, {}
        report.unlink(missing_ok=True)  # a report from an earlier run of this test is not mixed in

    def __call__(self, driver, where):
        """Run axe-core on the page; fail on any serious or critical violation outside GRADIO_OWN."""
        assert AXE.exists(), "axe-core is missing: scripts/test installs it (npm ci --prefix tests/axe)"
        driver.execute_script(AXE.read_text())
        found = driver.execute_async_script(RUN_AXE)
        gradio, ours = [], []
        for v in found:
            for node in v["nodes"]:
                owner = gradio if any(v["id"] == rule and sel in node for rule, sel in GRADIO_OWN) else ours
                owner.append({"rule": v["id"], "impact": v["impact"], "help": v["help"], "node": node})
        self.checks[where] = {"ours": ours, "gradio": gradio}
        self.report.parent.mkdir(parents=True, exist_ok=True)
        self.report.write_text(json.dumps({"test": self.test, "checks": self.checks}, indent=1))
        serious = [f for f in ours if f["impact"] in ("serious", "critical")]
        assert not serious, f"{where}: {serious}"
        return found


@pytest.fixture()
def axe(request):
    """``axe(driver, where)``: this test's axe-core checks, reported in artifacts/axe/<module>__<test>.json."""
    name = re.sub(r"[^\w.-]+", "_", f"{request.node.module.__name__.rsplit('.', 1)[-1]}__{request.node.name}")
    return Axe(request.node.nodeid, AXE_REPORTS / f"{name}.json")


def open_setup(driver):
    """Annotate's set-up (upload, queue order) folds away once a review is on screen: open it if folded."""
    if not usable(driver, "#ann-upload", enabled=False):
        click(driver, "#ann-setup button.label-wrap, #ann-setup > button")
    find(driver, "#ann-order", enabled=False)
