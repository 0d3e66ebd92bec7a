// Image-hover scatter: draws a Plotly figure with the vendored plotly.js
// (ui/scatter/vendor, served from app/static, no CDN) and shows the hovered
// product's thumbnail, name and categories without a Streamlit rerun.
// Everything about products arrives as data and is written with textContent,
// never as HTML.
//
// Two modes. "figure": a Plotly figure sent as JSON (thumbnail views, grids).
// "map": a product map sent as three binary buffers fetched from static files
// named by their content hash (core/figures/maps.py): the browser builds one
// WebGL trace per colour group from typed arrays, or, above a size, a density
// image redrawn on zoom. In map mode hover, click and selection are computed
// here against every point through a uniform grid index, so they work the
// same at any size. mark() and loadPlotly() come from plotly_loader.js, which
// ui/scatter/__init__.py puts before this file.

function idOf(point) {
  let id = point && point.customdata;
  if (Array.isArray(id)) id = id[0];
  if (id === undefined || id === null) return null;
  const n = Number(id);
  return Number.isFinite(n) ? n : null;
}

function buildIndex(products) {
  const index = new Map();
  const ids = (products && products.id) || [];
  for (let i = 0; i < ids.length; i++) index.set(Number(ids[i]), i);
  return index;
}

function describe(state, id) {
  const p = state.products;
  const row = state.index.get(id);
  if (row === undefined || !p) return { name: "Product " + id, fields: [] };
  const fields = [];
  for (const f of p.fields || []) {
    const col = p.columns[f];
    fields.push([f, col.values[col.codes[row]]]);
  }
  return { name: p.name[row], fields };
}

function placeCard(state, ev) {
  const card = state.card;
  const box = state.root.getBoundingClientRect();
  const cw = card.offsetWidth || 220;
  const ch = card.offsetHeight || 160;
  let x = (ev ? ev.clientX : box.left + box.width / 2) - box.left + 16;
  let y = (ev ? ev.clientY : box.top + 40) - box.top + 16;
  if (x + cw > box.width) x = Math.max(0, x - cw - 32);
  if (y + ch > box.height) y = Math.max(0, box.height - ch - 4);
  card.style.left = x + "px";
  card.style.top = y + "px";
}

function showCard(state, id, ev) {
  const info = describe(state, id);
  const card = state.card;
  if (state.shownId !== id) {
    state.shownId = id;
    state.img.dataset.id = String(id);
    state.img.dataset.loaded = "";
    state.img.classList.remove("fhs-missing");
    state.img.src = state.thumbBase + id + ".jpg";
    state.name.textContent = info.name;
    state.fields.replaceChildren();
    for (const [field, value] of info.fields) {
      const row = document.createElement("div");
      const key = document.createElement("span");
      key.className = "fhs-key";
      key.textContent = field;
      const val = document.createElement("span");
      val.textContent = value;
      row.append(key, val);
      state.fields.appendChild(row);
    }
    state.pid.textContent = "id " + id;
  }
  card.hidden = false;
  placeCard(state, ev);
  // Timestamps for the latency benchmark (bench/bench_dashboard.py).
  state.root.dataset.shownAt = String(performance.now());
}

function hideCard(state) {
  state.card.hidden = true;
}

function setup(parent) {
  const root = parent.querySelector(".fhs-root");
  const state = {
    root,
    plot: root.querySelector(".fhs-plot"),
    card: root.querySelector(".fhs-card"),
    img: root.querySelector(".fhs-img"),
    name: root.querySelector(".fhs-name"),
    fields: root.querySelector(".fhs-fields"),
    pid: root.querySelector(".fhs-id"),
    status: root.querySelector(".fhs-status"),
    revision: null,
    shownId: null,
    handlers: null,
    index: new Map(),
    products: null,
    thumbBase: "",
  };
  state.img.addEventListener("load", () => {
    state.img.dataset.loadedAt = String(performance.now());
    state.img.dataset.loaded = state.img.dataset.id || "";
  });
  state.img.addEventListener("error", () => {
    state.img.classList.add("fhs-missing");
    state.img.dataset.loaded = "error";
  });
  return state;
}

function bindEvents(state) {
  const plot = state.plot;
  plot.on("plotly_hover", (ev) => {
    const pt = ev && ev.points && ev.points[0];
    const id = idOf(pt);
    if (id !== null) showCard(state, id, ev.event);
  });
  plot.on("plotly_unhover", () => hideCard(state));
  plot.on("plotly_click", (ev) => {
    const id = idOf(ev && ev.points && ev.points[0]);
    if (id !== null) state.handlers.setTriggerValue("clicked", id);
  });
  plot.on("plotly_selected", (ev) => {
    if (!ev || !ev.points) return;
    const seen = new Set();
    for (const pt of ev.points) {
      const id = idOf(pt);
      if (id !== null) seen.add(id);
    }
    state.handlers.setStateValue("selected", Array.from(seen));
  });
  plot.on("plotly_deselect", () => state.handlers.setStateValue("selected", []));
  root_mark(state);
}

function root_mark(state) {
  state.root.dataset.ready = "1";
}


// ----------------------------------------------------------------------------
// Map mode
// ----------------------------------------------------------------------------
const TYPED = { f4: Float32Array, u1: Uint8Array, u2: Uint16Array, u4: Uint32Array, i4: Int32Array };
const BUFFER_CACHE_SIZE = 8;
const HOVER_RADIUS_PX = 12;

function unpackBuffer(buf) {
  const magic = String.fromCharCode(...new Uint8Array(buf, 0, 4));
  if (magic !== "FMAP") throw new Error("not a map buffer");
  const n = new DataView(buf).getUint32(4, true);
  const head = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, n)));
  const start = 8 + n;
  const arrays = {};
  for (const [name, spec] of Object.entries(head.arrays)) {
    arrays[name] = new TYPED[spec.dtype](buf, start + spec.offset, spec.length);
  }
  return { meta: head.meta, arrays, bytes: buf.byteLength };
}

function fetchBuffer(url) {
  // Buffers are named by their content hash: one fetch per URL per page. Files
  // ending in .gz were compressed once when written (ui/scatter/__init__.py)
  // and are inflated here.
  const cache = (window.__fashionBuffers = window.__fashionBuffers || new Map());
  if (!cache.has(url)) {
    const p = fetch(url)
      .then((r) => {
        if (!r.ok) throw new Error("could not load " + url + " (" + r.status + ")");
        if (!url.endsWith(".gz")) return r.arrayBuffer();
        return new Response(r.body.pipeThrough(new DecompressionStream("gzip"))).arrayBuffer();
      })
      .then(unpackBuffer);
    p.catch(() => cache.delete(url));
    cache.set(url, p);
    while (cache.size > BUFFER_CACHE_SIZE) cache.delete(cache.keys().next().value);
  }
  return cache.get(url);
}

function buildGrid(x, y, bounds) {
  const n = x.length;
  const side = Math.max(1, Math.min(2048, Math.ceil(Math.sqrt(n / 4))));
  const [x0, x1, y0, y1] = bounds;
  const cw = (x1 - x0) / side || 1;
  const ch = (y1 - y0) / side || 1;
  const cellOf = new Uint32Array(n);
  const start = new Uint32Array(side * side + 1);
  for (let i = 0; i < n; i++) {
    const cx = Math.min(side - 1, Math.max(0, Math.floor((x[i] - x0) / cw)));
    const cy = Math.min(side - 1, Math.max(0, Math.floor((y[i] - y0) / ch)));
    const c = cy * side + cx;
    cellOf[i] = c;
    start[c + 1]++;
  }
  for (let c = 0; c < side * side; c++) start[c + 1] += start[c];
  const fill = start.slice(0, side * side);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[fill[cellOf[i]]++] = i;
  return { side, x0, y0, cw, ch, start, order };
}

function buildMap(prod, pts, sty) {
  const x = pts.arrays.x, y = pts.arrays.y, n = x.length;
  const group = sty.arrays.group;
  if (group.length !== n) throw new Error("the colours do not match the points");
  const groups = sty.meta.groups;
  const counts = new Uint32Array(groups.length);
  for (let i = 0; i < n; i++) counts[group[i]]++;
  const members = Array.from(counts, (k) => new Uint32Array(k));
  const fill = new Uint32Array(groups.length);
  for (let i = 0; i < n; i++) members[group[i]][fill[group[i]]++] = i;
  return {
    n, x, y, group, groups, members,
    row: pts.arrays.row || null,
    match: sty.arrays.match || null,
    nMatch: sty.meta.matches || 0,
    title: sty.meta.title,
    ids: prod.arrays.id,
    bounds: pts.meta.bounds,
    hidden: new Uint8Array(groups.length),
    grid: buildGrid(x, y, pts.meta.bounds),
  };
}

function productsOf(prod) {
  const columns = {};
  for (const f of prod.meta.fields) {
    columns[f] = { values: prod.meta.values[f], codes: prod.arrays["f:" + f] };
  }
  return { id: prod.arrays.id, name: prod.meta.names, fields: prod.meta.fields, columns };
}

function pointId(m, i) {
  return m.ids[m.row ? m.row[i] : i];
}

function markerSize(n) {
  return n < 2000 ? 7 : n < 10000 ? 5 : n < 100000 ? 3.5 : 2.5;
}

function take(arr, idx, Type) {
  const out = new Type(idx.length);
  for (let k = 0; k < idx.length; k++) out[k] = arr[idx[k]];
  return out;
}

function idsOf(m, idx) {
  const out = new Uint32Array(idx.length);
  for (let k = 0; k < idx.length; k++) out[k] = pointId(m, idx[k]);
  return out;
}

function stride(idx, limit) {
  if (idx.length <= limit) return idx;
  const step = idx.length / limit;
  const out = new Uint32Array(limit);
  for (let k = 0; k < limit; k++) out[k] = idx[Math.floor(k * step)];
  return out;
}

function mapTraces(m, density, sampleSize) {
  // One WebGL trace per colour group (in density mode an even sample of it,
  // drawn over the density image for the legend, detail and selection).
  const size = density ? 2 : markerSize(m.n);
  const faded = m.nMatch > 0;
  const traces = [];
  m.groups.forEach((g, k) => {
    let idx = m.members[k];
    if (density) idx = stride(idx, Math.max(1, Math.round((sampleSize * idx.length) / m.n)));
    traces.push({
      type: "scattergl", mode: "markers", name: g.name + " (" + g.count + ")",
      legendgroup: g.name, x: take(m.x, idx, Float32Array), y: take(m.y, idx, Float32Array),
      customdata: idsOf(m, idx), hoverinfo: "none",
      visible: m.hidden[k] ? "legendonly" : true,
      marker: { color: g.color, size, opacity: faded ? 0.25 : density ? 0.5 : 0.8, line: { width: 0 } },
    });
  });
  if (m.match) {
    const idx = [];
    for (let i = 0; i < m.n; i++) if (m.match[i]) idx.push(i);
    const shown = stride(Uint32Array.from(idx), density ? sampleSize : m.n);
    traces.push({
      type: "scattergl", mode: "markers", name: "Matches (" + idx.length + ")",
      x: take(m.x, shown, Float32Array), y: take(m.y, shown, Float32Array),
      customdata: idsOf(m, shown), hoverinfo: "none",
      marker: { color: "rgba(0,0,0,0)", size: size + 5, line: { color: "#000000", width: 1.5 } },
    });
  }
  return traces;
}

function mapLayout(m, data) {
  const [x0, x1, y0, y1] = m.bounds;
  const px = (x1 - x0) * 0.04 || 1, py = (y1 - y0) * 0.04 || 1;
  const axis = { showticklabels: false, zeroline: false, title: { text: "" }, gridcolor: "#EBF0F8" };
  return {
    title: data.title ? { text: data.title } : undefined,
    paper_bgcolor: "#ffffff", plot_bgcolor: "#ffffff",
    font: { color: "#2a3f5f" },
    legend: { title: { text: m.title }, itemsizing: "constant" },
    margin: { l: 10, r: 10, t: data.title ? 40 : 10, b: 10 },
    xaxis: Object.assign({ range: [x0 - px, x1 + px] }, axis),
    yaxis: Object.assign({ range: [y0 - py, y1 + py] }, axis),
    hovermode: false, dragmode: "select", uirevision: data.uirevision || "keep",
    autosize: true, height: data.height || 560,
  };
}

function hexRgb(hex) {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

function densityImage(state) {
  // Mean colour of the points in each screen pixel, opacity growing with the
  // log of their count: a million points in one pass, redrawn on zoom.
  const m = state.map, fl = state.plot._fullLayout;
  const xa = fl.xaxis, ya = fl.yaxis;
  const W = Math.max(1, Math.round(xa._length)), H = Math.max(1, Math.round(ya._length));
  const [x0, x1] = xa.range, [y0, y1] = ya.range;
  const fx = W / (x1 - x0), fy = H / (y1 - y0);
  const count = new Uint32Array(W * H);
  const r = new Float32Array(W * H), g = new Float32Array(W * H), b = new Float32Array(W * H);
  const rgb = m.groups.map((gr) => hexRgb(gr.color));
  for (let i = 0; i < m.n; i++) {
    const k = m.group[i];
    if (m.hidden[k]) continue;
    const px = Math.floor((m.x[i] - x0) * fx), py = Math.floor((y1 - m.y[i]) * fy);
    if (px < 0 || py < 0 || px >= W || py >= H) continue;
    const p = py * W + px;
    count[p]++;
    r[p] += rgb[k][0]; g[p] += rgb[k][1]; b[p] += rgb[k][2];
  }
  let top = 1;
  for (let p = 0; p < count.length; p++) if (count[p] > top) top = count[p];
  const canvas = document.createElement("canvas");
  canvas.width = W; canvas.height = H;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(W, H);
  const scale = 1 / Math.log1p(top);
  for (let p = 0; p < count.length; p++) {
    const c = count[p];
    if (!c) continue;
    const o = p * 4;
    img.data[o] = r[p] / c; img.data[o + 1] = g[p] / c; img.data[o + 2] = b[p] / c;
    img.data[o + 3] = 255 * (0.35 + 0.65 * Math.log1p(c) * scale);
  }
  ctx.putImageData(img, 0, 0);
  return {
    source: canvas.toDataURL("image/png"), xref: "x", yref: "y", x: x0, y: y1,
    sizex: x1 - x0, sizey: y1 - y0, xanchor: "left", yanchor: "top",
    sizing: "stretch", layer: "below",
  };
}

function redrawDensity(state) {
  if (!state.map || !state.density) return;
  clearTimeout(state.densityTimer);
  state.densityTimer = setTimeout(() => {
    state.Plotly.relayout(state.plot, { images: [densityImage(state)] }).then(() => {
      state.root.dataset.densityAt = String(performance.now());
    });
  }, 30);
}

function nearestPoint(state, clientX, clientY) {
  const m = state.map, gd = state.plot;
  const fl = gd._fullLayout;
  if (!m || !fl) return -1;
  const xa = fl.xaxis, ya = fl.yaxis;
  const box = gd.getBoundingClientRect();
  const px = clientX - box.left - xa._offset, py = clientY - box.top - ya._offset;
  if (px < 0 || py < 0 || px > xa._length || py > ya._length) return -1;
  const sx = xa._length / (xa.range[1] - xa.range[0]);
  const sy = ya._length / (ya.range[1] - ya.range[0]);
  const qx = xa.p2l(px), qy = ya.p2l(py);
  const G = m.grid, R = HOVER_RADIUS_PX;
  const c0 = Math.max(0, Math.floor((qx - R / sx - G.x0) / G.cw));
  const c1 = Math.min(G.side - 1, Math.floor((qx + R / sx - G.x0) / G.cw));
  const r0 = Math.max(0, Math.floor((qy - R / sy - G.y0) / G.ch));
  const r1 = Math.min(G.side - 1, Math.floor((qy + R / sy - G.y0) / G.ch));
  let best = -1, bestD = R * R;
  for (let cy = r0; cy <= r1; cy++) {
    for (let cx = c0; cx <= c1; cx++) {
      const c = cy * G.side + cx;
      for (let k = G.start[c]; k < G.start[c + 1]; k++) {
        const i = G.order[k];
        if (m.hidden[m.group[i]]) continue;
        const dx = (m.x[i] - qx) * sx, dy = (m.y[i] - qy) * sy;
        const d = dx * dx + dy * dy;
        if (d <= bestD) { bestD = d; best = i; }
      }
    }
  }
  return best;
}

function insidePolygon(px, py, xs, ys) {
  let inside = false;
  for (let a = 0, b = xs.length - 1; a < xs.length; b = a++) {
    if ((ys[a] > py) !== (ys[b] > py) &&
        px < ((xs[b] - xs[a]) * (py - ys[a])) / (ys[b] - ys[a]) + xs[a]) inside = !inside;
  }
  return inside;
}

function selectedIds(m, ev) {
  let xs = null, ys = null, bx, by;
  if (ev.range && ev.range.x) {
    bx = ev.range.x.slice().sort((a, b) => a - b);
    by = ev.range.y.slice().sort((a, b) => a - b);
  } else if (ev.lassoPoints && ev.lassoPoints.x) {
    xs = ev.lassoPoints.x; ys = ev.lassoPoints.y;
    bx = [Math.min(...xs), Math.max(...xs)];
    by = [Math.min(...ys), Math.max(...ys)];
  } else {
    return null;
  }
  const seen = new Set();
  for (let i = 0; i < m.n; i++) {
    const x = m.x[i], y = m.y[i];
    if (x < bx[0] || x > bx[1] || y < by[0] || y > by[1] || m.hidden[m.group[i]]) continue;
    if (xs && !insidePolygon(x, y, xs, ys)) continue;
    seen.add(pointId(m, i));
  }
  return Array.from(seen);
}

function bindMapEvents(state) {
  const plot = state.plot;
  plot.addEventListener("mousemove", (ev) => {
    if (!state.map || state.dragging) return;
    const i = nearestPoint(state, ev.clientX, ev.clientY);
    if (i < 0) hideCard(state);
    else showCard(state, pointId(state.map, i), ev);
  });
  plot.addEventListener("mouseleave", () => hideCard(state));
  // A press and release within a few pixels is a click (a longer drag is a selection).
  state.root.addEventListener("mousedown", (ev) => {
    state.down = { x: ev.clientX, y: ev.clientY };
    state.dragging = false;
  }, true);
  window.addEventListener("mousemove", (ev) => {
    if (state.down && Math.hypot(ev.clientX - state.down.x, ev.clientY - state.down.y) > 4) {
      state.dragging = true;
      hideCard(state);
    }
  }, true);
  window.addEventListener("mouseup", (ev) => {
    const down = state.down;
    state.down = null;
    state.dragging = false;
    if (!down || !state.map || Math.hypot(ev.clientX - down.x, ev.clientY - down.y) > 4) return;
    const i = nearestPoint(state, ev.clientX, ev.clientY);
    if (i >= 0) state.handlers.setTriggerValue("clicked", pointId(state.map, i));
  }, true);
  plot.on("plotly_selected", (ev) => {
    if (!ev || !state.map) return;
    const ids = selectedIds(state.map, ev);
    if (ids !== null) state.handlers.setStateValue("selected", ids);
    state.selectedSome = ids !== null && ids.length > 0;
  });
  plot.on("plotly_deselect", () => {
    state.selectedSome = false;
    state.handlers.setStateValue("selected", []);
  });
  plot.on("plotly_restyle", () => {
    // A legend click hides or shows a group: hover, selection and density follow.
    if (!state.map) return;
    (plot.data || []).forEach((t, k) => {
      const g = state.traceGroup[k];
      if (g !== undefined) state.map.hidden[g] = t.visible === "legendonly" || t.visible === false ? 1 : 0;
    });
    redrawDensity(state);
  });
  plot.on("plotly_relayout", (ev) => {
    if (ev && Object.keys(ev).some((k) => k.startsWith("xaxis") || k.startsWith("yaxis") ||
                                         k === "autosize" || k === "width" || k === "height")) {
      redrawDensity(state);
    }
  });
  root_mark(state);
}

function drawMap(state, data) {
  const revision = data.revision;
  const t0 = mark("map-start");
  // Phases of this draw in performance.now() time, for bench/bench_dashboard.py.
  const phases = { start: t0, mounted: state.mountedAt };
  const config = { responsive: true, displaylogo: false, scrollZoom: true };
  const fetched = Promise.all([
    fetchBuffer(data.map.products), fetchBuffer(data.map.points), fetchBuffer(data.map.style),
  ]).then((bufs) => { phases.buffers = mark("buffers-fetched"); return bufs; });
  const plotly = loadPlotly(data.plotly_src).then((P) => { phases.plotly = performance.now(); return P; });
  return Promise.all([plotly, fetched]).then(([Plotly, [prod, pts, sty]]) => {
    if (state.pending !== revision) return;
    state.Plotly = Plotly;
    const tLoaded = performance.now();
    const old = state.map;
    const m = buildMap(prod, pts, sty);
    // Keep legend choices across recolourings only when the groups are the same.
    if (old && old.groups.length === m.groups.length &&
        old.groups.every((g, k) => g.name === m.groups[k].name)) m.hidden.set(old.hidden);
    state.map = m;
    state.products = productsOf(prod);
    state.index = buildIndex(state.products);
    state.density = m.n > (data.map.density_threshold || Infinity);
    const traces = mapTraces(m, state.density, data.map.sample || 20000);
    state.traceGroup = traces.map((t, k) => (k < m.groups.length ? k : undefined));
    const layout = mapLayout(m, data);
    const tBuilt = phases.built = mark("map-built");
    state.revision = revision;
    state.status.textContent = "";
    return Plotly.react(state.plot, traces, layout, config).then(() => {
      phases.plotted = mark("map-plotted");
      if (state.density) {
        return Plotly.relayout(state.plot, { images: [densityImage(state)] });
      }
      return Plotly.relayout(state.plot, { images: [] });
    }).then(() => {
      phases.drawn = mark("map-drawn");
      if (!state.bound) { bindMapEvents(state); state.bound = "map"; }
      keepMap(state, data.uirevision);
      const root = state.root.dataset;
      root.revision = String(revision);
      root.mode = state.density ? "density" : "points";
      root.points = String(m.n);
      root.drawMs = String(performance.now() - t0);
      // Where the first-draw time goes, for bench/bench_dashboard.py.
      root.timing = JSON.stringify({ load: tLoaded - t0, build: tBuilt - tLoaded,
                                     render: performance.now() - tBuilt });
      root.bytes = String(prod.bytes + pts.bytes + sty.bytes);
      // The frame holding the map is painted after the next animation frame.
      requestAnimationFrame(() => setTimeout(() => {
        phases.frame = mark("map-frame");
        root.phases = JSON.stringify(phases);
      }, 0));
    });
  });
}

// ----------------------------------------------------------------------------
// Entry point
// ----------------------------------------------------------------------------
function drawFigure(state, data) {
  const revision = data.revision;
  return loadPlotly(data.plotly_src).then((Plotly) => {
    const fig = data.figure;
    const layout = Object.assign({}, fig.layout || {});
    layout.autosize = true;
    layout.height = data.height || 560;
    if (layout.uirevision === undefined) layout.uirevision = data.uirevision || "keep";
    if (!layout.dragmode) layout.dragmode = "select";
    const config = Object.assign(
      { responsive: true, displaylogo: false, scrollZoom: true },
      data.config || {}
    );
    state.map = null;
    state.revision = revision;
    state.status.textContent = "";
    return Plotly.react(state.plot, fig.data || [], layout, config).then(() => {
      if (!state.bound) { bindEvents(state); state.bound = "figure"; }
      state.root.dataset.revision = String(revision);
    });
  });
}

// ----------------------------------------------------------------------------
// Maps kept across page switches
// ----------------------------------------------------------------------------
// Leaving a page unmounts its elements, and coming back would build the same
// map again: a new WebGL context and Plotly.react, most of an in-app page
// switch. The last few maps drawn are kept, detached, by key (uirevision) and
// put back as they were (zoom and hidden legend entries included) when a page
// asks for the same key and revision again.
const KEPT_MAPS = 3;

function keptMaps() {
  return (window.__fashionKeptMaps = window.__fashionKeptMaps || new Map());
}

function release(state) {
  if (state.Plotly && !state.root.isConnected) state.Plotly.purge(state.plot);
}

function keepMap(state, key) {
  const kept = keptMaps();
  const old = kept.get(key);
  kept.delete(key);
  if (old && old !== state) release(old);
  kept.set(key, state);
  while (kept.size > KEPT_MAPS) {
    const [k, s] = kept.entries().next().value;
    kept.delete(k);
    release(s);
  }
}

function takeKeptMap(data) {
  const state = keptMaps().get(data.uirevision);
  if (!state || state.revision !== data.revision || state.root.isConnected) return null;
  return state;
}

function reattach(state, parentElement) {
  const root = state.root.dataset;
  delete root.phases;
  parentElement.querySelector(".fhs-root").replaceWith(state.root);
  const t = mark("map-kept");
  hideCard(state);
  state.down = null;
  state.dragging = false;
  // The new page's selection starts empty: clear the outline of the old one.
  if (state.selectedSome) {
    state.selectedSome = false;
    state.Plotly.relayout(state.plot, { selections: [] });
    state.Plotly.restyle(state.plot, { selectedpoints: [null] });
  }
  requestAnimationFrame(() => {
    state.Plotly.Plots.resize(state.plot);
    setTimeout(() => {
      const f = mark("map-frame");
      root.phases = JSON.stringify({ mounted: t, kept: t, frame: f });
    }, 0);
  });
}

export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  let state = parentElement.__fashionHover;
  if (!state || !parentElement.contains(state.root)) {
    const kept = data && data.map ? takeKeptMap(data) : null;
    if (kept) reattach(kept, parentElement);
    state = kept || setup(parentElement);
    parentElement.__fashionHover = state;
  }
  if (state.mountedAt === undefined) state.mountedAt = mark("mounted");
  state.handlers = { setStateValue, setTriggerValue };
  if (!data || !(data.figure || data.map)) return;
  state.thumbBase = data.thumb_base || "";
  state.plot.style.height = (data.height || 560) + "px";
  // Unchanged revision: the figure and its data are already here; nothing to do.
  if (state.revision === data.revision || state.pending === data.revision) return;
  state.pending = data.revision;
  let drawing;
  if (data.map) {
    drawing = drawMap(state, data);
  } else {
    state.products = data.products;
    state.index = buildIndex(data.products);
    drawing = drawFigure(state, data);
  }
  drawing.catch((err) => {
    state.pending = null;
    state.status.textContent = "The scatter could not be drawn: " + err.message;
  });
}
