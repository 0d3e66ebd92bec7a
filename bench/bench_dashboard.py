"""Dashboard responsiveness: page-switch server time, map first draw, image-hover latency.

Every measurement is taken with warm caches (a first pass fills them and is
not counted), and prints the 1-minute load average beside it: on a shared
machine wall times are only comparable at similar load.

* **page switch**: the server time of one script run per page, measured with
  ``streamlit.testing.v1.AppTest`` (the whole ``app.py`` frame plus the page);
  target under 0.5 s.
* **map sizes**: ``bench/map_app.py`` opened in chromium with 4,208, 42,072
  and 1,000,000 points (the dataset's products repeated; ``--map-source pca``
  replicates the real PCA map with jitter, ``generated`` places points in
  category blobs), ``--draw-repeats`` times (median printed) as a **new
  visitor** (a new browser context: empty HTTP cache) and as a **new tab** of a
  context that has opened the page before. Each prints when every phase of the
  first draw ended, in ms since navigation start: ``html`` (the page's
  document), ``streamlit_js`` (Streamlit's bundle), ``script_start`` /
  ``script_done`` (the app's script run, as the browser sees it), ``mounted``
  (the scatter element received its data), ``plotly_fetched`` /
  ``plotly_evaluated`` (plotly.js downloaded and run; ``plotly_ready`` is when
  the scatter had it, earlier when a preload or another chart loaded it),
  ``buffers_fetched``, ``built`` (traces made from the buffers), ``plotted``
  (``Plotly.react`` done), ``drawn`` (density image included) and
  ``first_frame`` (the next frame painted: the first draw); then the bytes
  transferred (0: from the browser's cache), the buffers' size and hover
  latency. The phases come from ``performance.mark`` calls in
  ``ui/scatter`` (``fhs:*``, visible in the browser's performance panel).
* **app first draw** (``--first-draw``): the same phases for the app's own
  map: a new visitor and a new tab opening ``--page``, then in-app switches
  (a click on ``--switch-to`` in the sidebar, from Overview), in ms since the
  click: the first switch of a tab, and the switch back to a page the tab has
  shown before (``kept``: the drawn map was put back instead of drawn again).
* **hover latency**: in Debian's chromium against ``streamlit run app.py``,
  the time from the last pointer move onto a point of the Embeddings scatter to
  the ``load`` event of that product's thumbnail in the hover card (and to the
  card being shown); target under 100 ms. Each hover goes to a different
  product, so every thumbnail is fetched from the server.

Usage::

    python bench/bench_dashboard.py                       # demo set
    python bench/bench_dashboard.py --data ../shared/data/fashion-small --fraction 1.0
    python bench/bench_dashboard.py --skip-pages --skip-hover           # map sizes only
    python bench/bench_dashboard.py --data ../shared/data/fashion-small --fraction 1.0 \
        --skip-pages --skip-hover --skip-map --first-draw                # the app's 42k map

It prints one line per measurement and a JSON summary on the last line.
Nothing here is a test: no threshold fails the run.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.browser import CHROMIUM_ARGS, Server, chromium_path, wait_idle  # noqa: E402

PAGES = ["pages/overview.py", "pages/pca.py", "pages/embeddings.py", "pages/clustering.py",
         "pages/mixture.py", "pages/classifier.py"]


def _stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    values = sorted(values)
    return {"n": len(values), "median": statistics.median(values),
            "p90": values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))],
            "max": values[-1]}


# ----------------------------------------------------------------------------
# Page switch (server time)
# ----------------------------------------------------------------------------
def bench_page_switch(fraction: float, repeats: int) -> dict:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=1800)
    at.session_state["fraction"] = fraction
    out = {}
    for page in PAGES:  # warm-up pass: fills the disk cache and imports
        at.switch_page(page)
        t0 = time.perf_counter()
        at.run()
        cold = time.perf_counter() - t0
        errs = [e.value for e in at.exception]
        print(f"  warm-up {page}: {cold:.2f} s" + (f"  EXCEPTION {errs[0][:120]}" if errs else ""),
              file=sys.stderr, flush=True)
    for page in PAGES:
        times = []
        for _ in range(repeats):
            at.switch_page(page)
            t0 = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - t0)
        s = _stats(times)
        out[page] = s
        print(f"page switch {page:24s} median {s['median'] * 1000:7.0f} ms  max {s['max'] * 1000:7.0f} ms"
              f"  ({'under' if s['median'] < 0.5 else 'OVER'} 0.5 s; load average {load_average()})",
              flush=True)
    return out


# ----------------------------------------------------------------------------
# Hover latency (browser)
# ----------------------------------------------------------------------------
_POINT_JS = """(k) => {
    const gd = document.querySelector('.fhs-plot');
    const fl = gd._fullLayout, r = gd.getBoundingClientRect();
    const traces = gd._fullData.filter(t => t.visible === true && t.x && t.x.length);
    let t = traces[k % traces.length];
    const j = Math.floor((k * 7919) % t.x.length);
    return {x: r.left + fl.xaxis._offset + fl.xaxis.l2p(t.x[j]),
            y: r.top + fl.yaxis._offset + fl.yaxis.l2p(t.y[j]),
            inside: r.top + fl.yaxis._offset >= 0};
}"""

_RESULT_JS = """(prev) => {
    const img = document.querySelector('.fhs-img'), root = document.querySelector('.fhs-root');
    if (!img || !img.dataset.id || img.dataset.id === prev) return null;
    if (img.dataset.loaded !== img.dataset.id) return null;
    return {id: img.dataset.id, move: window.__lastMove, shown: Number(root.dataset.shownAt),
            loaded: Number(img.dataset.loadedAt), n: img.naturalWidth};
}"""


def bench_hover(url: str, fraction: float, hovers: int, shots: Path | None,
                page_path: str = "embeddings?emb_method=PCA") -> dict:
    from playwright.sync_api import sync_playwright

    chromium = chromium_path()
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.set_default_timeout(1_800_000)
        t0 = time.perf_counter()
        sep = "&" if "?" in page_path else "?"
        page.goto(f"{url}/{page_path}{sep}fraction={fraction:.0%}".replace("%", "%25"))
        page.wait_for_selector(".fhs-root[data-ready='1']")
        wait_idle(page, timeout_s=1800, quiet_s=2.0)
        page.wait_for_selector(".fhs-root[data-ready='1']")
        first_draw = time.perf_counter() - t0
        n_points = page.evaluate("() => document.querySelector('.fhs-plot')._fullData"
                                 ".reduce((a, t) => a + (t.x ? t.x.length : 0), 0)")
        page.locator(".fhs-plot").first.scroll_into_view_if_needed()
        page.wait_for_timeout(1000)
        to_card, to_image, misses = _hover_times(page, hovers)
        if shots is not None:
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / f"bench-hover-{n_points}.png"))
        browser.close()
    card, image = _stats(to_card), _stats(to_image)
    print(f"scatter of {n_points:,} points drawn {first_draw:.1f} s after opening the page "
          f"(load average {load_average()})", flush=True)
    if image["n"]:
        print(f"hover -> card shown    median {card['median']:6.1f} ms  p90 {card['p90']:6.1f} ms  "
              f"max {card['max']:6.1f} ms  (n={card['n']})", flush=True)
        print(f"hover -> image loaded  median {image['median']:6.1f} ms  p90 {image['p90']:6.1f} ms  "
              f"max {image['max']:6.1f} ms  ({'under' if image['p90'] < 100 else 'OVER'} 100 ms at p90;"
              f" {misses} hovers found no point)", flush=True)
    return {"points": n_points, "first_draw_s": first_draw, "card_ms": card, "image_ms": image,
            "misses": misses}


def _hover_times(page, hovers: int) -> tuple[list[float], list[float], int]:
    page.evaluate("() => document.addEventListener('mousemove', "
                  "e => { window.__lastMove = e.timeStamp; }, true)")
    to_card, to_image, misses, prev = [], [], 0, ""
    for k in range(hovers):
        pos = page.evaluate(_POINT_JS, k)
        page.mouse.move(pos["x"] + 25, pos["y"] + 25)
        page.wait_for_timeout(120)
        page.mouse.move(pos["x"], pos["y"])
        try:
            handle = page.wait_for_function(_RESULT_JS, arg=prev, timeout=5000)
        except Exception:
            misses += 1
            continue
        r = handle.json_value()
        prev = r["id"]
        to_card.append(r["shown"] - r["move"])
        to_image.append(r["loaded"] - r["move"])
        page.wait_for_timeout(50)
    return to_card, to_image, misses


# ----------------------------------------------------------------------------
# First draw, phase by phase (browser Performance API)
# ----------------------------------------------------------------------------
#: Installed before any page script: records when Streamlit's script run starts
#: and ends (the app's ``data-test-script-state``) and when a page link is clicked.
_PHASE_INIT_JS = """(() => {
  window.__fhsScript = [];
  document.addEventListener('click', (e) => { window.__fhsClick = e.timeStamp; }, true);
  const watch = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app) return requestAnimationFrame(watch);
    let last = null;
    const note = () => {
      const s = app.getAttribute('data-test-script-state');
      if (s !== last) { last = s; window.__fhsScript.push([s, performance.now()]); }
    };
    note();
    new MutationObserver(note).observe(app, {attributes: true,
                                             attributeFilter: ['data-test-script-state']});
  };
  document.addEventListener('DOMContentLoaded', watch);
})();"""

#: Reads, after a map's first frame, when each phase ended (ms since navigation
#: start, or since the click of an in-app page switch).
_PHASES_JS = """(since) => {
  const root = document.querySelector('.fhs-root');
  const ph = JSON.parse(root.dataset.phases || '{}');
  const t0 = since || 0;
  const rel = (v) => (v === undefined || v === null ? null : v - t0);
  const res = performance.getEntriesByType('resource');
  const last = (pred) => res.filter(pred).sort((a, b) => b.startTime - a.startTime)[0];
  const nav = performance.getEntriesByType('navigation')[0];
  const bundle = res.filter(r => /\\/static\\/js\\/index\\.[^/]*\\.js$/.test(r.name))[0];
  const script = (window.__fhsScript || []).filter(([, t]) => t >= t0);
  const running = script.find(([s]) => s === 'running');
  const done = script.filter(([s]) => s === 'notRunning').pop();
  const plotly = last(r => /\\/vendor\\/plotly[^/]*\\.js/.test(r.name) && r.startTime >= t0);
  const maps = res.filter(r => /\\/static\\/maps\\//.test(r.name) && r.startTime >= t0);
  const marks = Object.fromEntries(performance.getEntriesByType('mark')
    .filter(m => m.name.startsWith('fhs:') && m.startTime >= t0).map(m => [m.name.slice(4), m.startTime]));
  return {
    html: since ? null : nav && nav.responseEnd,
    streamlit_js: since ? null : bundle && bundle.responseEnd,
    script_start: running ? rel(running[1]) : null,
    script_done: done ? rel(done[1]) : null,
    mounted: rel(ph.mounted),
    plotly_fetched: plotly ? rel(plotly.responseEnd) : null,
    plotly_transfer_bytes: plotly ? plotly.transferSize : null,
    plotly_evaluated: marks['plotly-evaluated'] !== undefined ? rel(marks['plotly-evaluated']) : null,
    plotly_ready: rel(ph.plotly),
    kept: rel(ph.kept),
    buffers_fetched: rel(ph.buffers),
    buffers_transfer_bytes: maps.reduce((a, r) => a + (r.transferSize || 0), 0),
    built: rel(ph.built),
    plotted: rel(ph.plotted),
    drawn: rel(ph.drawn),
    first_frame: rel(ph.frame),
  };
}"""

PHASES = ["html", "streamlit_js", "script_start", "mounted", "plotly_fetched", "plotly_evaluated",
          "plotly_ready", "kept", "buffers_fetched", "built", "plotted", "drawn", "first_frame", "script_done"]


def _phase_line(label: str, ph: dict) -> str:
    cells = []
    for k in PHASES:
        v = ph.get(k)
        cells.append(f"{k} {v:6.0f}" if isinstance(v, (int, float)) else f"{k}      -")
    return f"{label:34s} " + "  ".join(cells)


def _median_phases(runs: list[dict]) -> dict:
    out = {}
    for k in runs[0]:
        vals = [r[k] for r in runs if isinstance(r.get(k), (int, float))]
        out[k] = statistics.median(vals) if vals else None
    return out


def load_average() -> str:
    """The 1-minute load average, printed beside every timing (the machine may be shared)."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def _open_map(page, url: str) -> dict:
    """Open ``url`` in ``page``; the phases of its map's first draw, ms since navigation start."""
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(".fhs-root[data-phases]")
    wall = (time.perf_counter() - t0) * 1000
    phases = page.evaluate(_PHASES_JS, 0)
    phases["wall"] = wall
    return phases


def bench_map_sizes(env: dict, sizes: list[int], source: str, fraction: float, hovers: int,
                    repeats: int = 5) -> dict:
    """First draw, phase by phase, buffer bytes and hover latency of ``bench/map_app.py`` per size.

    Two kinds of visit, ``repeats`` times each, medians printed:

    * ``new visitor``: a new browser context (empty HTTP cache) opens the page;
    * ``new tab``: a new tab of a context that has opened the page before (what
      a returning visitor, or a second tab, gets).
    """
    from playwright.sync_api import sync_playwright

    out = {}
    with tempfile.TemporaryDirectory() as tmp, \
            Server(env, Path(tmp) / "streamlit.log", script="bench/map_app.py") as server, \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        for n in sizes:  # warm-up: computes and writes the buffers
            ctx = browser.new_context()
            page = ctx.new_page()
            page.set_default_timeout(1_800_000)
            page.goto(f"{server.url}/?n={n}&source={source}&fraction={fraction}")
            page.wait_for_selector(".fhs-root[data-ready='1']")
            ctx.close()
        returning = browser.new_context(viewport={"width": 1400, "height": 1000})
        returning.add_init_script(_PHASE_INIT_JS)
        warm = returning.new_page()
        warm.goto(f"{server.url}/?n={sizes[0]}&source={source}&fraction={fraction}")
        warm.wait_for_selector(".fhs-root[data-phases]")
        for n in sizes:
            url = f"{server.url}/?n={n}&source={source}&fraction={fraction}"
            runs: dict[str, list[dict]] = {"new visitor": [], "new tab": []}
            loads = []
            for _ in range(repeats):
                ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                ctx.add_init_script(_PHASE_INIT_JS)
                page = ctx.new_page()
                page.set_default_timeout(600_000)
                loads.append(load_average())
                runs["new visitor"].append(_open_map(page, url))
                ctx.close()
                page = returning.new_page()
                page.set_default_timeout(600_000)
                runs["new tab"].append(_open_map(page, url))
                info = page.evaluate("() => ({...document.querySelector('.fhs-root').dataset})")
                page.close()
            page = returning.new_page()
            page.goto(url)
            page.wait_for_selector(".fhs-root[data-phases]")
            card, image, misses = _hover_times(page, hovers)
            page.close()
            c, i = _stats(card), _stats(image)
            res = {"mode": info.get("mode"), "bytes": int(info.get("bytes", 0)),
                   "load_average": loads, "card_ms": c, "image_ms": i, "misses": misses}
            print(f"map of {n:>9,} points ({info.get('mode')}), buffers {res['bytes']:,} bytes, "
                  f"load average {' '.join(loads)}", flush=True)
            for kind, kind_runs in runs.items():
                med = _median_phases(kind_runs)
                res[kind] = {"median_ms": med, "runs": kind_runs}
                print("  " + _phase_line(f"{kind}: first frame {med['first_frame'] / 1000:5.2f} s;",
                                         med), flush=True)
                print(f"    plotly.js transferred {med['plotly_transfer_bytes'] or 0:,.0f} bytes,"
                      f" buffers {med['buffers_transfer_bytes'] or 0:,.0f} bytes (0: from the cache)",
                      flush=True)
            print(f"  hover -> card median {c.get('median', float('nan')):.1f} ms, -> image median "
                  f"{i.get('median', float('nan')):.1f} ms p90 {i.get('p90', float('nan')):.1f} ms"
                  f" ({misses} misses)", flush=True)
            out[n] = res
        returning.close()
        browser.close()
    return out


def bench_app_first_draw(url: str, fraction: float, repeats: int,
                         page_path: str = "embeddings?emb_method=PCA",
                         other: str = "Overview", target: str = "PCA") -> dict:
    """The app's own map: a fresh tab opening ``page_path``, and in-app switches to it.

    The switch clicks ``target`` then ``other`` in the sidebar twice in a
    tab, in ``repeats`` tabs: the first switch of a tab and the switch back to
    a page seen before in the same tab are reported apart.
    """
    from playwright.sync_api import sync_playwright

    sep = "&" if "?" in page_path else "?"
    full = f"{url}/{page_path}{sep}fraction={fraction:.0%}".replace("%", "%25")
    out: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={"width": 1400, "height": 1100})
        ctx.add_init_script(_PHASE_INIT_JS)
        page = ctx.new_page()
        page.set_default_timeout(1_800_000)
        page.goto(full)  # warm-up: fills the caches
        page.wait_for_selector(".fhs-root[data-phases]")
        wait_idle(page, timeout_s=1800)
        page.close()
        tabs, loads = [], []
        for _ in range(repeats):
            fresh = browser.new_context(viewport={"width": 1400, "height": 1100})
            fresh.add_init_script(_PHASE_INIT_JS)
            page = fresh.new_page()
            loads.append(load_average())
            tabs.append(_open_map(page, full))
            fresh.close()
        returning = []
        for _ in range(repeats):
            page = ctx.new_page()
            returning.append(_open_map(page, full))
            page.close()
        first_switch, back = [], []
        for _ in range(repeats):
            page = ctx.new_page()
            page.set_default_timeout(600_000)
            page.goto(f"{url}/?fraction={fraction:.0%}".replace("%", "%25"))
            wait_idle(page)
            for runs in (first_switch, back):
                page.locator("[data-testid='stSidebarNavLink']").filter(has_text=target).first.click()
                page.wait_for_selector(".fhs-root[data-phases]")
                runs.append(page.evaluate(_PHASES_JS, page.evaluate("() => window.__fhsClick")))
                wait_idle(page)
                page.locator("[data-testid='stSidebarNavLink']").filter(has_text=other).first.click()
                wait_idle(page)
            page.close()
        browser.close()
    for label, runs in (("new visitor (fresh tab, empty cache)", tabs),
                        ("new tab (returning visitor)", returning),
                        (f"in-app switch {other} -> {target}, first of a tab", first_switch),
                        (f"in-app switch back {other} -> {target}, same tab", back)):
        med = _median_phases(runs)
        out[label] = {"median_ms": med, "runs": runs}
        print("  " + _phase_line(f"{label}: {med['first_frame'] / 1000:5.2f} s;", med), flush=True)
    out["load_average"] = loads
    print(f"  load average {' '.join(loads)}", flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="dataset folder (default: the demo set)")
    ap.add_argument("--fraction", type=float, default=1.0, help="subsample fraction (default 1.0)")
    ap.add_argument("--hovers", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3, help="runs per page for the page switch")
    ap.add_argument("--page", default="embeddings?emb_method=PCA",
                    help="page (and query) holding the scatter measured for hover latency")
    ap.add_argument("--cache", help="cache folder (default: $FASHION_CACHE_DIR or the repo's cache/)")
    ap.add_argument("--skip-pages", action="store_true", help="only measure the hover latency")
    ap.add_argument("--skip-hover", action="store_true", help="only measure the page switch")
    ap.add_argument("--skip-map", action="store_true", help="skip the map sizes")
    ap.add_argument("--map-sizes", default="4208,42072,1000000",
                    help="points per map, comma-separated (default 4208,42072,1000000)")
    ap.add_argument("--draw-repeats", type=int, default=5,
                    help="opens per size and kind of visit for the first-draw phases (default 5)")
    ap.add_argument("--first-draw", action="store_true",
                    help="also time the app's own map: a fresh tab and in-app page switches")
    ap.add_argument("--switch-to", default="PCA",
                    help="sidebar page clicked from Overview for the in-app switch (default PCA: its "
                         "map needs no embedding beyond the PCA; the Embeddings link opens t-SNE)")
    ap.add_argument("--map-source", choices=("generated", "pca"), default="generated",
                    help="map coordinates: category blobs, or the PCA map replicated with jitter")
    args = ap.parse_args(argv)

    if args.data:
        os.environ["FASHION_DATA_DIR"] = str(Path(args.data).resolve())
    else:
        os.environ.pop("FASHION_DATA_DIR", None)
    if args.cache:
        os.environ["FASHION_CACHE_DIR"] = str(Path(args.cache).resolve())
    summary = {"data": "demo" if not args.data else Path(args.data).name, "fraction": args.fraction}
    if not args.skip_pages:
        summary["page_switch_s"] = bench_page_switch(args.fraction, args.repeats)
    if not args.skip_hover:
        with tempfile.TemporaryDirectory() as tmp:
            with Server(dict(os.environ), Path(tmp) / "streamlit.log") as server:
                summary["hover"] = bench_hover(server.url, args.fraction, args.hovers,
                                               REPO / "artifacts" / "screenshots", args.page)
    if not args.skip_map:
        sizes = [int(v) for v in args.map_sizes.split(",") if v.strip()]
        summary["map"] = bench_map_sizes(dict(os.environ), sizes, args.map_source, args.fraction,
                                         min(args.hovers, 20), args.draw_repeats)
    if args.first_draw:
        with tempfile.TemporaryDirectory() as tmp, \
                Server(dict(os.environ), Path(tmp) / "streamlit.log") as server:
            print(f"app map first draw ({args.page}):", flush=True)
            summary["first_draw"] = bench_app_first_draw(server.url, args.fraction,
                                                         args.draw_repeats, args.page,
                                                         target=args.switch_to)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
