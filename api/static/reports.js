// The report view: GET /reports for a brand (or all) and a period of event time, as a
// table, and the same report as CSV for a spreadsheet. It runs again by itself when
// incidents or their lifecycle change while it is on screen.

import { request } from "./api.js";
import { $, duration, h, num, pct, when } from "./dom.js";

const toInput = (t) => (t === null ? "" : new Date(t * 1000).toISOString().slice(0, 16));
const fromInput = (v) => (v ? Date.parse(`${v}:00Z`) / 1000 : null);
const quant = (q) => (q.n ? `${duration(q.median_s)} / ${duration(q.p90_s)} (n = ${q.n})` : "–");

function sla(s) {
  if (!s.clocks) return "no response clocks";
  const share = s.compliance === null ? "" : ` (${pct(s.compliance)})`;
  return `${s.met} of ${s.met + s.breached} met${share}${s.pending ? `, ${s.pending} running` : ""}`;
}

function row(b) {
  const v = b.volume, i = b.incidents;
  const sev = i.by_severity;
  return h("tr", { dataset: { brand: b.brand } },
    h("th", { scope: "row" }, b.brand),
    h("td", { class: "n" }, num(v.mentions)),
    h("td", { class: "n" }, `${pct(v.negative_share)} `, h("small", {}, `(usually ${pct(v.negative_share_baseline)})`)),
    h("td", { class: "n" }, num(v.anomalous_windows)),
    h("td", { "data-kpi": "incidents" }, `${i.total}`, i.total ? h("small", {}, ` ${sev.critical} critical · ${sev.warning} warning · ${sev.info} info`) : ""),
    h("td", {}, `${i.acknowledged} / ${i.resolved_by_people}`),
    h("td", { "data-kpi": "tta" }, quant(i.time_to_acknowledge)),
    h("td", { "data-kpi": "ttr" }, quant(i.time_to_resolve)),
    h("td", {}, quant(i.duration)),
    h("td", { "data-kpi": "sla" }, sla(b.sla)),
    h("td", {}, b.top_topics.length
      ? b.top_topics.slice(0, 3).map((t) => `${t.terms.slice(0, 3).join(" ")} (${t.mentions})`).join("; ")
      : h("span", { class: "muted" }, "no topics"),
    b.emerging_topics.length ? h("small", { "data-kpi": "emerging" }, `${b.emerging_topics.length} emerging: `
      + b.emerging_topics.map((t) => t.terms.slice(0, 3).join(" ")).join("; ")) : ""));
}

// The complaints that grew over days, each with its first example posts: what a product
// team should read even when no incident was opened.
function emerging(b) {
  if (!b.emerging_topics.length) return h("p", { class: "muted" }, "No emerging complaint topics in this period.");
  return h("section", { "aria-labelledby": "emerging-h" }, h("h3", { id: "emerging-h" }, "Emerging complaint topics"),
    h("ol", { class: "topics", "data-kpi": "emerging" }, b.emerging_topics.map((t) => h("li", {},
      h("span", { class: "terms" }, t.terms.join(" · ")),
      h("span", { class: "muted" }, ` ${num(t.mentions)} mentions in the period from ${num(t.authors)} authors · growth ×${t.growth.toFixed(1)} · ${pct(t.negative_share)} negative`),
      t.examples.length ? h("ul", { class: "examples" }, t.examples.map((e) => h("li", {},
        h("q", {}, e.text), e.handle ? h("small", {}, ` @${e.handle}`) : ""))) : ""))));
}

// One brand's KPIs as tiles, read at a glance (the table below compares brands).
function tiles(b) {
  const v = b.volume, i = b.incidents, s = b.sla;
  const tile = (label, value, note) => h("div", { class: "tile" },
    h("dt", {}, label), h("dd", {}, value, note ? h("small", {}, note) : ""));
  return h("div", { class: "tiles-wrap" },
    h("dl", { class: "tiles", "aria-label": `KPIs of ${b.brand}` },
      tile("Mentions", num(v.mentions), `${num(Math.round(v.expected))} expected`),
      tile("Negative share", pct(v.negative_share), `usually ${pct(v.negative_share_baseline)}`),
      tile("Incidents", num(i.total), `${i.by_severity.critical} critical · ${i.by_severity.warning} warning · ${i.by_severity.info} info`),
      tile("Time to acknowledge", i.time_to_acknowledge.n ? duration(i.time_to_acknowledge.median_s) : "–",
        i.time_to_acknowledge.n ? `median; p90 ${duration(i.time_to_acknowledge.p90_s)}; n = ${i.time_to_acknowledge.n}` : "nobody acknowledged yet"),
      tile("Time to resolve", i.time_to_resolve.n ? duration(i.time_to_resolve.median_s) : "–",
        i.time_to_resolve.n ? `median; p90 ${duration(i.time_to_resolve.p90_s)}; n = ${i.time_to_resolve.n}` : "nobody resolved one yet"),
      tile("SLA compliance", s.compliance === null ? "–" : pct(s.compliance), sla(s))),
    b.top_topics.length ? h("div", {}, h("h3", {}, "Top complaint topics"),
      h("ol", { class: "topics" }, b.top_topics.map((t) => h("li", {},
        h("span", { class: "terms" }, t.terms.join(" · ")),
        h("span", { class: "muted" }, ` ${num(t.mentions)} mentions in the period · ${pct(t.negative_share)} negative`)))))
      : h("p", { class: "muted" }, "No complaint topics in this period."),
    emerging(b));
}

export const reports = {
  list: [],
  visible: false,
  timer: null,

  init() {
    $("report-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.run().catch((err) => { $("report-status").textContent = `Not done: ${err.message}`; });
    });
    $("report-csv").addEventListener("click", () => this.csv().catch((err) => {
      $("report-status").textContent = `Not done: ${err.message}`;
    }));
    for (const [id, days] of [["preset-all", null], ["preset-1", 1], ["preset-7", 7]]) {
      $(id).addEventListener("click", () => {
        const last = this.newest();
        $("report-from").value = days === null || last === null ? "" : toInput(last - days * 86400);
        $("report-to").value = days === null || last === null ? "" : toInput(last);
        this.run().catch(() => {});
      });
    }
  },

  brands(list) {
    this.list = list;
    const select = $("report-brand"), current = select.value;
    select.replaceChildren(h("option", { value: "" }, "All brands"),
      ...list.map((b) => h("option", { value: b.brand }, b.brand)));
    select.value = list.some((b) => b.brand === current) ? current : "";
  },

  // the end of the newest window of the chosen brand(s): "the last day of data"
  newest() {
    const brand = $("report-brand").value;
    const ends = this.list.filter((b) => !brand || b.brand === brand)
      .map((b) => b.last_window_start).filter((t) => t !== null);
    return ends.length ? Math.max(...ends) + 300 : null;
  },

  query(format) {
    const q = new URLSearchParams();
    if ($("report-brand").value) q.set("brand", $("report-brand").value);
    const from = fromInput($("report-from").value), to = fromInput($("report-to").value);
    if (from !== null) q.set("from", String(from));
    if (to !== null) q.set("to", String(to));
    if (format) q.set("format", format);
    return `/reports?${q}`;
  },

  async show(brand) {
    this.visible = true;
    if (brand && !$("report-brand").dataset.touched) $("report-brand").value = brand;
    $("report-brand").dataset.touched = "true";
    await this.run();
  },

  hide() { this.visible = false; },

  stale() {
    if (!this.visible || $("view-reports").hidden) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run().catch(() => {}), 3000);
  },

  async run() {
    $("report-status").textContent = "running…";
    const r = await request(this.query());
    const period = r.start === null && r.end === null ? "the whole history"
      : `${r.start === null ? "the beginning" : when(r.start)} to ${r.end === null ? "the latest" : when(r.end)}`;
    $("report-out").replaceChildren(
      r.brands.length === 1 ? tiles(r.brands[0]) : "",
      h("table", { class: "report" },
        h("caption", {}, `Report for ${period} (event time), generated ${when(r.generated_at)}`),
        h("thead", {}, h("tr", {}, ["Brand", "Mentions", "Negative share", "Anomalous windows",
          "Incidents", "Acknowledged / resolved by people", "Time to acknowledge (median / p90)",
          "Time to resolve (median / p90)", "Incident duration (median / p90)", "SLA compliance",
          "Top complaint topics"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, r.brands.map(row))),
      h("p", { class: "muted small" }, `Clocks: ${r.clocks}.`));
    $("report-status").textContent = `${r.brands.length} brand(s).`;
  },

  async csv() {
    const text = await request(this.query("csv"), { accept: "text/csv" });
    const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
    const a = h("a", { href: url, download: `crisiswatch-report-${$("report-brand").value || "all"}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    $("report-status").textContent = "CSV downloaded.";
  },
};
