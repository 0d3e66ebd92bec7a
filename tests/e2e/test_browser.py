"""Browser tests: every page renders, hover shows a thumbnail, a box selection shows a gallery."""
from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import PAGES, exceptions, screenshot, wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PLACEHOLDER = "This page is being written."


def _slider_value(page, label: str) -> str:
    slider = page.locator(f"[data-testid='stSidebar'] [role='slider'][aria-label='{label}'], "
                          f"[data-testid='stSidebar'] input[type='range'][aria-label='{label}']").first
    return slider.get_attribute("aria-valuetext") or slider.get_attribute("value")


def test_a_shared_link_opens_its_page_on_a_fresh_server(page, fresh_server):
    """First visit of a new server, straight to a page's URL with settings (a shared link).

    Streamlit runs pages found in a ``pages/`` folder on their own, without
    ``app.py``, until some session has called ``st.navigation``; the link must
    still open the PCA page inside the frame, with the link's settings, and a
    seed out of range is clamped and leaves the URL.
    """
    page.goto(f"{fresh_server}/pca?fraction=0.05&sample_seed=2147483647&image_size=50")
    wait_idle(page)
    screenshot(page, "shared-link-pca")
    assert exceptions(page) == []
    assert page.locator("h1").first.inner_text().strip() == "Principal component analysis"
    sidebar = page.locator("[data-testid='stSidebar']").inner_text()
    assert "Subsample" in sidebar and "Overview" in sidebar, (
        "a page opened from its URL on a fresh server shows no shared settings or page names: "
        f"app.py did not run for it. Sidebar: {sidebar[:200]!r}")
    assert _slider_value(page, "Subsample") == "5%"
    assert _slider_value(page, "Image size") == "50x50"
    assert _slider_value(page, "Subsample seed") == "99"
    # Values the widgets do not offer leave the URL; the page uses the clamped ones.
    assert urlsplit(page.url).path == "/pca"
    query = parse_qs(urlsplit(page.url).query)
    assert "2147483647" not in page.url and query.get("fraction", ["5%"]) == ["5%"], page.url
    assert "Page not found" not in page.locator("body").inner_text()


def test_a_shared_link_to_the_last_page_on_a_fresh_server_finds_it(page, fresh_server):
    """The first registration of the pages must give every page its own path.

    A registration without the default page first made the last file in
    ``pages/`` the default (served at the root), so its own link was "not found".
    """
    page.goto(f"{fresh_server}/classifier")
    wait_idle(page)
    assert exceptions(page) == []
    assert "Page not found" not in page.locator("body").inner_text()
    assert page.locator("h1").first.inner_text().strip() == "Classifier"
    assert urlsplit(page.url).path == "/classifier"


@pytest.mark.parametrize("title,path", list(PAGES.items()), ids=list(PAGES.values()))
def test_every_page_renders(page, app_server, title, path):
    page.goto(f"{app_server}/{path}")
    wait_idle(page)
    screenshot(page, f"page-{path or 'overview'}")
    assert exceptions(page) == [], f"{title} raised: {exceptions(page)}"
    heading = page.locator("h1").first
    assert heading.is_visible(), f"{title} shows no heading"
    sidebar = page.locator("[data-testid='stSidebar']").inner_text()
    assert "Subsample" in sidebar, (
        f"{title} opened from its URL shows no shared settings in the sidebar: the app's "
        "frame (app.py) did not run for it")
    body = page.locator("[data-testid='stMain']").inner_text()
    assert PLACEHOLDER not in body, f"{title} is still a placeholder"
    assert "could not be drawn" not in body, f"{title} failed: {body[:600]!r}"
    assert len(body.strip()) > 200, f"{title} shows almost nothing: {body[:200]!r}"


def _plot_point(page, trace: int = 0, point: int = 0) -> dict:
    """Screen position and id of one point of the first hover scatter on the page."""
    return page.evaluate(
        """([t, i]) => {
            const gd = document.querySelector('.fhs-plot');
            const fl = gd._fullLayout, tr = gd._fullData[t];
            const r = gd.getBoundingClientRect();
            const j = Math.min(i, tr.x.length - 1);
            return {x: r.left + fl.xaxis._offset + fl.xaxis.l2p(tr.x[j]),
                    y: r.top + fl.yaxis._offset + fl.yaxis.l2p(tr.y[j]),
                    id: Number(tr.customdata[j])};
        }""", [trace, point])


def _open_scatter(page, app_server):
    page.goto(f"{app_server}/embeddings?emb_method=PCA")
    wait_idle(page)
    page.wait_for_selector(".fhs-root[data-ready='1']")
    page.locator(".fhs-plot").first.scroll_into_view_if_needed()
    time.sleep(0.5)


def test_hover_shows_thumbnail(page, app_server):
    _open_scatter(page, app_server)
    pos = _plot_point(page)
    page.mouse.move(pos["x"] - 10, pos["y"] - 10)
    page.mouse.move(pos["x"], pos["y"], steps=4)
    card = page.locator(".fhs-card")
    card.wait_for(state="visible", timeout=10_000)
    page.wait_for_function(
        "() => { const i = document.querySelector('.fhs-img');"
        " return i && i.complete && i.naturalWidth > 0 && i.dataset.loaded === i.dataset.id; }",
        timeout=10_000)
    img = page.locator(".fhs-img")
    assert "app/static/thumbs/" in img.get_attribute("src")
    assert page.locator(".fhs-name").inner_text().strip() != ""
    assert "masterCategory" in page.locator(".fhs-fields").inner_text()
    screenshot(page, "hover-card")
    assert page.page_errors == []


def test_box_selection_shows_gallery(page, app_server):
    _open_scatter(page, app_server)
    box = page.evaluate(
        """() => { const gd = document.querySelector('.fhs-plot'); const r = gd.getBoundingClientRect();
                   const s = gd._fullLayout._size;
                   return {l: r.left + s.l, t: r.top + s.t, w: s.w, h: s.h}; }""")
    x0, y0 = box["l"] + box["w"] * 0.15, box["t"] + box["h"] * 0.15
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + box["w"] * 0.7, y0 + box["h"] * 0.7, steps=12)
    page.mouse.up()
    page.get_by_text("Selection:").first.wait_for(timeout=60_000)
    wait_idle(page)
    text = page.get_by_text("Selection:").first.inner_text()
    n = int(text.split(":")[1].split()[0].replace(",", ""))
    assert n > 0
    main = page.locator("[data-testid='stMain']")
    assert main.locator("img[src*='/media/']").count() > 0, "the gallery shows no images"
    screenshot(page, "box-selection")
    assert exceptions(page) == []


def test_click_pins_detail_card(page, app_server):
    _open_scatter(page, app_server)
    pos = _plot_point(page, 0, 2)
    page.mouse.move(pos["x"], pos["y"])
    time.sleep(0.3)
    page.mouse.click(pos["x"], pos["y"])
    # The card and its heading are drawn before the neighbours are computed:
    # wait for the neighbour gallery itself.
    similar = page.locator("[data-testid='stMain']").get_by_text(re.compile(r"\(d=\d+\)$"))
    deadline = time.monotonic() + 120
    while similar.count() < 8 and time.monotonic() < deadline:
        assert "Similar products are unavailable" not in page.locator(
            "[data-testid='stMain']").inner_text()
        time.sleep(0.5)
    wait_idle(page)
    pinned = page.get_by_text(re.compile(r"Pinned product · id \d+")).first.inner_text()
    assert int(pinned.rsplit("id", 1)[1]) == pos["id"], "the card pins another product than the clicked one"
    assert similar.count() == 8, f"the neighbour gallery shows {similar.count()} products, not 8"
    screenshot(page, "pinned-card")
    assert exceptions(page) == []


def test_highlight_rings_matching_products(page, app_server):
    _open_scatter(page, app_server)
    box = page.get_by_label("Highlight").first
    box.fill("Watches")
    box.press("Enter")
    page.wait_for_function(
        "() => { const gd = document.querySelector('.fhs-plot');"
        " return gd && gd._fullData && gd._fullData.some(t => (t.name || '').startsWith('Matches')); }",
        timeout=60_000)
    wait_idle(page)
    names = page.evaluate("() => document.querySelector('.fhs-plot')._fullData.map(t => t.name)")
    matches = [n for n in names if n.startswith("Matches")]
    assert matches and int(matches[0].split("(")[1].rstrip(")")) > 0
    assert "Watches" in page.url, "the highlight query is not kept in the URL"
    screenshot(page, "highlight")


def test_thumbnails_view_draws_real_images(page, app_server):
    page.goto(f"{app_server}/embeddings?emb_method=PCA&emb_view=Thumbnails+%2B+categories")
    wait_idle(page)
    page.wait_for_selector(".fhs-root[data-ready='1']")
    page.wait_for_function(
        "() => document.querySelectorAll('.fhs-plot image').length > 10", timeout=60_000)
    hrefs = page.evaluate(
        "() => Array.from(document.querySelectorAll('.fhs-plot image'))"
        ".map(i => i.getAttribute('href') || i.getAttribute('xlink:href'))")
    assert all("app/static/thumbs/" in h for h in hrefs)
    # every drawn thumbnail is a file the server really serves
    status = page.evaluate("(u) => fetch(u).then(r => [r.status, r.headers.get('content-type')])",
                           hrefs[0])
    assert status == [200, "image/jpeg"]
    screenshot(page, "thumbnails-with-categories")


def test_nothing_is_fetched_from_outside(page, app_server):
    """The app works offline: plotly.js and thumbnails come from the app's own server."""
    seen: list[str] = []
    page.on("request", lambda req: seen.append(req.url))
    _open_scatter(page, app_server)
    outside = [u for u in seen if not u.startswith((app_server, "data:", "blob:"))
               # Streamlit fetches a ":material/...:" page icon from Google's font server;
               # offline only the browser tab's icon is missing.
               and "/materialsymbols" not in u]
    assert outside == []
    assert any("/app/static/vendor/plotly-" in u for u in seen)


def _box_select(page, frac: float = 0.7) -> None:
    box = page.evaluate(
        """() => { const gd = document.querySelector('.fhs-plot'); const r = gd.getBoundingClientRect();
                   const s = gd._fullLayout._size;
                   return {l: r.left + s.l, t: r.top + s.t, w: s.w, h: s.h}; }""")
    x0, y0 = box["l"] + box["w"] * 0.15, box["t"] + box["h"] * 0.15
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + box["w"] * frac, y0 + box["h"] * frac, steps=12)
    page.mouse.up()


def test_a_map_seen_before_comes_back_without_a_redraw_and_still_works(page, app_server):
    """Switching pages and back puts the drawn map back (no second draw); hover and selection work."""
    nav = page.locator("[data-testid='stSidebarNavLink']")
    page.goto(f"{app_server}/pca")
    wait_idle(page)
    page.wait_for_selector(".fhs-root[data-ready='1']")
    page.locator(".fhs-plot").first.scroll_into_view_if_needed()
    _box_select(page)
    page.get_by_text("Selection:").first.wait_for(timeout=60_000)
    wait_idle(page)

    nav.filter(has_text="Overview").first.click()
    wait_idle(page)
    assert page.locator(".fhs-root").count() == 0
    nav.filter(has_text="PCA").first.click()
    page.wait_for_selector(".fhs-root[data-phases]")
    wait_idle(page)
    assert page.evaluate("() => performance.getEntriesByName('fhs:map-kept').length") == 1
    assert page.evaluate("() => performance.getEntriesByName('fhs:map-start').length") == 1, \
        "the map was drawn again"
    # the new page starts with no selection, and shows none
    assert page.get_by_text("Selection:").count() == 0
    assert page.evaluate("() => (document.querySelector('.fhs-plot').layout.selections || []).length") == 0

    page.locator(".fhs-plot").first.scroll_into_view_if_needed()
    pos = _plot_point(page, 0, 1)
    page.mouse.move(pos["x"] - 10, pos["y"] - 10)
    page.mouse.move(pos["x"], pos["y"], steps=4)
    page.locator(".fhs-card").wait_for(state="visible", timeout=10_000)
    assert page.locator(".fhs-img").get_attribute("data-id") is not None
    _box_select(page, 0.5)
    page.get_by_text("Selection:").first.wait_for(timeout=60_000)
    wait_idle(page)
    n = int(page.get_by_text("Selection:").first.inner_text().split(":")[1].split()[0].replace(",", ""))
    assert n > 0
    assert exceptions(page) == [] and page.page_errors == []
