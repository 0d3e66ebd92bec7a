// Image-hover scatter: draws a Plotly figure with the plotly.js shipped in the
// plotly Python package (served from app/static, no CDN) and shows the hovered
// product's thumbnail, name and categories without a Streamlit rerun.
// Everything about products arrives as data and is written with textContent,
// never as HTML.

function loadPlotly(src) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__fashionPlotly) {
    window.__fashionPlotly = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.async = true;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => {
        window.__fashionPlotly = null;
        reject(new Error("could not load " + src));
      };
      document.head.appendChild(script);
    });
  }
  return window.__fashionPlotly;
}

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

export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  let state = parentElement.__fashionHover;
  if (!state || !parentElement.contains(state.root)) {
    state = setup(parentElement);
    parentElement.__fashionHover = state;
  }
  state.handlers = { setStateValue, setTriggerValue };
  if (!data || !data.figure) return;
  state.products = data.products;
  state.thumbBase = data.thumb_base || "";
  state.plot.style.height = (data.height || 560) + "px";
  if (state.revision === data.revision) return;
  const revision = data.revision;
  state.index = buildIndex(data.products);

  loadPlotly(data.plotly_src)
    .then((Plotly) => {
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
      const first = state.revision === null;
      state.revision = revision;
      state.status.textContent = "";
      return Plotly.react(state.plot, fig.data || [], layout, config).then(() => {
        if (first) bindEvents(state);
        state.root.dataset.revision = String(revision);
      });
    })
    .catch((err) => {
      state.status.textContent = "The scatter could not be drawn: " + err.message;
    });
}
