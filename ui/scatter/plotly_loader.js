// Loads plotly.js once per page. Shared by the scatter (hover.js) and by the
// preload element a page mounts before its slow work (preload.js): both come
// after this file in their component's script (ui/scatter/__init__.py).

// Performance marks ("fhs:<phase>") for bench/bench_dashboard.py and for
// anyone reading a trace in the browser's performance panel.
function mark(name) {
  try { performance.mark("fhs:" + name); } catch (e) { /* marks are optional */ }
  return performance.now();
}

function loadPlotly(src) {
  // One plotly.js instance draws every scatter of the page, for its whole life:
  // Streamlit's own st.plotly_chart also sets window.Plotly when it loads, and a
  // plot drawn by one instance must not be redrawn by another.
  if (!window.__fashionPlotly && window.Plotly) window.__fashionPlotly = Promise.resolve(window.Plotly);
  if (!window.__fashionPlotly) {
    mark("plotly-requested");
    window.__fashionPlotly = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.async = true;
      script.onload = () => { mark("plotly-evaluated"); resolve(window.Plotly); };
      script.onerror = () => {
        window.__fashionPlotly = null;
        reject(new Error("could not load " + src));
      };
      document.head.appendChild(script);
    });
  }
  return window.__fashionPlotly;
}
