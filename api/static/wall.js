// The wall: every brand as a tile, worst first (GET /wall ranks them: the severity of
// the open incidents, then how far the last hour is above the expected volume), in type
// large enough to read across a room. Kept live by the event stream: an incident event
// moves its brand's tile at once, from the event alone, and the whole wall is read
// again shortly after (the sparklines, the lifts). Hundreds of brands come in pages,
// worst first; kiosk mode hides the controls and turns the pages by itself.

import { get } from "./api.js";
import { $, announce, badge, h, num, when } from "./dom.js";

const PAGE = 48;
const CYCLE_MS = 20000; // kiosk mode: the next page after this long
const REFRESH_MS = 1500; // after an event, the wall is read again (once per burst)
const POLL_MS = 30000;
const RANK = { critical: 3, warning: 2, info: 1 };
const SVG = "http://www.w3.org/2000/svg";

const rank = (t) => [-(RANK[t.severity] || 0), -(t.lift || 0), t.brand];
function byRank(a, b) {
  const [x, y] = [rank(a), rank(b)];
  return x[0] - y[0] || x[1] - y[1] || x[2].localeCompare(y[2]);
}

function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

// A day of mentions (line) over the expected band (expected ± 2√expected, as the main
// chart draws it).
function sparkline(t) {
  const W = 240, H = 44, n = t.counts.length;
  const hi = Math.max(1, ...t.counts, ...t.expected.map((e) => e + 2 * Math.sqrt(e)));
  const x = (i) => (n > 1 ? (i / (n - 1)) * W : W / 2);
  const y = (v) => H - 2 - (v / hi) * (H - 4);
  const up = t.expected.map((e, i) => `${x(i)},${y(e + 2 * Math.sqrt(e))}`);
  const down = t.expected.map((e, i) => `${x(i)},${y(Math.max(0, e - 2 * Math.sqrt(e)))}`).reverse();
  const el = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", class: "spark",
    role: "img", "aria-label": `${t.brand}: ${num(t.counts.reduce((a, b) => a + b, 0))} mentions in the last 24 h` });
  if (n) {
    el.append(svg("polygon", { class: "band", points: [...up, ...down].join(" ") }),
      svg("polyline", { class: "count", points: t.counts.map((c, i) => `${x(i)},${y(c)}`).join(" ") }));
  }
  return el;
}

function liftText(t) {
  if (t.lift === null || t.lift === undefined) return "no baseline yet";
  return t.lift >= 1.05 ? `${t.lift.toFixed(1)}× the usual volume` : "usual volume";
}

function tileContent(t) {
  const a = t.incident;
  return [
    h("span", { class: "w-top" }, h("span", { class: "w-brand" }, t.brand),
      t.severity ? badge(t.severity) : h("span", { class: "badge sev-calm" }, "calm")),
    h("span", { class: "w-lift" }, liftText(t),
      t.open_incidents > 1 ? h("span", { class: "muted" }, ` · ${t.open_incidents} open`) : ""),
    sparkline(t),
    a ? h("span", { class: "w-headline" }, a.headline) : h("span", { class: "w-headline muted" }, "No open incident"),
    a ? h("span", { class: "w-state muted" }, `${a.state} · since ${when(a.first_window)}`) : "",
    t.snoozed ? h("span", { class: "w-snoozed" }, `snoozed until ${when(t.snoozed.until)} by ${t.snoozed.actor}`) : "",
  ];
}

export const wall = {
  tiles: [],
  page: 0,
  visible: false,
  kiosk: false,
  sound: false,
  timers: {},
  nodes: new Map(), // brand -> its <li>, kept across renders
  onError: console.warn,

  init({ onError }) {
    this.onError = onError;
    $("wall-prev").addEventListener("click", () => this.turn(-1));
    $("wall-next").addEventListener("click", () => this.turn(1));
    $("wall-sound").addEventListener("click", (e) => {
      this.sound = !this.sound;
      e.currentTarget.setAttribute("aria-pressed", String(this.sound));
      if (this.sound) this.beep(0.01); // a gesture unlocks audio for later cues
    });
    $("wall-kiosk").addEventListener("click", () => { location.hash = "#/wall?kiosk=1"; });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.kiosk && this.visible) location.hash = "#/wall";
    });
  },

  async show(kiosk) {
    this.visible = true;
    this.kiosk = kiosk;
    document.body.classList.toggle("kiosk", kiosk);
    clearInterval(this.timers.cycle);
    if (kiosk) this.timers.cycle = setInterval(() => this.turn(1, true), CYCLE_MS);
    clearInterval(this.timers.poll);
    this.timers.poll = setInterval(() => this.load().catch(this.onError), POLL_MS);
    await this.load();
  },

  hide() {
    this.visible = false;
    this.kiosk = false;
    document.body.classList.remove("kiosk");
    clearInterval(this.timers.cycle);
    clearInterval(this.timers.poll);
  },

  async load() {
    const started = performance.now();
    const r = await get("/wall");
    this.tiles = r.tiles;
    this.render();
    document.body.dataset.wall = "ready";
    window.__wallLoadMs = performance.now() - started; // read by the browser test
  },

  pages() {
    return Math.max(1, Math.ceil(this.tiles.length / PAGE));
  },

  turn(by, wrap = false) {
    const last = this.pages() - 1;
    this.page = wrap ? (this.page + by + last + 1) % (last + 1) : Math.min(last, Math.max(0, this.page + by));
    this.render();
  },

  render() {
    if (!this.visible) return;
    this.tiles.sort(byRank);
    this.page = Math.min(this.page, this.pages() - 1);
    const shown = this.tiles.slice(this.page * PAGE, (this.page + 1) * PAGE);
    const list = $("wall-tiles");
    list.replaceChildren(...shown.map((t, i) => {
      let li = this.nodes.get(t.brand);
      if (!li) {
        li = h("li", {}, h("a", {}));
        this.nodes.set(t.brand, li);
      }
      li.className = `wall-tile sev-${t.severity || "calm"}${t.snoozed ? " snoozed" : ""}${li.classList.contains("alarm") ? " alarm" : ""}`;
      li.dataset.brand = t.brand;
      li.dataset.rank = String(this.page * PAGE + i + 1);
      const link = li.firstChild;
      link.href = t.incident ? `#/alerts/${encodeURIComponent(t.incident.id)}` : `#/brands/${encodeURIComponent(t.brand)}`;
      link.replaceChildren(...tileContent(t));
      return li;
    }));
    const open = this.tiles.filter((t) => t.severity).length;
    $("wall-count").textContent = `${num(this.tiles.length)} brands, ${num(open)} with open incidents` +
      (this.pages() > 1 ? ` · page ${this.page + 1} of ${this.pages()}` : "");
    $("wall-prev").disabled = this.page === 0;
    $("wall-next").disabled = this.page >= this.pages() - 1;
    $("wall-empty").hidden = this.tiles.length > 0;
  },

  // An incident event: its brand's tile moves now; the wall is read again soon after.
  onIncident(type, doc) {
    let t = this.tiles.find((x) => x.brand === doc.brand);
    if (!t) {
      t = { brand: doc.brand, severity: null, incident: null, open_incidents: 0, lift: null,
        counts: [], expected: [], snoozed: null };
      this.tiles.push(t);
    }
    const isNew = type === "incident.opened" && t.incident?.id !== doc.id;
    if (doc.state === "resolved") {
      if (t.incident?.id === doc.id) Object.assign(t, { incident: null, severity: null });
    } else if (!t.incident || t.incident.id === doc.id || RANK[doc.severity] >= RANK[t.incident.severity]) {
      t.incident = { id: doc.id, severity: doc.severity, state: doc.state, kinds: doc.kinds,
        headline: doc.headline || doc.explanation?.summary || "", first_window: doc.first_window,
        last_window: doc.last_window };
      t.severity = doc.severity;
      if (isNew) t.open_incidents += 1;
    }
    this.render();
    if (isNew && doc.severity === "critical") this.cue(t);
    clearTimeout(this.timers.refresh);
    this.timers.refresh = setTimeout(() => this.load().catch(this.onError), REFRESH_MS);
  },

  // Something changed that the events do not carry whole (a snooze, people acting).
  stale() {
    if (!this.visible) return;
    clearTimeout(this.timers.refresh);
    this.timers.refresh = setTimeout(() => this.load().catch(this.onError), REFRESH_MS);
  },

  // A new critical incident: the tile flashes, a banner says it, and (if asked) a tone.
  cue(t) {
    const li = this.nodes.get(t.brand) || null;
    li?.classList.add("alarm");
    setTimeout(() => li?.classList.remove("alarm"), 30000);
    const banner = $("wall-alarm");
    banner.textContent = `New critical incident: ${t.brand} — ${t.incident.headline}`;
    banner.hidden = !this.visible;
    clearTimeout(this.timers.banner);
    this.timers.banner = setTimeout(() => { banner.hidden = true; }, 15000);
    announce(banner.textContent);
    if (this.sound) this.beep(0.2);
  },

  beep(volume) {
    try {
      this.audio ||= new AudioContext();
      const osc = this.audio.createOscillator(), gain = this.audio.createGain();
      osc.frequency.value = 880;
      gain.gain.value = volume;
      osc.connect(gain).connect(this.audio.destination);
      osc.start();
      osc.stop(this.audio.currentTime + 0.35);
    } catch (e) {
      console.warn("no sound:", e);
    }
  },
};
