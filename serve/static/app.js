// descent serve: the page. It polls /api/entries twice a second, fetches
// /api/entry?id=ID for the entries on view when they change, and draws with
// uPlot. No build step: this file is served as it is.
"use strict";

const POLL_MS = 500;
const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d"];
const NOT_PLOTTED = new Set(["epoch", "step", "seconds"]);

const state = {
  entries: [],
  dirs: [],
  byId: new Map(),
  listSig: "",
  // The hash holds what is open and ticked, so a view can be shared:
  // #open=ID&tick=ID,ID.
  open: new URLSearchParams(location.hash.slice(1)).get("open"),
  ticked: new Set((new URLSearchParams(location.hash.slice(1)).get("tick") || "").split(",").filter(Boolean)),
  data: new Map(), // id -> {modified, status, reply}
  viewKey: "",
  drawn: "",
  charts: new Map(), // chart key -> {u, sig}
  smoothing: 0,
  logY: new Map(), // chart key -> bool
  logX: new Map(),
  tuneSort: {col: "value", asc: true},
  tuneParam: "",
};

const $ = (sel, el = document) => el.querySelector(sel);

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

async function getJSON(url) {
  const r = await fetch(url, {cache: "no-store"});
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return r.json();
}

function fmt(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return "—";
  if (typeof x !== "number") return String(x);
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  return shortNum(x, 4);
}

// ---- polling

async function poll() {
  const live = $("#live");
  try {
    const rep = await getJSON("/api/entries");
    state.entries = rep.entries;
    state.dirs = rep.dirs;
    state.byId = new Map(rep.entries.map(e => [e.id, e]));
    for (const id of state.ticked) if (!state.byId.has(id)) state.ticked.delete(id);
    renderList();
    await refreshView();
    live.textContent = "live";
    live.className = "live ok";
  } catch (err) {
    live.textContent = "not connected: " + err.message;
    live.className = "live down";
  }
  setTimeout(poll, POLL_MS);
}

// ---- the list of directories

// listSignature sums up what the list shows: it is drawn again only when
// that changes, since drawing it replaces the element under the pointer.
function listSignature() {
  return JSON.stringify(state.entries.map(e => [e.id, e.kind, e.status, e.problem])) + state.open + [...state.ticked].join();
}

function renderList() {
  const sig = listSignature();
  if (sig === state.listSig) return;
  state.listSig = sig;
  const nav = $("#list");
  nav.replaceChildren();
  if (state.entries.length === 0) {
    nav.append(h("p", {class: "hint"}, "No runs yet. They appear here as soon as descent writes them."));
    return;
  }
  const ul = h("ul");
  let root = -1;
  for (const e of state.entries) {
    if (e.root !== root) {
      root = e.root;
      ul.append(h("li", {class: "root"}, state.dirs[root]));
    }
    const box = e.kind === "run"
      ? h("input", {type: "checkbox", title: "overlay this run", "aria-label": "overlay " + e.name, checked: state.ticked.has(e.id), onchange: ev => {
          if (ev.target.checked) state.ticked.add(e.id); else state.ticked.delete(e.id);
          saveHash();
          state.listSig = listSignature(); // the box shows it already: no need to draw the list again
          refreshView();
        }})
      : h("span", {class: "spacer"});
    ul.append(h("li", {class: e.id === state.open ? "open" : "", "data-id": e.id, "data-kind": e.kind, "data-status": e.status, title: e.problem || ""},
      box,
      h("button", {class: "name", title: e.name, onclick: () => openEntry(e.id)}, shortName(e)),
      h("span", {class: "kind"}, e.kind),
      h("span", {class: "status " + e.status}, e.status)));
  }
  nav.append(ul);
}

function saveHash() {
  const h = new URLSearchParams();
  if (state.open) h.set("open", state.open);
  if (state.ticked.size) h.set("tick", [...state.ticked].join(","));
  history.replaceState(null, "", "#" + h.toString());
}

function openEntry(id) {
  state.open = id;
  saveHash();
  state.listSig = "";
  renderList();
  refreshView();
}

// ---- the view

function shownIds() {
  const open = state.byId.get(state.open);
  if (open && open.kind !== "run") return {kind: open.kind, ids: [open.id]};
  const ids = [...state.ticked];
  if (open && !state.ticked.has(open.id)) ids.unshift(open.id);
  return {kind: "runs", ids: ids.filter(id => state.byId.has(id))};
}

let refreshing = false;

async function refreshView() {
  if (refreshing) return;
  refreshing = true;
  try {
    const {kind, ids} = shownIds();
    await Promise.all(ids.map(async id => {
      const e = state.byId.get(id);
      const d = state.data.get(id);
      if (d && d.modified === e.modified && d.status === e.status) return;
      const reply = await getJSON("/api/entry?id=" + encodeURIComponent(id));
      state.data.set(id, {modified: e.modified, status: e.status, reply});
    }));
    const key = kind + ":" + ids.join(",");
    const drawn = key + ids.map(id => state.data.get(id).modified + state.data.get(id).status).join();
    if (key !== state.viewKey) {
      for (const c of state.charts.values()) c.u.destroy();
      state.charts.clear();
      $("#view").replaceChildren();
      state.viewKey = key;
    } else if (drawn === state.drawn) {
      return;
    }
    state.drawn = drawn;
    const replies = ids.map(id => state.data.get(id).reply);
    if (ids.length === 0) {
      $("#view").replaceChildren(h("p", {class: "hint"}, "Pick a directory on the left; tick runs to overlay their curves."));
      return;
    }
    ({runs: viewRuns, compare: viewCompare, "adamw-vs-l2": viewGrid, landscape: viewLandscape, "lr-find": viewLRFind, tune: viewTune}[kind] || viewUnknown)($("#view"), replies);
  } finally {
    refreshing = false;
  }
}

// section returns the child of el with this id, made by make the first time.
function section(el, id, make) {
  let s = el.querySelector(":scope > #" + CSS.escape(id));
  if (!s) {
    s = make();
    s.id = id;
    el.append(s);
  }
  return s;
}

// shortName is an entry's path in its directory, or the directory's name.
function shortName(e) {
  return e.path === "." ? state.dirs[e.root].split("/").pop() : e.path;
}

function header(e) {
  return h("div", {class: "runhead"},
    h("h2", {}, e.name, h("span", {class: "kind"}, e.kind), h("span", {class: "status " + e.status}, e.status)),
    e.problem ? h("p", {class: "problem"}, e.problem) : null);
}

function figures(e) {
  const imgs = e.files.filter(f => f.endsWith(".png") || f.endsWith(".gif"));
  return h("div", {class: "figures"}, imgs.map(f =>
    h("figure", {}, h("img", {src: `/file/${e.root}/${e.path === "." ? "" : e.path + "/"}${f}?m=${encodeURIComponent(e.modified)}`, alt: f, loading: "lazy"}), h("figcaption", {}, f))));
}

// ---- charts

// tick labels a linear axis with as few digits as tell its ticks apart.
function tick(u, splits) {
  for (let p = 1; p <= 6; p++) {
    const l = splits.map(v => v === null ? null : shortNum(v, p));
    const set = new Set(l.filter(x => x !== null));
    if (set.size === l.filter(x => x !== null).length) return l;
  }
  return splits.map(v => v === null ? null : String(v));
}

// logTick labels a log axis at its powers of ten only.
function logTick(u, splits) {
  return splits.map(v => v !== null && v > 0 && Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9 ? shortNum(v, 1) : "");
}

function shortNum(v, p) {
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? Number(v.toPrecision(p)).toExponential() : String(Number(v.toPrecision(p)));
}

// smooth is the exponential moving average with TensorBoard's debiasing.
function smooth(ys, a) {
  if (!a) return ys;
  let s = 0, n = 0;
  return ys.map(y => {
    if (y === null || y === undefined || !Number.isFinite(y)) return null;
    n++;
    s = a * s + (1 - a) * y;
    return s / (1 - Math.pow(a, n));
  });
}

// plot draws or updates the chart key inside el. series: [{label, xs, ys,
// color, dash, band}], with band {lo, hi} drawing a shaded range.
function plot(el, key, title, series, opts = {}) {
  const box = section(el, "chart-" + key, () => {
    const logY = h("input", {type: "checkbox", class: "logy", onchange: ev => { state.logY.set(key, ev.target.checked); state.drawn = ""; refreshView(); }});
    const logX = opts.logXToggle ? h("input", {type: "checkbox", class: "logx", onchange: ev => { state.logX.set(key, ev.target.checked); state.drawn = ""; refreshView(); }}) : null;
    return h("div", {class: "chart", "data-chart": key},
      h("h3", {}, h("span", {class: "title"}), h("label", {}, logY, " log y"), logX ? h("label", {}, logX, " log x") : null),
      h("div", {class: "plot"}));
  });
  $(".title", box).textContent = title;
  if (!state.logY.has(key)) state.logY.set(key, !!opts.logY);
  if (!state.logX.has(key)) state.logX.set(key, !!opts.logX);
  const logY = state.logY.get(key), logX = state.logX.get(key);
  $(".logy", box).checked = logY;
  if ($(".logx", box)) $(".logx", box).checked = logX;

  // One table per series, joined on x; the bands are two more series each.
  const tables = [], specs = [], bands = [];
  const pos = v => (v === null || v === undefined || !Number.isFinite(v) || (logY && v <= 0)) ? null : v;
  for (const s of series) {
    const keep = s.xs.map((x, i) => Number.isFinite(x) && !(logX && x <= 0) ? i : -1).filter(i => i >= 0);
    const order = opts.sortX ? keep.slice().sort((i, j) => s.xs[i] - s.xs[j]) : keep;
    const xs = order.map(i => s.xs[i]);
    const cols = [order.map(i => pos(s.ys[i]))];
    specs.push({label: s.label, stroke: s.color, width: 2, dash: s.dash, spanGaps: true,
      points: opts.scatter ? {show: true, size: 7, fill: s.color} : {show: xs.length < 30},
      paths: opts.scatter ? () => null : undefined});
    if (s.band) {
      cols.push(order.map(i => pos(s.band.hi[i])), order.map(i => pos(s.band.lo[i])));
      const n = specs.length;
      bands.push({series: [n + 1, n + 2], fill: s.color + "22"});
      specs.push({label: s.label + " +σ", stroke: s.color + "55", width: 1, spanGaps: true, points: {show: false}, band: true},
        {label: s.label + " −σ", stroke: s.color + "55", width: 1, spanGaps: true, points: {show: false}, band: true});
    }
    tables.push([xs, ...cols]);
  }
  const data = tables.length ? uPlot.join(tables) : [[]];
  const sig = JSON.stringify([specs.map(s => s.label + s.stroke), logY, logX, opts.scatter]);
  const plotEl = $(".plot", box);
  let c = state.charts.get(key);
  if (c && c.sig === sig) {
    c.u.setData(data);
  } else {
    if (c) c.u.destroy();
    plotEl.replaceChildren();
    const u = new uPlot({
      width: opts.width || 440, height: 300,
      scales: {x: {time: false, distr: logX ? 3 : 1}, y: {distr: logY ? 3 : 1}},
      axes: [{label: opts.xLabel || "", values: logX ? logTick : tick}, {size: 60, values: logY ? logTick : tick}],
      series: [{label: opts.xLabel || "x"}, ...specs],
      bands,
      legend: {live: true},
    }, data, plotEl);
    // The ±σ series of the bands clutter the legend: hide their rows.
    const rows = u.root.querySelectorAll(".u-legend .u-series");
    specs.forEach((sp, i) => { if (sp.band && rows[i + 1]) rows[i + 1].style.display = "none"; });
    c = {u, sig};
    state.charts.set(key, c);
  }
  box.dataset.points = String(data[0].length);
  box.dataset.series = String(specs.length);
  return box;
}

function smoothingControl(el) {
  return section(el, "controls", () => {
    const val = h("span", {class: "value"}, String(state.smoothing));
    const slider = h("input", {type: "range", id: "smoothing", min: "0", max: "0.99", step: "0.01", value: String(state.smoothing), oninput: ev => {
      state.smoothing = Number(ev.target.value);
      val.textContent = ev.target.value;
      state.drawn = "";
      refreshView();
    }});
    return h("div", {class: "controls"}, h("label", {}, "smoothing ", slider, " ", val));
  });
}

// group puts a metric's curve on a chart with its kin: train and
// validation loss together, and so on. Any other numeric key gets its own.
function group(key) {
  if (key === "lr" || key.endsWith("_lr")) return ["lr", "learning rate", true];
  if (key.includes("bits") || key.includes("bpc")) return ["bits", "bits per character", false];
  if (key.includes("loss")) return ["loss", "loss", true];
  if (key.includes("acc")) return ["accuracy", "accuracy", false];
  return [key, key, false];
}

// ---- runs, one or several overlaid

function viewRuns(el, replies) {
  const heads = section(el, "heads", () => h("div"));
  const spec = o => Object.entries(o || {}).map(([k, v]) => k === "name" ? v : `${k}=${v}`).join(" ");
  if (replies.length > 1) {
    // Overlaid runs: one row each.
    const keys = [...new Set(replies.flatMap(r => Object.keys(r.entry.summary || {})))].filter(k => /acc|loss/.test(k));
    heads.replaceChildren(h("table", {class: "runs"},
      h("tr", {}, h("th", {class: "text"}, "run"), h("th", {class: "text"}, "status"), h("th", {class: "text"}, "optimizer"), h("th", {class: "text"}, "schedule"), keys.map(k => h("th", {}, k)), h("th", {}, "points")),
      replies.map(r => {
        const e = r.entry, cfg = e.config || {};
        return h("tr", {class: "run", "data-id": e.id, title: e.problem || ""},
          h("td", {class: "text"}, e.name), h("td", {class: "text"}, h("span", {class: "status " + e.status}, e.status)),
          h("td", {class: "text"}, spec(cfg.optimizer)), h("td", {class: "text"}, spec(cfg.schedule)),
          keys.map(k => h("td", {}, fmt((e.summary || {})[k]))), h("td", {}, r.metrics ? r.metrics.points.length : 0));
      })));
  } else {
    heads.replaceChildren(...replies.map(r => {
      const e = r.entry, cfg = e.config || {};
      const kv = h("dl", {class: "kv"});
      const add = (k, v) => { if (v !== undefined && v !== null) kv.append(h("dt", {}, k), h("dd", {}, v)); };
      add("optimizer", spec(cfg.optimizer));
      if (cfg.model) add("model", [cfg.model.kind, (cfg.model.hidden || []).join(","), cfg.model.batchnorm ? "batchnorm" : ""].filter(Boolean).join(" "));
      if (cfg.schedule) add("schedule", spec(cfg.schedule));
      add("data", cfg.data);
      for (const [k, v] of Object.entries(e.summary || {})) add(k, fmt(v));
      add("points", String(r.metrics ? r.metrics.points.length : 0));
      if (r.metrics && r.metrics.problem) kv.append(h("dt", {}, "metrics"), h("dd", {class: "problem"}, r.metrics.problem));
      return h("div", {class: "run", "data-id": e.id}, header(e), kv);
    }));
  }
  smoothingControl(el);
  const charts = section(el, "charts", () => h("div", {class: "charts"}));
  const all = replies.map(r => r.metrics || {keys: [], points: []});
  const num = (p, k) => typeof p[k] === "number" ? p[k] : null;
  const everyHas = k => all.every(m => m.points.every(p => num(p, k) !== null));
  const xKey = everyHas("epoch") ? "epoch" : everyHas("step") ? "step" : "";
  const groups = new Map();
  all.forEach((m, ri) => {
    for (const k of m.keys) {
      if (NOT_PLOTTED.has(k)) continue;
      const [g, title, log] = group(k);
      if (!groups.has(g)) groups.set(g, {title, log, series: []});
      groups.get(g).series.push({run: ri, key: k});
    }
  });
  const rank = g => ({loss: 0, bits: 1, accuracy: 2, lr: 4}[g] ?? 3);
  const ordered = [...groups].sort((a, b) => rank(a[0]) - rank(b[0]));
  const keep = new Set();
  let color = 0;
  const colorOf = new Map();
  for (const [g, {title, log, series}] of ordered) {
    keep.add("chart-" + g);
    plot(charts, g, title, series.map(({run, key}) => {
      const pts = all[run].points;
      // One colour per run when runs are overlaid, per key otherwise;
      // validation curves are dashed.
      const ck = replies.length > 1 ? run : key;
      if (!colorOf.has(ck)) colorOf.set(ck, COLORS[color++ % COLORS.length]);
      return {
        label: (replies.length > 1 ? shortName(replies[run].entry) + " " : "") + key,
        xs: pts.map((p, i) => xKey ? p[xKey] : i + 1),
        ys: smooth(pts.map(p => num(p, key)), state.smoothing),
        color: colorOf.get(ck),
        dash: key.startsWith("val") ? [6, 3] : undefined,
      };
    }), {logY: log, xLabel: xKey || "line"});
  }
  for (const box of [...charts.children]) {
    if (!keep.has(box.id)) {
      const c = state.charts.get(box.dataset.chart);
      if (c) c.u.destroy();
      state.charts.delete(box.dataset.chart);
      box.remove();
    }
  }
  if (groups.size === 0) section(el, "nodata", () => h("p", {class: "hint"}, "No metrics yet."));
  else { const n = $("#nodata", el); if (n) n.remove(); }
}

// ---- compare: mean ± std over seeds

function meanStd(xs) {
  const v = xs.filter(x => x !== null && x !== undefined && Number.isFinite(x));
  if (v.length === 0) return [null, null];
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - m) * (b - m), 0) / (v.length - 1)) : 0;
  return [m, sd];
}

function viewCompare(el, [r]) {
  section(el, "head", () => h("div")).replaceChildren(header(r.entry));
  const res = r.result;
  if (!res) return;
  const opts = res.optimizers || [];
  const keys = [];
  for (const o of opts) for (const run of o.runs || []) for (const p of run.history || []) for (const k of Object.keys(p)) if (!NOT_PLOTTED.has(k) && !keys.includes(k)) keys.push(k);
  smoothingControl(el);
  const charts = section(el, "charts", () => h("div", {class: "charts"}));
  for (const k of keys) {
    const [, , log] = group(k);
    plot(charts, k, k + " (mean ± std over seeds)", opts.map((o, i) => {
      const n = Math.max(0, ...(o.runs || []).map(run => (run.history || []).length));
      const xs = [], ms = [], lo = [], hi = [];
      for (let e = 0; e < n; e++) {
        const [m, sd] = meanStd((o.runs || []).map(run => run.history[e] ? run.history[e][k] : null));
        xs.push(e + 1); ms.push(m); lo.push(m === null ? null : m - sd); hi.push(m === null ? null : m + sd);
      }
      return {label: o.spec, xs, ys: smooth(ms, state.smoothing), color: COLORS[i % COLORS.length], band: {lo, hi}};
    }), {logY: log, xLabel: "epoch"});
  }
  const finals = opts.length && opts[0].final ? Object.keys(opts[0].final) : [];
  const table = section(el, "finals", () => h("table", {class: "finals"}));
  table.replaceChildren(
    h("tr", {}, h("th", {class: "text"}, "optimizer"), finals.map(k => h("th", {}, k))),
    ...opts.map(o => h("tr", {}, h("td", {class: "text"}, o.spec), finals.map(k => {
      const f = o.final[k];
      return h("td", {}, f && f.mean !== null ? `${fmt(f.mean)} ± ${fmt(f.std)}` : "—");
    }))));
}

// ---- the AdamW-vs-L2 grid

function heatColor(t) {
  // From dark blue (good, low error) to yellow (bad), like viridis.
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  t = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(t)), f = t - i;
  const c = stops[i].map((a, j) => Math.round(a + f * (stops[i + 1][j] - a)));
  return `rgb(${c.join(",")})`;
}

function viewGrid(el, [r]) {
  section(el, "head", () => h("div")).replaceChildren(header(r.entry));
  const g = r.result;
  if (!g) return;
  const err = c => c.outcome && c.outcome.final && c.outcome.final.val_accuracy !== null && !c.outcome.error ? 1 - c.outcome.final.val_accuracy : null;
  const all = g.panels.flatMap(p => p.cells.flat().map(err)).filter(x => x !== null);
  const lo = Math.min(...all), hi = Math.max(...all);
  const maps = section(el, "heatmaps", () => h("div", {class: "heatmaps"}));
  maps.replaceChildren(...g.panels.map(p => h("div", {},
    h("h3", {}, p.optimizer, " — validation error"),
    h("table", {class: "heatmap", "data-optimizer": p.optimizer},
      h("tr", {}, h("th", {}, "lr \\ wd"), g.wds.map(wd => h("th", {}, fmt(wd)))),
      p.cells.map((row, i) => h("tr", {}, h("th", {}, fmt(g.lrs[i])), row.map(c => {
        const e = err(c);
        const td = h("td", {title: c.spec + (c.outcome && c.outcome.error ? ": " + c.outcome.error : "")}, e === null ? "failed" : (100 * e).toFixed(1) + "%");
        td.style.background = e === null ? "#666" : heatColor(hi > lo ? (e - lo) / (hi - lo) : 0);
        return td;
    })))))));
  section(el, "figs", () => figures(r.entry));
}

// ---- landscape

function viewLandscape(el, [r]) {
  section(el, "head", () => h("div")).replaceChildren(header(r.entry));
  const l = r.result;
  if (!l) return;
  section(el, "fn", () => h("p", {}, `${l.function}: f = ${l.formula}, from (${l.start}), ${l.steps} steps, tolerance ${l.tol}`));
  const paths = section(el, "paths", () => {
    const canvas = h("canvas", {id: "paths-canvas", width: "760", height: "420"});
    const step = h("input", {type: "range", id: "path-step", min: "0", max: String(l.steps), value: String(l.steps), oninput: () => drawPaths(canvas, l, Number(step.value), label)});
    const label = h("span", {}, `step ${l.steps}`);
    const box = h("div", {class: "chart"}, h("h3", {}, "paths ", h("label", {}, step, " ", label)), canvas);
    requestAnimationFrame(() => drawPaths(canvas, l, l.steps, label));
    return box;
  });
  section(el, "figs", () => figures(r.entry));
  const charts = section(el, "charts", () => h("div", {class: "charts"}));
  plot(charts, "f", "f(θ) along each path", l.runs.map((run, i) => ({
    label: run.description, xs: run.path.values.map((_, j) => j), ys: run.path.values, color: COLORS[i % COLORS.length],
  })), {logY: true, xLabel: "step"});
  const mk = l.runs.length ? Object.keys(l.runs[0].metrics) : [];
  const table = section(el, "metrics", () => h("table"));
  table.replaceChildren(h("tr", {}, h("th", {class: "text"}, "optimizer"), mk.map(k => h("th", {}, k))),
    ...l.runs.map(run => h("tr", {}, h("td", {class: "text"}, run.description), mk.map(k => h("td", {}, fmt(run.metrics[k]))))));
}

// drawPaths draws each optimizer's path up to step n, over the square
// that holds the start, the minima and every point.
function drawPaths(canvas, l, n, label) {
  label.textContent = `step ${n}`;
  const ctx = canvas.getContext("2d");
  const H = canvas.height, pad = 30, legend = 200, W = canvas.width - legend;
  const pts = [l.start, ...(l.minima || []), ...l.runs.flatMap(r => r.path.points)].filter(p => p.every(Number.isFinite));
  // Paths that diverge would shrink the rest to a dot: clip to the spread
  // of the start and minima, grown a little.
  const base = [l.start, ...(l.minima || [])];
  let x0 = Math.min(...base.map(p => p[0])), x1 = Math.max(...base.map(p => p[0]));
  let y0 = Math.min(...base.map(p => p[1])), y1 = Math.max(...base.map(p => p[1]));
  const span = Math.max(x1 - x0, y1 - y0, 1);
  for (const p of pts) {
    if (Math.abs(p[0] - (x0 + x1) / 2) < 2 * span && Math.abs(p[1] - (y0 + y1) / 2) < 2 * span) {
      x0 = Math.min(x0, p[0]); x1 = Math.max(x1, p[0]); y0 = Math.min(y0, p[1]); y1 = Math.max(y1, p[1]);
    }
  }
  const sx = (W - 2 * pad) / ((x1 - x0) || 1), sy = (H - 2 * pad) / ((y1 - y0) || 1);
  const X = x => pad + (x - x0) * sx, Y = y => H - pad - (y - y0) * sy;
  ctx.clearRect(0, 0, canvas.width, H);
  ctx.strokeStyle = "#ccc";
  ctx.strokeRect(pad, pad, W - 2 * pad, H - 2 * pad);
  ctx.fillStyle = "#555";
  ctx.font = "11px sans-serif";
  ctx.fillText(`x ${fmt(x0)} … ${fmt(x1)}, y ${fmt(y0)} … ${fmt(y1)}`, pad, H - 8);
  l.runs.forEach((run, i) => {
    ctx.strokeStyle = COLORS[i % COLORS.length];
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    run.path.points.slice(0, n + 1).forEach((p, j) => j ? ctx.lineTo(X(p[0]), Y(p[1])) : ctx.moveTo(X(p[0]), Y(p[1])));
    ctx.stroke();
    ctx.fillStyle = ctx.strokeStyle;
    ctx.fillText(run.description, W, pad + 14 * (i + 1));
  });
  ctx.fillStyle = "#000";
  for (const m of l.minima || []) ctx.fillText("×", X(m[0]) - 3, Y(m[1]) + 4);
  ctx.beginPath();
  ctx.arc(X(l.start[0]), Y(l.start[1]), 4, 0, 2 * Math.PI);
  ctx.stroke();
}

// ---- lr-find

function viewLRFind(el, [r]) {
  section(el, "head", () => h("div")).replaceChildren(header(r.entry));
  const f = r.result;
  if (!f) return;
  // The rate of the lowest smoothed loss; files written before it was
  // named min_loss_lr call it min_loss.
  const minLossLR = f.min_loss_lr ?? f.min_loss;
  // A test that found no rate says why (no_suggestion), and its
  // suggested and min_loss_lr are null.
  const suggestion = f.no_suggestion ? "no rate suggested: " + f.no_suggestion : "suggested rate: " + fmt(f.suggested);
  section(el, "suggest", () => h("p", {}, h("b", {}, suggestion), f.no_suggestion ? "" : `; lowest loss at rate ${fmt(minLossLR)}`, f.stopped ? `; ${f.stopped}` : ""));
  const charts = section(el, "charts", () => h("div", {class: "charts"}));
  plot(charts, "lr-find", "loss against learning rate", [
    {label: "loss", xs: f.lrs, ys: f.losses, color: COLORS[0]},
    {label: "smoothed", xs: f.lrs, ys: f.smoothed, color: COLORS[1]},
  ], {logX: true, logXToggle: true, logY: false, xLabel: "learning rate"});
  section(el, "figs", () => figures(r.entry));
}

// ---- tune

function viewTune(el, [r]) {
  section(el, "head", () => h("div")).replaceChildren(header(r.entry));
  const res = r.result;
  const trials = res && res.report ? res.report.trials : (r.journal ? r.journal.trials : []);
  const head = r.journal && r.journal.header ? r.journal.header : {};
  const maximize = res && res.report ? res.report.maximize : !!head.maximize;
  const metric = res ? res.metric : "objective";
  section(el, "space", () => h("p", {}, `space ${(res && res.report.space) || head.space || "?"}, method ${(res && res.report.method) || head.method || "?"}; objective: ${metric}, ${maximize ? "higher" : "lower"} is better`));

  const params = [], mkeys = [];
  for (const t of trials) {
    for (const k of Object.keys(t.config || {})) if (!params.includes(k)) params.push(k);
    for (const k of Object.keys(t.metrics || {})) if (!mkeys.includes(k)) mkeys.push(k);
  }
  const valid = trials.filter(t => t.value !== null && t.value !== undefined);
  const best = valid.length ? valid.reduce((a, b) => (maximize ? b.value > a.value : b.value < a.value) ? b : a) : null;

  const cmd = section(el, "best", () => h("div"));
  if (res && res.train_command) {
    const pre = h("pre", {class: "command", id: "best-command"}, res.train_command);
    const btn = h("button", {id: "copy", onclick: () => copy(res.train_command, btn)}, "copy");
    cmd.replaceChildren(h("h3", {}, "best trial as a command ", btn), pre);
  } else {
    cmd.replaceChildren(h("p", {class: "hint"}, best ? `best so far: trial ${best.id} (${metric} ${fmt(best.value)}); the command appears when the search ends` : "no finished trial yet"));
  }

  if (params.length && !params.includes(state.tuneParam)) state.tuneParam = params[0];
  const pick = section(el, "param", () => h("div", {class: "controls"}, h("label", {}, "hyperparameter ", h("select", {id: "tune-param", onchange: ev => { state.tuneParam = ev.target.value; state.drawn = ""; refreshView(); }}))));
  const sel = $("select", pick);
  if (sel.options.length !== params.length) sel.replaceChildren(...params.map(p => h("option", {value: p}, p)));
  sel.value = state.tuneParam;
  const charts = section(el, "charts", () => h("div", {class: "charts"}));
  if (state.tuneParam) {
    const xs = valid.map(t => t.config[state.tuneParam]);
    const numeric = xs.every(x => typeof x === "number");
    const logDefault = numeric && xs.length > 0 && Math.min(...xs) > 0 && Math.max(...xs) / Math.min(...xs) >= 100;
    plot(charts, "tune", `${metric} against ${state.tuneParam}`, [{
      label: metric, color: COLORS[0],
      xs: numeric ? xs : xs.map(x => params.length && [...new Set(xs)].indexOf(x)),
      ys: valid.map(t => t.value),
    }], {scatter: true, sortX: true, logX: logDefault, logXToggle: true, xLabel: state.tuneParam});
  }

  const cols = [["id", t => t.id], ["rung", t => t.rung], ["budget", t => t.budget],
    ...params.map(p => [p, t => (t.config || {})[p]]), ["value", t => t.value],
    ...mkeys.map(k => ["metrics." + k, t => (t.metrics || {})[k]])];
  const get = new Map(cols);
  const s = state.tuneSort;
  const key = get.get(s.col) || get.get("value");
  const rows = trials.slice().sort((a, b) => {
    const x = key(a), y = key(b);
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (x < y ? -1 : 1) * (s.asc ? 1 : -1);
  });
  const table = section(el, "trials", () => h("table", {class: "trials"}));
  table.replaceChildren(
    h("tr", {}, cols.map(([c]) => h("th", {class: "sortable", "data-col": c, "aria-sort": c === s.col ? (s.asc ? "ascending" : "descending") : null, onclick: () => {
      state.tuneSort = {col: c, asc: c === s.col ? !s.asc : true};
      state.drawn = "";
      refreshView();
    }}, c))),
    ...rows.map(t => h("tr", {class: t === best ? "best" : "", "data-trial": t.id}, cols.map(([, f]) => h("td", {}, fmt(f(t)))))));
}

async function copy(text, btn) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Without the clipboard API (a page not on a secure origin), copy the
    // selection the old way.
    const range = document.createRange();
    range.selectNodeContents($("#best-command"));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    document.execCommand("copy");
  }
  btn.textContent = "copied";
  setTimeout(() => { btn.textContent = "copy"; }, 1500);
}

function viewUnknown(el, [r]) {
  section(el, "head", () => h("div")).replaceChildren(header(r.entry));
}

poll();
