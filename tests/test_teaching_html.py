"""The interactive page: self-contained, and in a real headless Chromium it loads without
console errors and clicking the w node of the tutorial example shows d loss / d w = -2."""

import json
import re
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

import minigrad_jax as mg
import minigrad_jax.numpy as mnp

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


def chain(x):
    for _ in range(600):
        x = mnp.sin(x) * 0.9
    return x


def _severe(browser):
    return [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def _view(browser, gid):
    return browser.find_element(By.CSS_SELECTOR, f'div.group-view[data-group="{gid}"]')


def test_folded_groups_open_and_close_in_chromium(browser, tmp_path):
    d = mg.draw(chain, backward=True, values=True)(1.0)
    assert d.folded > 0
    (group,) = [n.id for n in d.graph.nodes if n.id.startswith("group")]
    path = d.save(tmp_path / "chain.html")
    browser.get(path.resolve().as_uri())
    assert _severe(browser) == []
    view = _view(browser, group)
    assert not view.is_displayed()
    browser.find_element(By.CSS_SELECTOR, f'g.node[data-id="{group}"]').click()
    assert view.is_displayed()
    # 1200 equations on one source line: the group holds runs of them, folded again
    inner = view.find_elements(By.CSS_SELECTOR, "g.node")
    runs = [g for g in inner if g.get_attribute("data-id").startswith(f"{group}/group")]
    assert len(inner) > 3 and runs and all(g.is_displayed() for g in inner)
    run = runs[0].get_attribute("data-id")
    runs[0].click()
    run_view = _view(browser, run)
    assert run_view.is_displayed()
    ops = run_view.find_elements(By.CSS_SELECTOR, 'g.node[data-kind="op"]')
    assert ops and all(g.is_displayed() for g in ops)
    assert "sin" in ops[0].text
    # an equation inside shows its value and gradient: d out / d x_1 after the first sin * 0.9
    first = run_view.find_element(By.CSS_SELECTOR, f'g.node[data-id="{run}/eqn1"]')
    browser.execute_script("arguments[0].scrollIntoView()", first)
    first.click()
    panel = browser.find_element(By.ID, "panel").text
    x1 = jnp.sin(jnp.float32(1.0)) * 0.9
    want = jax.grad(lambda x: jax.lax.fori_loop(0, 599, lambda i, x: jnp.sin(x) * 0.9, x))(x1)
    ct = re.search(r"d loss / d \S+ = (\S+)", panel).group(1)
    np.testing.assert_allclose(float(ct), want, rtol=1e-4, atol=1e-30)
    np.testing.assert_allclose(float(re.search(r"value = (\S+)", panel).group(1)), x1, rtol=1e-6)
    # clicking the group again closes it and the groups inside it
    browser.execute_script("window.scrollTo(0, 0)")
    browser.find_element(By.CSS_SELECTOR, f'g.node[data-id="{group}"]').click()
    assert not view.is_displayed() and not run_view.is_displayed()
    assert _severe(browser) == []


def scan_loss(w):
    def step(c, x):
        h = mnp.tanh(c * w + x)
        return h, h

    c, ys = mg.lax.scan(step, 0.5, mnp.arange(3.0))
    return c + mnp.sum(ys)


def test_rolled_loop_shows_values_per_iteration_in_chromium(browser, tmp_path):
    d = mg.draw(scan_loss, backward=True, values=True)(0.7)
    (h,) = [n.id for n in d.graph.nodes if n.label.startswith("h = tanh")]
    path = d.save(tmp_path / "scan.html")
    browser.get(path.resolve().as_uri())
    assert _severe(browser) == []
    browser.find_element(By.CSS_SELECTOR, f'g.node[data-id="{h}"]').click()
    table = browser.find_element(By.CSS_SELECTOR, "#panel table.iterations")
    rows = [
        [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
        for tr in table.find_elements(By.TAG_NAME, "tr")[1:]
    ]
    assert [r[0] for r in rows] == ["0", "1", "2"]

    def jax_loss(w, eps):  # d loss / d h at iteration k: the cotangent of eps[k] added to h
        def step(c, xe):
            h = jnp.tanh(c * w + xe[0]) + xe[1]
            return h, h

        c, ys = jax.lax.scan(step, 0.5, (jnp.arange(3.0), eps))
        return c + jnp.sum(ys)

    hs = jax.lax.scan(lambda c, x: (jnp.tanh(c * 0.7 + x),) * 2, 0.5, jnp.arange(3.0))[1]
    cts = jax.grad(jax_loss, argnums=1)(0.7, jnp.zeros(3))
    np.testing.assert_allclose([float(r[1]) for r in rows], hs, rtol=1e-6)
    np.testing.assert_allclose([float(r[2]) for r in rows], cts, rtol=1e-5)
    assert _severe(browser) == []
