// The dashboard's views and its routes: the wall of every brand (#/wall, the default
// when several brands are tracked; #/wall?kiosk=1 for a screen on the wall), one brand
// (#/brands/{brand}), one incident (#/alerts/{id}: the link every message carries) and
// the reports (#/reports, #/reports/{brand}); back and forward move between them.
//
// The live view: one brand's volume and sentiment, its incidents, its complaint topics
// and the pipeline's health, kept current by the event stream (GET /stream) rather than
// by reloading. Incident events carry the whole detector document, so they cost no
// request; lifecycle events name an incident, which is fetched again; windows have no
// event, so the series is re-read when an incident moves or every 10 s at most.

import { ApiError, get, openStream, prefs } from "./api.js";
import { bucketize, drawSentiment, drawVolume } from "./chart.js";
import { detail } from "./detail.js";
import { $, announce, badge, duration, h, num, pct, slaText, when } from "./dom.js";
import { reports } from "./reports.js";
import { wall } from "./wall.js";

const RANGES = [["6 h", 6 * 3600], ["24 h", 86400], ["3 d", 3 * 86400], ["7 d", 7 * 86400],
  ["30 d", 30 * 86400]];
const POLL_MS = 10000;
const PEOPLE_STATES = new Set(["acknowledged", "escalated", "resolved"]);

const state = {
  brands: [],
  brand: null,
  range: 7 * 86400,
  allBrands: false,
  alerts: new Map(), // id -> incident as GET /alerts/{id} gives it
  points: [],
  windowS: 300,
  loaded: false,
};

const items = new Map(); // incident id -> its <li> in the feed (kept: focus stays put)
const timers = {};

function later(name, ms, fn) {
  clearTimeout(timers[name]);
  timers[name] = setTimeout(() => fn().catch(showError), ms);
}

function showError(e) {
  $("status-text").textContent = e instanceof ApiError ? e.message : `error: ${e.message}`;
  if (e instanceof ApiError && e.status === 401) askForKey();
  console.warn(e);
}

// An API that refuses anonymous reads: ask for a key once, then load with it.
function askForKey() {
  const form = $("key-form");
  if (!form.hidden) return;
  form.hidden = false;
  $("header-key").focus();
}

// -- brands ------------------------------------------------------------------------
async function loadBrands() {
  state.brands = await get("/brands");
  const select = $("brand");
  const names = state.brands.map((b) => b.brand);
  const wanted = route().brand;
  if (!state.brand || !names.includes(state.brand)) {
    const alerting = [...state.brands].sort((a, b) => b.open_alerts - a.open_alerts)[0];
    state.brand = names.includes(wanted) ? wanted : alerting?.open_alerts ? alerting.brand : names[0] || null;
  }
  select.replaceChildren(...state.brands.map((b) => h("option", { value: b.brand },
    b.open_alerts ? `${b.brand} (${b.open_alerts} open)` : b.brand)));
  select.value = state.brand || "";
  reports.brands(state.brands);
}

function lastWindow() {
  return state.brands.find((b) => b.brand === state.brand)?.last_window_start ?? null;
}

// -- series and charts --------------------------------------------------------------
async function loadSeries() {
  const last = lastWindow();
  if (!state.brand || last === null) {
    state.points = [];
    return drawCharts();
  }
  const from = last + state.windowS - state.range;
  const r = await get(`/brands/${encodeURIComponent(state.brand)}/series?from=${from}&limit=50000`);
  state.points = r.points;
  if (r.points.length) state.windowS = r.points[0].window_end - r.points[0].window_start;
  drawCharts();
}

// The chosen range up to the newest window, but not before the brand's first window:
// a brand seen for two days fills the width on the "7 d" setting too.
function chartRange() {
  const pts = state.points;
  const last = pts.length ? pts[pts.length - 1].window_end : (lastWindow() ?? 0) + state.windowS;
  const first = pts.length ? pts[0].window_start : last - state.range;
  return { from: Math.max(last - state.range, first), to: last };
}

function incidentSpans(brand) {
  return [...state.alerts.values()].filter((a) => a.brand === brand).map((a) => ({
    id: a.id, start: a.first_window, end: a.last_window + a.window_s, severity: a.severity,
    summary: a.explanation.summary,
  }));
}

function drawCharts() {
  const { from, to } = chartRange();
  const series = bucketize(state.points, state.windowS, from, to);
  const said = drawVolume($("volume-chart"), series, { from, to, incidents: incidentSpans(state.brand) });
  const neg = drawSentiment($("sentiment-chart"), series, { from, to });
  $("volume-title").textContent = state.brand ? `Mentions of ${state.brand}` : "Mentions";
  $("volume-desc").textContent = state.brand ? `${said} ${neg}` : "No brand has been seen yet.";
  $("chart-step").textContent = state.points.length ? `per ${series.step / 60} min, UTC` : "";
}

// -- incidents ------------------------------------------------------------------------
async function loadAlerts() {
  const query = state.allBrands ? "" : `brand=${encodeURIComponent(state.brand || "")}&`;
  const found = await get(`/alerts?${query}limit=200`);
  for (const a of found) state.alerts.set(a.id, a);
  renderFeed();
  drawCharts(); // the incidents' spans
}

function scheduleDraw() {
  cancelAnimationFrame(timers.draw);
  timers.draw = requestAnimationFrame(drawCharts);
}

// A detector document from the stream, merged with what people did (kept from before).
function upsert(doc) {
  const old = state.alerts.get(doc.id);
  if (old && old.updated_window > doc.updated_window) return old;
  const people = old && (old.state !== old.detector_state ||
    (old.audit || []).some((e) => PEOPLE_STATES.has(e.action))) ? old.state : null;
  const merged = { assignee: null, playbooks: [], sla: null, audit: [], ...old, ...doc,
    detector_state: doc.state, state: people || doc.state };
  state.alerts.set(doc.id, merged);
  return merged;
}

function replaceAlert(doc) {
  state.alerts.set(doc.id, doc);
  renderFeed();
  if (detail.id === doc.id) detail.render(doc);
}

function visibleAlerts() {
  return [...state.alerts.values()]
    .filter((a) => state.allBrands || a.brand === state.brand)
    .sort((a, b) => b.first_window - a.first_window || b.last_window - a.last_window ||
      a.id.localeCompare(b.id));
}

function itemContent(a) {
  const sla = slaText(a);
  const span = a.last_window + a.window_s - a.first_window;
  return [
    h("span", { class: "line1" }, badge(a.severity),
      h("span", { class: `state state-${a.state}` }, a.state),
      state.allBrands ? h("span", { class: "brand" }, a.brand) : null,
      a.snoozed ? h("span", { class: "snoozed-mark" }, `snoozed until ${when(a.snoozed.until)}`) : null,
      h("time", { datetime: new Date(a.first_window * 1000).toISOString() },
        `${when(a.first_window)}, ${duration(span)}`)),
    h("span", { class: "headline" }, a.headline || a.explanation.summary),
    h("span", { class: "summary muted small" }, a.explanation.summary),
    h("span", { class: `sla ${sla.cls}`, "data-sla": "" }, sla.text),
  ];
}

function renderFeed() {
  const list = $("incident-list");
  const shown = visibleAlerts();
  const keep = new Set(shown.map((a) => a.id));
  for (const [id, li] of items) {
    if (!keep.has(id)) {
      li.remove();
      items.delete(id);
    }
  }
  shown.forEach((a, i) => {
    let li = items.get(a.id);
    if (!li) {
      const button = h("button", { type: "button", class: "incident-open", "aria-haspopup": "dialog",
        onclick: (e) => openIncident(a.id, e.currentTarget) });
      li = h("li", { class: "incident", dataset: { id: a.id } }, button);
      items.set(a.id, li);
    }
    li.className = `incident sev-${a.severity} state-${a.state}`;
    li.firstChild.replaceChildren(...itemContent(a));
    if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null);
  });
  $("incident-empty").hidden = shown.length > 0;
  $("incident-empty").textContent = state.allBrands ? "No incidents." : `No incidents for ${state.brand || "this brand"}.`;
  const open = shown.filter((a) => a.state !== "resolved").length;
  $("incident-count").textContent = `${shown.length} shown, ${open} not resolved`;
}

function tickClocks() {
  for (const [id, li] of items) {
    const a = state.alerts.get(id);
    const el = li.querySelector("[data-sla]");
    if (!a || !el || !a.sla?.respond_by || a.sla.acknowledged_at || a.state === "resolved") continue;
    const sla = slaText(a);
    el.textContent = sla.text;
    el.className = `sla ${sla.cls}`;
  }
  detail.tick();
}

// -- topics ---------------------------------------------------------------------------
async function loadTopics() {
  const list = $("topic-list");
  let topics = [];
  if (state.brand) {
    try {
      topics = await get(`/brands/${encodeURIComponent(state.brand)}/topics?limit=15`);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e; // 404: no topics here
    }
  }
  list.replaceChildren(...topics.map((t) => h("li", {},
    h("details", {},
      h("summary", {},
        h("span", { class: "terms" }, t.terms.slice(0, 5).map(([term]) => term).join(" · ")),
        h("span", { class: "muted" }, ` ${num(t.size)} mentions · growth ×${t.growth.toFixed(1)} · ` +
          `${pct(t.negative_share)} negative${t.state !== "active" ? ` · ${t.state}` : ""}`)),
      h("ul", { class: "examples" }, t.examples.slice(0, 4).map((x) => h("li", {},
        h("span", { class: "who" }, `@${x.handle || "unknown"}`, x.copies > 1 ? ` ×${x.copies}` : ""),
        " ", x.text)))))));
  $("topic-empty").hidden = topics.length > 0;
  $("topic-empty").textContent = `No topics for ${state.brand || "this brand"}.`;
}

// -- pipeline ---------------------------------------------------------------------------
async function loadPipeline() {
  const [stats, health] = await Promise.all([get("/stats"), get("/health").catch(() => null)]);
  const newest = Math.max(...state.brands.map((b) => b.last_window_start ?? -Infinity));
  const lagS = Number.isFinite(newest) ? Date.now() / 1000 - (newest + state.windowS) : null;
  const lag = lagS === null ? "–" : lagS > 86400 ? `${duration(lagS)} (replay of past data)` : duration(lagS);
  const cells = [
    ["read", num(stats.read)], ["processed", num(stats.processed)],
    ["duplicate", num(stats.duplicate)], ["late", num(stats.late)],
    ["dead-lettered", num(stats.dead_lettered)], ["in flight", num(stats.in_flight)],
    ["lag", lag],
    ["flow", health?.flow_state || stats.status?.state || "–"],
    ["activation worker", health?.worker_state || "–"],
  ];
  $("pipeline").replaceChildren(...cells.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v))));
  $("pipeline").dataset.read = stats.read;
  const trouble = !health ? [] : !health.redis ? ["store unreachable"]
    : [["flow", health.flow_state], ["worker", health.worker_state],
       ...Object.entries(health.connectors || {}).map(([name, s]) => [`connector ${name}`, s])]
      .filter(([, s]) => s === "stalled").map(([who, s]) => `${who} ${s}`);
  $("status-text").textContent = trouble.length ? `degraded: ${trouble.join(", ")}` : "store ok";
}

// -- the stream -----------------------------------------------------------------------
function onEvent({ type, data }) {
  if (type.startsWith("incident.")) {
    const known = state.alerts.has(data.id);
    const doc = upsert(data);
    renderFeed();
    if (doc.brand === state.brand) scheduleDraw();
    if (detail.id === doc.id) detail.render(doc);
    if (wall.visible) wall.onIncident(type, data);
    if (type === "incident.opened" && !known && state.loaded) {
      if (!wall.visible) announce(`New ${doc.severity} incident for ${doc.brand}: ${doc.headline || doc.explanation.summary}`);
      items.get(doc.id)?.classList.add("fresh");
    }
    if (!state.brands.some((b) => b.brand === doc.brand) || doc.brand === state.brand) {
      later("brands", 2000, async () => {
        await loadBrands();
        if (doc.brand === state.brand) await loadSeries();
      });
    }
    reports.stale();
  } else if (type.startsWith("lifecycle.") || type === "playbook.activated" || type.startsWith("snooze.")) {
    const ids = data.id ? [data.id] : [...state.alerts.values()].filter((a) => a.brand === data.target).map((a) => a.id);
    for (const id of ids) {
      if (state.alerts.has(id)) later(`alert:${id}`, 300, async () => replaceAlert(await get(`/alerts/${encodeURIComponent(id)}`)));
    }
    wall.stale();
    reports.stale();
  } else if (type.startsWith("topic.")) {
    if (data.brand === state.brand) later("topics", 3000, loadTopics);
  } else if (type === "stream.gap") {
    loadAll().catch(showError);
  }
}

function onStreamState(connected, why) {
  const live = $("live");
  live.className = connected ? "live on" : "live off";
  live.textContent = connected ? "live" : `reconnecting (${why})`;
  if (!connected && /API key/.test(why)) askForKey();
  if (connected && why === "first") {
    clearTimeout(timers.initial);
    loadAll().catch(showError);
  }
}

// -- routes -------------------------------------------------------------------------------
// "#/alerts/{id}" -> {view: "alert", id}; the old "#brand=X" still opens the brand.
function route() {
  const raw = location.hash.replace(/^#/, "");
  if (raw.startsWith("brand=")) return { view: "brand", brand: new URLSearchParams(raw).get("brand") };
  const [path, query = ""] = raw.split("?");
  const [head, ...rest] = path.split("/").filter(Boolean);
  const tail = rest.length ? decodeURIComponent(rest.join("/")) : null;
  switch (head) {
    case "wall": return { view: "wall", kiosk: new URLSearchParams(query).has("kiosk") };
    case "alerts": return { view: "alert", id: tail };
    case "brands": return { view: "brand", brand: tail };
    case "reports": return { view: "reports", brand: tail };
    default: return { view: null };
  }
}

const brandRoute = (brand) => `#/brands/${encodeURIComponent(brand || "")}`;

function showView(name) {
  for (const view of ["wall", "live", "reports"]) {
    $(`view-${view}`).hidden = view !== name;
    $(`tab-${view}`).setAttribute("aria-pressed", String(view === name));
  }
  if (name !== "wall") wall.hide();
  if (name !== "reports") reports.hide();
}

async function showBrand(brand) {
  showView("live");
  if (brand && brand !== state.brand && state.brands.some((b) => b.brand === brand)) {
    state.brand = brand;
    $("brand").value = brand;
    state.shown = null;
  }
  if (state.shown !== state.brand) {
    state.shown = state.brand;
    await loadBrand();
  } else drawCharts();
}

// Opening an incident from the page is a move to its route, so back closes it again.
function openIncident(id, opener) {
  state.opener = opener || null;
  state.pushedAlert = true;
  location.hash = `#/alerts/${encodeURIComponent(id)}`;
}

async function applyRoute() {
  const r = route();
  if (r.view !== "alert" && $("detail").open) {
    state.pushedAlert = false; // closing it now must not move back a second time
    $("detail").close();
  }
  const several = state.brands.length > 1;
  if (r.view === "wall" || (r.view === null && several)) {
    showView("wall");
    await wall.show(Boolean(r.kiosk));
  } else if (r.view === "reports") {
    showView("reports");
    await reports.show(r.brand || state.brand);
  } else if (r.view === "alert") {
    if (detail.id !== r.id || !$("detail").open) await detail.open(r.id, state.opener);
    state.opener = null;
    await showBrand(detail.doc?.brand);
  } else {
    await showBrand(r.brand);
  }
}

// -- loading and wiring -----------------------------------------------------------------
async function loadBrand() {
  await Promise.all([loadSeries(), loadAlerts(), loadTopics()]);
}

async function loadAll() {
  const walling = route().view === "wall" ? applyRoute() : null; // it needs no brand list
  await loadBrands();
  state.shown = null;
  await Promise.all([walling || applyRoute(), loadPipeline()]);
  state.loaded = true;
  document.body.dataset.loaded = "true";
}

function wire() {
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    prefs.key = $("header-key").value.trim();
    $("apikey").value = prefs.key;
    $("key-form").hidden = true;
    stream.retryNow();
    loadAll().catch(showError);
  });
  $("brand").addEventListener("change", (e) => { location.hash = brandRoute(e.target.value); });
  window.addEventListener("hashchange", () => applyRoute().catch(showError));
  $("detail").addEventListener("close", () => {
    if (route().view !== "alert") return;
    if (state.pushedAlert) history.back();
    else history.replaceState(null, "", brandRoute(state.brand));
    state.pushedAlert = false;
  });
  $("all-brands").addEventListener("change", (e) => {
    state.allBrands = e.target.checked;
    loadAlerts().catch(showError);
  });
  const group = $("ranges");
  group.replaceChildren(...RANGES.map(([label, seconds]) => h("button", {
    type: "button", "aria-pressed": String(seconds === state.range),
    onclick: (e) => {
      state.range = seconds;
      for (const b of group.children) b.setAttribute("aria-pressed", String(b === e.currentTarget));
      loadSeries().catch(showError);
    },
  }, label)));
  $("tab-wall").addEventListener("click", () => { location.hash = "#/wall"; });
  $("tab-live").addEventListener("click", () => { location.hash = brandRoute(state.brand); });
  $("tab-reports").addEventListener("click", () => {
    location.hash = `#/reports/${encodeURIComponent(state.brand || "")}`;
  });
  new ResizeObserver(() => later("resize", 150, async () => drawCharts())).observe($("volume-chart"));
  setInterval(tickClocks, 1000);
  setInterval(() => {
    const before = lastWindow();
    Promise.all([loadBrands(), loadPipeline()])
      .then(() => (lastWindow() !== before ? loadSeries() : null))
      .catch(showError);
  }, POLL_MS);
}

wire();
detail.init({ onChange: replaceAlert });
reports.init();
wall.init({ onError: showError });
const stream = openStream({ onEvent, onState: onStreamState });
timers.initial = setTimeout(() => loadAll().catch(showError), 3000); // if the stream is slow
