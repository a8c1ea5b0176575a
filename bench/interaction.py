"""Latency of one interaction in a real browser: click Analyze -> the coloured review on screen, for
the 250-word review of ``bench/explain.py``, in headless Chromium against the app on loopback.

    python -m bench.interaction [--repeats 40] [--against CHECKOUT]

The time is taken inside the page (``performance.now()`` from the click to the moment the new
review's coloured words are in the document), so Selenium's own round trips are not counted.
Two reviews that differ in one word alternate, so every click changes what is shown; between
clicks the page is left to finish (the plot and tables that follow the review), as a person's next
click would. With
``--against`` the app of another checkout (same Python packages) is measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import table
from bench.explain import SENTENCE
from serve.app.process import ROOT, Server

WORDS = (SENTENCE.split() * 20)[:250]
REVIEWS = (" ".join(WORDS), " ".join(WORDS[:-1] + ["forever"]))

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

PAUSE = 0.4  # seconds between clicks: the second step (plot, tables) of the last click is done by then
FILL = ("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}));")


def chromium(profile: str):
    """Debian's headless Chromium through its chromedriver; Selenium Manager never runs."""
    os.environ["SE_AVOID_STATS"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1366,900",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_script_timeout(60)
    return driver


def click_to_colours(driver, url: str | None, repeats: int) -> list[float]:
    """Milliseconds per Analyze click (the first, a warm-up, not counted). Opens ``url`` when given,
    otherwise uses the page the driver is on."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    if url:
        driver.get(url)
    box = WebDriverWait(driver, 60).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#review textarea")))
    times = []
    for i in range(repeats + 1):
        time.sleep(PAUSE)
        driver.execute_script(FILL, box, REVIEWS[i % 2])
        ms = driver.execute_async_script(CLICK_TO_COLOURS)
        if i:
            times.append(float(ms))
    return times


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=40)
    p.add_argument("--against", type=Path, help="another checkout of sentilens, measured first in the same run")
    args = p.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        driver = chromium(f"{tmp}/chrome")
        try:
            for name, root in ((("before", args.against),) if args.against else ()) + (("now", ROOT),):
                with Server("--db", f"{tmp}/{name}.sqlite3", log=Path(tmp) / f"{name}.log", root=root.resolve()) as s:
                    results[name] = click_to_colours(driver, s.url, args.repeats)
        finally:
            driver.quit()
    rows = [("app", "p50 ms", "p95 ms", "clicks")]
    for name, times in results.items():
        q = statistics.quantiles(times, n=20)
        rows.append((str(args.against) if name == "before" else "this checkout", f"{statistics.median(times):.0f}",
                     f"{q[18]:.0f}", len(times)))
    print(f"click Analyze -> coloured review, {len(WORDS)}-word review, default method, headless Chromium, loopback")
    print(table(rows))
    return results


if __name__ == "__main__":
    main()
