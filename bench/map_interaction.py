"""The Data tab's map on the 25,000 IMDB test reviews in a real browser: how long the map takes to appear
once the file is scored, to draw, to recolour, to answer a hover, and to turn a box selection into the
slice, in headless Chromium against the app on loopback.

    python -m bench.map_interaction [--data ../shared/data/aclImdb_v1_labeled.tar.gz]

Times inside the page come from the map's script (``performance.now()`` around its canvas draw and its
box test, kept on the element as ``data-draw-ms`` and ``data-select-ms``); the others are wall-clock
from Selenium's action to the page showing its result (the map drawn, the slice's summary).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench.common import DATA, table
from bench.interaction import chromium
from serve.app.process import Server

MAP = "#data-map[data-points], #data-map [data-points]"
HOVERS = """
const el = document.querySelector(arguments[0]), over = el.querySelector('.sl-map-over');
const r = over.getBoundingClientRect(), t0 = performance.now();
for (let i = 0; i < 200; i++) {
  over.dispatchEvent(new PointerEvent('pointermove', {bubbles: true, clientX: r.left + (i * 37) % r.width,
                                                     clientY: r.top + (i * 53) % r.height}));
}
return (performance.now() - t0) / 200;
"""


def wait(driver, condition, timeout=600):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)


def text(driver, css: str) -> str:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, css)
    return found[0].text if found else ""


def main(argv: list[str] | None = None) -> dict:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DATA, help="an aclImdb archive (its test split is loaded)")
    args = p.parse_args(argv)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        driver = chromium(f"{tmp}/chrome")
        try:
            with Server("--db", f"{tmp}/db.sqlite3", log=Path(tmp) / "server.log") as s:
                driver.get(s.url)
                wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#review textarea"))
                next(b for b in driver.find_elements(By.CSS_SELECTOR, "button[role=tab]") if b.text == "Data").click()
                t0 = time.perf_counter()
                driver.find_element(By.CSS_SELECTOR, "#data-upload input[type=file]").send_keys(str(args.data))
                wait(driver, lambda d: "reviews scored" in text(d, "#data-status"))
                out["score the file (s)"] = time.perf_counter() - t0
                t1 = time.perf_counter()
                el = wait(driver, lambda d: next((e for e in d.find_elements(By.CSS_SELECTOR, MAP)
                                                  if int(e.get_attribute("data-points") or 0) > 0), None))
                out["scored -> map on screen: represent, project, send, draw (s)"] = time.perf_counter() - t1
                n = int(el.get_attribute("data-points"))
                out["points"] = n
                out["canvas draw (ms, in page)"] = float(el.get_attribute("data-draw-ms"))
                draws = []
                for colour in ("pred", "error", "conf", "label"):
                    driver.execute_script("const s = document.querySelector(arguments[0]).querySelector('.sl-map-colour');"
                                          "s.value = arguments[1]; s.dispatchEvent(new Event('change', {bubbles: true}));",
                                          MAP, colour)
                    draws.append(float(el.get_attribute("data-draw-ms")))
                out["recolour (ms, in page, mean of 4)"] = sum(draws) / len(draws)
                out["hover: nearest point and tooltip (ms, in page, mean of 200)"] = driver.execute_script(HOVERS, MAP)
                canvas = el.find_element(By.CSS_SELECTOR, ".sl-map-over")
                driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
                w, h = canvas.size["width"], canvas.size["height"]
                t2 = time.perf_counter()
                ActionChains(driver).move_to_element_with_offset(canvas, -w // 2 + 2, -h // 2 + 2).click_and_hold() \
                    .move_by_offset(w // 4, h // 2).move_by_offset(w // 4, h // 2 - 4).release().perform()
                chosen = int(wait(driver, lambda d: el.get_attribute("data-selected") or None))
                wait(driver, lambda d: f"Slice: {chosen:,} review" in text(d, "#data-summary"))
                out["box selection -> the slice's summary, table and confusion (s, wall)"] = time.perf_counter() - t2
                out["box test of every point (ms, in page)"] = float(el.get_attribute("data-select-ms"))
                out["selected"] = chosen
                # for comparison: a confusion-matrix cell (a slice the tab always had) on the same selection
                cell = driver.find_element(By.CSS_SELECTOR, "#data-cell-pos-wrong")
                n_cell = int(cell.text.split()[0].replace(",", ""))
                t3 = time.perf_counter()
                cell.click()
                wait(driver, lambda d: f"Slice: {n_cell:,} review" in text(d, "#data-summary"))
                out["for comparison: a confusion cell -> its slice (s, wall)"] = time.perf_counter() - t3
                size = driver.execute_script("return JSON.stringify(document.querySelector(arguments[0]).dataset).length",
                                             MAP)
                out["(kept on the element, characters)"] = size
        finally:
            driver.quit()
    print(f"The map of {int(out['points']):,} reviews, headless Chromium, loopback, this machine")
    print(table([("step", "time")] + [(k, f"{v:,.1f}" if isinstance(v, float) else f"{v:,}") for k, v in out.items()]))
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
