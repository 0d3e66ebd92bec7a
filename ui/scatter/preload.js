// Starts loading plotly.js as soon as the page's script reaches preload_plotly(),
// while the server is still computing the map: the browser is otherwise idle
// then, and parsing plotly.js is most of a map's first draw in a new tab.
export default function (component) {
  const data = component.data;
  if (data && data.plotly_src) loadPlotly(data.plotly_src).catch(() => { /* the scatter reports it */ });
}
