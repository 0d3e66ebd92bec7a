"""A 200,000-point product map in a real browser: hover, thumbnail, box selection.

The map is ``bench/map_app.py`` with generated coordinates over the demo set's
products (points repeat products), so it needs no computed embedding.
"""
from __future__ import annotations

import os
import re

import pytest

from bench.browser import Server

N_POINTS = 200_000


@pytest.fixture
def map_page(tmp_path, shared_cache, browser):
    """The map harness on its own server, in a tab of the session's browser."""
    env = dict(os.environ)
    env.pop("FASHION_DATA_DIR", None)
    env["FASHION_CACHE_DIR"] = os.environ.get("FASHION_E2E_CACHE") or str(shared_cache)
    with Server(env, tmp_path / "streamlit.log", timeout_s=90, script="bench/map_app.py") as server:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.page_errors = []
        page.on("pageerror", lambda e: page.page_errors.append(str(e)))
        page.goto(f"{server.url}/?n={N_POINTS}")
        page.wait_for_selector(".fhs-root[data-ready='1']", timeout=180_000)
        yield page
        context.close()


def test_200k_map_hovers_to_a_thumbnail_and_box_selects_ids(map_page):
    page = map_page
    root = page.locator(".fhs-root")
    assert root.get_attribute("data-points") == str(N_POINTS)
    assert root.get_attribute("data-mode") == "points"
    # drawn by the vendored gl2d partial bundle, which has the trace types the scatter uses
    bundle = page.evaluate("() => Array.from(document.scripts, s => s.src)"
                           ".filter(s => s.includes('/app/static/vendor/'))")
    assert len(bundle) == 1 and "/plotly-gl2d-" in bundle[0]
    assert page.evaluate("() => ['scatter', 'scattergl'].every(t => t in Plotly.PlotSchema.get().traces)")
    pos = page.evaluate(
        """() => { const gd = document.querySelector('.fhs-plot');
                   const fl = gd._fullLayout, r = gd.getBoundingClientRect(), t = gd._fullData[0];
                   return {x: r.left + fl.xaxis._offset + fl.xaxis.l2p(t.x[3]),
                           y: r.top + fl.yaxis._offset + fl.yaxis.l2p(t.y[3])}; }""")
    page.mouse.move(pos["x"] - 10, pos["y"] - 10)
    page.mouse.move(pos["x"], pos["y"], steps=3)
    page.locator(".fhs-card").wait_for(state="visible", timeout=10_000)
    page.wait_for_function(
        "() => { const i = document.querySelector('.fhs-img');"
        " return i && i.complete && i.naturalWidth > 0 && i.dataset.loaded === i.dataset.id; }",
        timeout=10_000)
    assert "app/static/thumbs/" in page.locator(".fhs-img").get_attribute("src")
    assert page.locator(".fhs-name").inner_text().startswith("Demo")

    page.evaluate("() => { document.querySelector('.fhs-plot').__marked = true; }")
    box = page.evaluate(
        """() => { const gd = document.querySelector('.fhs-plot'); const r = gd.getBoundingClientRect();
                   const s = gd._fullLayout._size;
                   return {l: r.left + s.l, t: r.top + s.t, w: s.w, h: s.h}; }""")
    x0, y0 = box["l"] + box["w"] * 0.3, box["t"] + box["h"] * 0.3
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + box["w"] * 0.4, y0 + box["h"] * 0.4, steps=10)
    page.mouse.up()
    selected = page.get_by_text(re.compile(r"^Selected: [1-9]"))
    selected.wait_for(timeout=60_000)
    ids = page.get_by_text(re.compile(r"^ids: \d")).inner_text().split()[1:]
    assert ids and all(i.isdigit() for i in ids)
    # the selection's rerun reused the drawn map: same element, drawn once, plotly.js loaded once
    assert page.evaluate("() => document.querySelector('.fhs-plot').__marked === true")
    assert page.evaluate("() => performance.getEntriesByName('fhs:map-start').length") == 1
    assert page.evaluate("() => performance.getEntriesByName('fhs:plotly-requested').length") == 1
    assert page.page_errors == []
