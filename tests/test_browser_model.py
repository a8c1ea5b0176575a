"""The Model tab in a real browser: the model card with its plots, at desktop and phone width, and the
API page the footer opens."""

import pytest
from selenium.webdriver.common.by import By

from tests.pages import click, find, open_tab, plots_drawn, shot, viewport, wait

pytest_plugins = ["tests.pages"]
pytestmark = pytest.mark.browser


def test_model_card_and_api_page(page, axe):
    browser = page
    open_tab(browser, "Model")
    card = find(browser, "#card")
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
    click(browser, "footer .show-api")
    api = wait(browser, lambda d: "/explain" in d.find_element(By.TAG_NAME, "body").text and
               d.find_element(By.TAG_NAME, "body").text)
    assert api.index("/predict") < api.index("/explain") < api.index("/next_item")
    assert "Literal['running', 'occlusion', 'cd']" in api and "Example" in api
    shot(browser, "api")
