"""The interactive page: self-contained, and in a real headless Chromium it loads without
console errors and clicking the w node of the tutorial example shows d loss / d w = -2."""

import json
import re
import tempfile

import jax
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

import minigrad_jax as mg

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def loss(w, x, y):
    y_hat = w * x
    return (y_hat - y) ** 2


def test_page_is_self_contained():
    rep = mg.explain_grad(loss)(1.0, 1.0, 2.0)
    page = rep.to_html()
    assert page.startswith("<!DOCTYPE html>")
    # the only URL is the SVG namespace: no script, style, font or image from the network
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}
    assert not re.search(r"<(script|link|img)[^>]*(src|href)=", page)
    assert "<iframe srcdoc=" in rep._repr_html_()
    drawing = mg.draw(loss, backward=True, values=True)(1.0, 1.0, 2.0)
    assert "mg-data" in drawing.to_html() and "<iframe" in drawing._repr_html_()
    for name in ("1. jaxpr", "2. jvp", "3. partial evaluation", "4. transpose"):
        assert name in page
    # what reverse mode saves, in bytes: mg.saved_residuals's list (checked against JAX's in
    # test_saved_residuals.py)
    blob = re.search(r'<script type="application/json" id="mg-data">(.*?)</script>', page, re.S)
    data = json.loads(blob.group(1))
    res = mg.saved_residuals(loss, 1.0, 1.0, 2.0)
    assert len(data["residuals"]["rows"]) == len(res) > 0
    assert data["residuals"]["total"] == sum(r.nbytes for r in res) > 0
    assert data["nodes"]["in0"]["cotangent"]["text"] == "-2.0"


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.TemporaryDirectory()
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile.name}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        profile.cleanup()


def test_page_in_headless_chromium(browser, tmp_path):
    rep = mg.explain_grad(loss)(1.0, 1.0, 2.0)
    path = rep.save(tmp_path / "loss.html")
    browser.get(path.resolve().as_uri())
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    node = browser.find_element(By.CSS_SELECTOR, 'g.node[data-id="in0"]')  # the w node
    node.click()
    panel = browser.find_element(By.ID, "panel").text
    want = float(jax.grad(loss)(1.0, 1.0, 2.0))
    assert want == -2.0
    assert f"d loss / d w = {want}" in panel and "value = 1.0" in panel
    # the stepper walks through the passes
    assert browser.find_element(By.ID, "pass-name").text == "1. jaxpr"
    browser.find_element(By.ID, "next").click()
    assert browser.find_element(By.ID, "pass-name").text == "2. jvp"
    assert "mul" in browser.find_element(By.ID, "pass-text").text
    # an operation shows its chain-rule step
    browser.find_element(By.CSS_SELECTOR, 'g.node[data-id="eqn0"]').click()
    panel = browser.find_element(By.ID, "panel").text
    assert "chain rule" in panel and "y_hat = w * x" in panel
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
