// One incident in a dialog: why it fired (observed vs expected, hashtags with lift,
// representative mentions, signals), what to do (staffing advice, playbooks, response
// clock), what was done (audit trail), and the buttons to act through the API.

import { ApiError, get, post, prefs, request } from "./api.js";
import { bucketize, drawVolume } from "./chart.js";
import { $, announce, badge, h, num, pct, slaText, when } from "./dom.js";
import { giveVerdict, supportList, verdictText } from "./feedback.js";

const AROUND_BEFORE = 6 * 3600; // the mini chart: 6 h before the incident ...
const AROUND_AFTER = 3 * 3600; // ... and 3 h after it

const table = (caption, head, rows) => h("table", {},
  h("caption", {}, caption),
  h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, c)))),
  h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))));

const section = (title, ...body) => h("section", { class: "d-section" }, h("h3", {}, title), ...body);

function mention(m) {
  return h("li", { class: "mention" },
    h("div", { class: "who" }, `@${m.handle || "unknown"}`,
      h("span", { class: "muted" }, ` · ${num(m.followers)} followers · ${when(m.ts)} · sentiment ${m.sentiment.toFixed(2)}`)),
    h("blockquote", {}, m.text));
}

const whenExact = (t) => `${new Date(t * 1000).toISOString().slice(0, 19).replace("T", " ")} UTC`;

// The strongest signal of each kind first; a long incident has dozens of windows'
// signals, which stay one click away.
function signals(x) {
  const strongest = new Map();
  for (const s of x.signals) {
    if (!strongest.has(s.kind) || s.score > strongest.get(s.kind).score) strongest.set(s.kind, s);
  }
  const line = (s) => h("li", {}, badge(s.severity), ` ${s.kind} · ${when(s.window_start)} · `, s.summary);
  // signal_counts counts every signal the incident had; x.signals keeps the strongest few
  const counted = Object.entries(x.signal_counts || {});
  const total = counted.reduce((sum, [, n]) => sum + n, 0);
  const counts = counted.map(([k, n]) => `${k} ${n}`).join(", ");
  const kept = total > x.signals.length ? `the strongest ${x.signals.length} of ${total} signals`
    : `all ${x.signals.length} signals`;
  return [
    h("ul", { class: "signals" }, [...strongest.values()].map(line)),
    x.signals.length > strongest.size ? h("details", {},
      h("summary", {}, `${kept} (${counts})`),
      h("ul", { class: "signals" }, x.signals.map(line))) : "",
  ];
}

function auditRow(e) {
  const extra = Object.entries(e)
    .filter(([k, v]) => !["at", "actor", "action", "note"].includes(k) && v !== null && v !== "")
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join("; ") : typeof v === "number" && k.endsWith("_by") ? when(v) : v}`)
    .join(", ");
  return [h("span", { class: "nowrap" }, whenExact(e.at)), e.actor, e.action,
    [e.note, extra].filter(Boolean).join(" — ")];
}

export const detail = {
  id: null,
  doc: null,
  points: null,
  advice: null,
  opener: null,
  playbooks: null, // GET /playbooks, or null with the reason in playbookHint
  playbookHint: "API key needed",
  onChange: null,

  init({ onChange }) {
    this.onChange = onChange;
    const dialog = $("detail");
    dialog.addEventListener("close", () => {
      this.id = null;
      if (this.opener?.isConnected) this.opener.focus();
    });
    $("detail-close").addEventListener("click", () => dialog.close());
    $("actor").value = prefs.actor;
    $("apikey").value = prefs.key;
    $("actor").addEventListener("change", (e) => { prefs.actor = e.target.value.trim(); });
    $("apikey").addEventListener("change", async (e) => {
      prefs.key = e.target.value.trim();
      await this.loadPlaybooks();
      if (this.doc) this.render(this.doc);
    });
    $("act-ack").addEventListener("click", () => this.act("ack"));
    $("act-resolve").addEventListener("click", () => this.act("resolve"));
    $("act-activate").addEventListener("click", () => this.act("activate"));
    $("act-snooze").addEventListener("click", () => this.act("snooze"));
    $("act-snooze-brand").addEventListener("click", () => this.act("snooze-brand"));
    $("act-unsnooze").addEventListener("click", () => this.act("unsnooze"));
    $("act-useful").addEventListener("click", () => this.act("useful"));
    $("act-noise").addEventListener("click", () => this.act("noise"));
  },

  // GET /playbooks needs scope 'operate' (webhook targets may be secrets): without a
  // key there is nothing to ask for, and a refused request would only log an error.
  async loadPlaybooks() {
    this.playbooks = null;
    if (!prefs.key) {
      this.playbookHint = "API key needed";
      return;
    }
    try {
      this.playbooks = await get("/playbooks");
      this.playbookHint = "none left";
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      this.playbookHint = e.status === 403 ? "key lacks scope 'operate'" : "no playbooks loaded";
    }
  },

  async open(id, opener) {
    const dialog = $("detail");
    this.id = id;
    this.points = null;
    this.advice = null;
    this.opener = opener || null;
    $("detail-body").replaceChildren(h("p", { class: "muted" }, "loading…"));
    $("act-status").textContent = "";
    if (!dialog.open) dialog.showModal();
    const [doc] = await Promise.all([get(`/alerts/${encodeURIComponent(id)}`),
      this.playbooks === null ? this.loadPlaybooks() : null]);
    if (this.id !== id) return;
    this.onChange(doc);
    this.render(doc);
    const from = doc.first_window - AROUND_BEFORE, to = doc.last_window + doc.window_s + AROUND_AFTER;
    const series = await get(`/brands/${encodeURIComponent(doc.brand)}/series?from=${from}&to=${to}&limit=50000`);
    if (this.id !== id) return;
    this.points = series.points;
    this.drawChart();
    this.staffing(doc).catch(() => {});
  },

  drawChart() {
    const doc = this.doc, svg = $("detail-chart");
    if (!doc || !svg || this.points === null) return;
    const from = doc.first_window - AROUND_BEFORE, to = doc.last_window + doc.window_s + AROUND_AFTER;
    const series = bucketize(this.points, doc.window_s, from, to, 400);
    const said = drawVolume(svg, series, { from, to, height: 200, highlight: doc.id, incidents: [{
      id: doc.id, start: doc.first_window, end: doc.last_window + doc.window_s,
      severity: doc.severity, summary: doc.explanation.summary }] });
    $("detail-chart-desc").textContent = said;
  },

  async staffing(doc) {
    const box = $("detail-staffing");
    if (!box) return;
    const active = doc.playbooks.find((p) => p.staffing);
    let advice = this.advice; // the forecast as remade now, not as it was at activation
    if (!advice) {
      try {
        advice = await get(`/alerts/${encodeURIComponent(doc.id)}/staffing`);
      } catch (e) {
        advice = { error: e.message };
      }
    }
    if (this.id !== doc.id) return;
    this.advice = advice;
    if (advice.error) {
      box.replaceChildren(h("p", { class: "muted" }, advice.error));
      return;
    }
    box.replaceChildren(
      h("p", {}, advice.summary, active ? "" : h("span", { class: "muted" }, " (advice; no staffing playbook is active)")),
      table("Extra agents, hour by hour: the forecast's median, and its P90 to be safe",
        ["hour", "excess mentions", "P90", "extra agents", "P90"],
        advice.hours.map((x) => [`+${x.hour} h`, x.excess_mentions.toFixed(1), x.excess_mentions_p90.toFixed(1),
          num(x.extra_agents), num(x.extra_agents_p90)])));
  },

  render(doc) {
    this.doc = doc;
    const x = doc.explanation;
    const sla = slaText(doc);
    $("detail-title").replaceChildren(badge(doc.severity), " ", `${doc.brand}: ${doc.headline || `${doc.kinds.join(" + ")} incident`}`);
    $("detail-meta").replaceChildren(
      h("span", { class: `state state-${doc.state}`, id: "detail-state" }, doc.state),
      doc.detector_state && doc.detector_state !== doc.state ? h("span", { class: "muted" }, ` (detector: ${doc.detector_state})`) : "",
      " · ", `${when(doc.first_window)} – ${when(doc.last_window + doc.window_s)}`,
      " · ", h("span", { class: `sla ${sla.cls}`, id: "detail-sla" }, sla.text),
      doc.assignee ? ` · assigned to ${doc.assignee}` : "",
      doc.snoozed ? h("span", { class: "snoozed-mark", id: "detail-snoozed" },
        ` · ${doc.snoozed.scope === "brand" ? `${doc.brand} muted` : "snoozed"} until ${when(doc.snoozed.until)} by ${doc.snoozed.actor}` +
        (doc.snoozed.reason ? ` (${doc.snoozed.reason})` : "") + ": no automatic playbook or escalation until then") : "",
      " · ", h("code", {}, doc.id));
    const peopleResolved = doc.audit.some((e) => e.action === "resolved");
    $("act-ack").disabled = doc.state === "acknowledged" || peopleResolved;
    $("act-resolve").disabled = peopleResolved;
    const active = new Set(doc.playbooks.map((p) => p.name));
    const choices = (this.playbooks || []).filter((p) => !active.has(p.name));
    $("playbook").replaceChildren(...(choices.length ? choices.map((p) => h("option", { value: p.name }, p.name))
      : [h("option", { value: "" }, this.playbookHint)]));
    $("act-activate").disabled = peopleResolved || !choices.length;
    $("act-snooze").disabled = doc.state === "resolved";
    $("act-unsnooze").hidden = !doc.snoozed;
    $("playbook").disabled = !choices.length;

    const lift = (t) => (t.lift === null ? "new" : `×${t.lift.toFixed(1)}`);
    $("detail-body").replaceChildren(
      h("p", { class: `summary tone-${x.tone}` }, x.summary),
      h("p", { class: "muted small" }, "The detector's own words; the statistics are below."),
      h("div", { class: "d-grid" },
        h("div", {},
          section("Observed vs expected",
            h("dl", { class: "figures" },
              h("div", {}, h("dt", {}, `observed in ${x.horizon_minutes} min`), h("dd", {}, num(x.observed))),
              h("div", {}, h("dt", {}, "expected"), h("dd", {}, x.expected.toFixed(1))),
              h("div", {}, h("dt", {}, "lift"), h("dd", {}, `×${x.lift.toFixed(1)}`)),
              h("div", {}, h("dt", {}, "negative"), h("dd", {}, `${pct(x.negative_share)} `, h("small", {}, `usually ${pct(x.negative_share_baseline)}`))),
              h("div", {}, h("dt", {}, "mentions in incident"), h("dd", {}, num(x.mentions))),
              h("div", {}, h("dt", {}, "reach"), h("dd", {}, num(x.reach)))),
            h("p", { class: "muted small" }, x.score_meaning),
            h("figure", { class: "mini" },
              h("svg", { id: "detail-chart", role: "img", "aria-labelledby": "detail-chart-desc" }),
              h("figcaption", { class: "muted small", id: "detail-chart-desc" }, "loading the windows around the incident…"))),
          x.hashtags.length ? section("Hashtags", table("Hashtags in the incident's windows, with lift over each tag's own baseline",
            ["tag", "count", "expected", "lift", "retweets"],
            x.hashtags.map((t) => [`#${t.tag}`, num(t.count), t.expected.toFixed(1), lift(t), num(t.retweets)]))) : "",
          x.top_terms.length ? section("Top terms", h("ul", { class: "chips" },
            x.top_terms.map(([term, n]) => h("li", {}, `${term} (${n})`)))) : "",
          x.watchlist_hits.length ? section("Watchlist hits", h("ul", {},
            x.watchlist_hits.map((w) => h("li", {}, badge(w.severity), ` “${w.term}” ×${w.count}`)))) : "",
          section("Who is talking", supportList(x)),
          section("Team verdict", h("div", { id: "detail-verdict" }, verdictText(doc.feedback))),
          section("Signals", signals(x))),
        h("div", {},
          section("Response", doc.playbooks.length ? h("ul", { class: "playbooks" }, doc.playbooks.map((p) => h("li", {},
            h("strong", {}, p.name), ` (${p.how}, by ${p.actor}, ${when(p.at)})`,
            p.respond_within_minutes ? ` · respond within ${p.respond_within_minutes} min` : "",
            p.respond_by ? ` · by ${when(p.respond_by)}` : "",
            p.breaches ? ` · ${p.breaches} missed` : "",
            ` · step ${p.step}/${p.steps}`,
            h("div", { class: "muted small" }, p.reasons.join("; ")))))
            : h("p", { class: "muted" }, "No playbook active.")),
          section("Staffing advice", h("div", { id: "detail-staffing" }, h("p", { class: "muted" }, "loading…"))),
          section("Representative mentions", h("ul", { class: "mentions" }, x.examples.slice(0, 5).map(mention))),
          x.loudest_complaints.length ? section("Loudest complaints",
            h("ul", { class: "mentions" }, x.loudest_complaints.slice(0, 3).map(mention))) : "")),
      section("Audit trail", doc.audit.length
        ? table("Every change, oldest first", ["when", "who", "what", "details"], doc.audit.map(auditRow))
        : h("p", { class: "muted" }, "Nobody has acted on this incident yet.")));
    this.drawChart();
    if (this.points !== null) this.staffing(doc).catch(() => {});
  },

  tick() {
    const el = document.getElementById("detail-sla");
    if (!this.doc || !el) return;
    const sla = slaText(this.doc);
    el.textContent = sla.text;
    el.className = `sla ${sla.cls}`;
  },

  // Snooze the incident or mute its brand (the note is the reason), or end the snooze;
  // answers the incident as it now stands.
  async snooze(action, actor, reason) {
    const doc = this.doc;
    const path = action === "snooze-brand" || doc.snoozed?.scope === "brand" && action === "unsnooze"
      ? `/brands/${encodeURIComponent(doc.brand)}/snooze` : `/alerts/${encodeURIComponent(doc.id)}/snooze`;
    if (action === "unsnooze") await request(`${path}?actor=${encodeURIComponent(actor)}`, { method: "DELETE", accept: "*/*" });
    else await post(path, { hours: Number($("snooze-hours").value), actor, reason });
    return get(`/alerts/${encodeURIComponent(doc.id)}`);
  },

  async act(action) {
    const status = $("act-status");
    const actor = $("actor").value.trim();
    prefs.actor = actor;
    prefs.key = $("apikey").value.trim();
    if (!actor) {
      status.textContent = "Enter your name first: the audit trail records who acted.";
      $("actor").focus();
      return;
    }
    const body = { actor, note: $("note").value.trim() };
    if (action === "activate") body.playbook = $("playbook").value;
    const id = this.id;
    status.textContent = "sending…";
    try {
      const verdict = action === "useful" || action === "noise";
      if (verdict) await giveVerdict(id, action, actor, body.note);
      const doc = verdict ? await get(`/alerts/${encodeURIComponent(id)}`)
        : action.includes("snooze") ? await this.snooze(action, actor, body.note)
          : await post(`/alerts/${encodeURIComponent(id)}/${action}`, body);
      $("note").value = "";
      const hours = $("snooze-hours").value;
      const done = { ack: "acknowledged", resolve: "resolved", activate: `playbook ${body.playbook} activated`,
        snooze: `snoozed for ${hours} h`, "snooze-brand": `${this.doc.brand} muted for ${hours} h`,
        unsnooze: "snooze ended", useful: "marked useful",
        noise: `marked noise (${$("verdict-reason").value})` }[action];
      status.textContent = `Done: ${done} by ${actor}.`;
      announce(`Incident ${done}.`);
      this.onChange(doc);
      if (verdict) $("detail-verdict").replaceChildren(verdictText(doc.feedback));
    } catch (e) {
      const hint = e.status === 401 || e.status === 403
        ? " Acting needs an API key with scope 'operate' (crisiswatch keys create --scope operate --name you): paste it above." : "";
      status.textContent = `Not done: ${e.message}.${hint}`;
    }
  },
};
