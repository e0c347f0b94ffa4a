// SVG charts of a brand's windows, drawn by hand: no library, no build step.
//
// bucketize() sums windows into display buckets (a week of 5-minute windows would be
// 2,016 points; a laptop screen shows about 250). A window the flow never emitted had no
// mentions: it counts as 0 between the first and last window, and the bucket's expected
// count is the mean expectation of its windows that exist, times the windows it spans.
// The grey band is expected ± 2√expected, the range a Poisson count stays in about 95 %
// of the time: a reading guide. The red dots are the detector's own verdicts, which
// also weigh several horizons and the brand's over-dispersion.

const NS = "http://www.w3.org/2000/svg";
const STEPS = [300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
const MIN_SHARE_MENTIONS = 5;
const SEVERITY_FILL = { info: "#0a58ca", warning: "#9a6700", critical: "#b42318" };

export function bucketize(points, windowS, from, to, maxBuckets = 250) {
  const span = Math.max(windowS, to - from);
  const step = STEPS.find((s) => s >= windowS && span / s <= maxBuckets) || STEPS[STEPS.length - 1];
  const t0 = Math.floor(from / step) * step;
  const n = Math.max(1, Math.ceil((to - t0) / step));
  const buckets = Array.from({ length: n }, (_, i) => ({
    start: t0 + i * step, count: 0, expSum: 0, windows: 0, neg: 0, negBase: 0,
    anomalous: false, hasData: false, expected: null,
  }));
  const first = points.length ? points[0].window_start : Infinity;
  const last = points.length ? points[points.length - 1].window_start : -Infinity;
  for (const p of points) {
    const b = buckets[Math.floor((p.window_start - t0) / step)];
    if (!b) continue;
    b.count += p.count;
    b.expSum += p.expected;
    b.windows += 1;
    b.neg += p.negative_share * p.count;
    b.negBase += (p.negative_share_baseline ?? p.negative_share) * p.count;
    b.anomalous = b.anomalous || p.anomalous;
    b.hasData = true;
  }
  const perWindow = step / windowS;
  let carry = null;
  for (const b of buckets) {
    b.inRange = b.start + step > first && b.start <= last;
    if (b.windows) carry = b.expSum / b.windows;
    b.expected = carry === null ? null : carry * perWindow;
    b.negShare = b.count ? b.neg / b.count : null;
    b.negBaseline = b.count ? b.negBase / b.count : null;
  }
  // windows before the first bucket with data borrow its expectation
  const firstExp = buckets.find((b) => b.expected !== null);
  for (const b of buckets) {
    if (b.expected === null && firstExp) b.expected = firstExp.expected;
  }
  return { step, buckets: buckets.filter((b) => b.inRange) };
}

function el(name, attrs = {}, text = null) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

// A y axis of four steps of 1, 2 or 5 times a power of ten (whole mentions).
function niceAxis(v) {
  const rough = Math.max(v, 4) / 4;
  const mag = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= rough);
  return { max: step * Math.ceil(v / step - 1e-9) || step, step };
}

const pad2 = (n) => String(n).padStart(2, "0");
export function utcLabel(t, withDate = true) {
  const d = new Date(t * 1000);
  const hm = `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
  return withDate ? `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${hm}` : hm;
}

function timeTicks(from, to, width) {
  const want = Math.max(2, Math.floor(width / 110));
  const step = [900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800]
    .find((s) => (to - from) / s <= want) || 604800;
  const ticks = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) ticks.push(t);
  return { ticks, daily: step >= 86400 };
}

function frame(svg, height) {
  const width = Math.max(320, Math.round(svg.getBoundingClientRect().width) || 800);
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("height", height);
  return { width, height, left: 44, right: 12, top: 10, bottom: 24 };
}

function xAxis(svg, f, x, from, to) {
  const { ticks, daily } = timeTicks(from, to, f.width - f.left - f.right);
  const g = el("g", { class: "axis" });
  for (const t of ticks) {
    const d = new Date(t * 1000);
    const label = daily || (d.getUTCHours() === 0 && d.getUTCMinutes() === 0)
      ? `${d.getUTCMonth() + 1}/${d.getUTCDate()}` : utcLabel(t, false);
    g.append(el("line", { x1: x(t), x2: x(t), y1: f.top, y2: f.height - f.bottom, class: "grid" }));
    g.append(el("text", { x: x(t), y: f.height - 6, "text-anchor": "middle" }, label));
  }
  svg.append(g);
}

function yAxis(svg, f, y, max, format, step = max / 4) {
  const g = el("g", { class: "axis" });
  for (let v = 0; v <= max + 1e-9; v += step) {
    g.append(el("line", { x1: f.left, x2: f.width - f.right, y1: y(v), y2: y(v), class: "grid" }));
    g.append(el("text", { x: f.left - 6, y: y(v) + 4, "text-anchor": "end" }, format(v)));
  }
  svg.append(g);
}

const pathOf = (pts) => pts.map(([px, py], i) => `${i ? "L" : "M"}${px.toFixed(1)},${py.toFixed(1)}`).join("");

// Mentions per bucket, the expected count and its band, incident spans, anomaly dots.
// Returns a sentence that describes the chart for people who cannot see it.
export function drawVolume(svg, series, opts) {
  const { buckets, step } = series;
  const f = frame(svg, opts.height || 230);
  const from = opts.from, to = opts.to;
  if (!buckets.length) {
    svg.append(el("text", { x: f.width / 2, y: f.height / 2, "text-anchor": "middle", class: "empty" },
      "no windows in this range"));
    return "No windows in this range.";
  }
  const band = (b) => 2 * Math.sqrt(Math.max(b.expected || 0, 0));
  const axis = niceAxis(Math.max(1, ...buckets.map((b) => Math.max(b.count, (b.expected || 0) + band(b)))));
  const max = axis.max;
  const x = (t) => f.left + ((f.width - f.left - f.right) * (t - from)) / Math.max(1, to - from);
  const y = (v) => f.height - f.bottom - ((f.height - f.top - f.bottom) * v) / max;
  const mid = (b) => x(b.start + step / 2);
  yAxis(svg, f, y, max, (v) => (v >= 1000 ? `${(v / 1000).toFixed(1)}k` : String(Math.round(v))), axis.step);
  xAxis(svg, f, x, from, to);

  for (const inc of opts.incidents || []) {
    const x1 = Math.max(f.left, x(inc.start)), x2 = Math.min(f.width - f.right, x(inc.end));
    if (x2 <= f.left || x1 >= f.width - f.right) continue;
    const rect = el("rect", {
      x: x1, y: f.top, width: Math.max(3, x2 - x1), height: f.height - f.top - f.bottom,
      class: `span span-${inc.severity}${inc.id === opts.highlight ? " span-focus" : ""}`,
      fill: SEVERITY_FILL[inc.severity] || SEVERITY_FILL.warning, "data-incident": inc.id,
    });
    rect.append(el("title", {}, `${inc.severity} incident: ${inc.summary}`));
    svg.append(rect);
  }
  const withExp = buckets.filter((b) => b.expected !== null);
  const upper = withExp.map((b) => [mid(b), y((b.expected || 0) + band(b))]);
  const lower = withExp.map((b) => [mid(b), y(Math.max(0, (b.expected || 0) - band(b)))]).reverse();
  if (upper.length) {
    svg.append(el("path", { d: `${pathOf(upper)}L${pathOf(lower).slice(1)}Z`, class: "band" }));
    svg.append(el("path", { d: pathOf(withExp.map((b) => [mid(b), y(b.expected)])), class: "expected" }));
  }
  svg.append(el("path", { d: pathOf(buckets.map((b) => [mid(b), y(b.count)])), class: "count" }));
  const minutes = step / 60;
  for (const b of buckets.filter((b) => b.anomalous)) {
    const dot = el("circle", { cx: mid(b), cy: y(b.count), r: 4.5, class: "anomaly",
      "data-start": b.start });
    dot.append(el("title", {}, `${utcLabel(b.start)} UTC, ${minutes} min: ${b.count} mentions, ` +
      `${(b.expected || 0).toFixed(1)} expected: anomalous`));
    svg.append(dot);
  }
  const peak = buckets.reduce((a, b) => (b.count > a.count ? b : a), buckets[0]);
  const anomalies = buckets.filter((b) => b.anomalous).length;
  return `${buckets.length} buckets of ${minutes} minutes from ${utcLabel(from)} to ${utcLabel(to)} UTC; ` +
    `peak ${peak.count} mentions at ${utcLabel(peak.start)} UTC against ` +
    `${(peak.expected || 0).toFixed(1)} expected; ${anomalies} bucket(s) with anomalous windows; ` +
    `${(opts.incidents || []).length} incident(s) shaded.`;
}

// Negative share per bucket against the brand's usual share, on the same time axis.
export function drawSentiment(svg, series, opts) {
  const { buckets, step } = series;
  const f = frame(svg, opts.height || 110);
  const from = opts.from, to = opts.to;
  if (!buckets.length) return "";
  const x = (t) => f.left + ((f.width - f.left - f.right) * (t - from)) / Math.max(1, to - from);
  const y = (v) => f.height - f.bottom - (f.height - f.top - f.bottom) * v;
  const mid = (b) => x(b.start + step / 2);
  yAxis(svg, f, y, 1, (v) => `${Math.round(v * 100)}%`);
  xAxis(svg, f, x, from, to);
  // A share of two mentions is noise (one complaint = 50 %): such buckets break the line.
  const seen = buckets.filter((b) => b.count >= MIN_SHARE_MENTIONS);
  if (!seen.length) return `Too few mentions per bucket for a negative share (under ${MIN_SHARE_MENTIONS}).`;
  const segments = (f) => {
    let d = "", prev = null;
    for (const b of buckets) {
      if (b.count < MIN_SHARE_MENTIONS) { prev = null; continue; }
      d += `${prev ? "L" : "M"}${mid(b).toFixed(1)},${y(f(b)).toFixed(1)}`;
      prev = b;
    }
    return d;
  };
  svg.append(el("path", { d: segments((b) => b.negBaseline), class: "neg-base" }));
  svg.append(el("path", { d: segments((b) => b.negShare), class: "neg" }));
  const thin = (k) => (buckets[k]?.count ?? 0) < MIN_SHARE_MENTIONS;
  buckets.forEach((b, k) => { // a bucket between two thin ones has no line: a dot
    if (!thin(k) && thin(k - 1) && thin(k + 1)) {
      svg.append(el("circle", { cx: mid(b), cy: y(b.negShare), r: 2.2, class: "neg-dot" }));
    }
  });
  const counted = buckets.filter((b) => b.count > 0);
  const mentions = counted.reduce((s, b) => s + b.count, 0);
  const share = counted.reduce((s, b) => s + b.negShare * b.count, 0) / Math.max(1, mentions);
  const base = counted.reduce((s, b) => s + b.negBaseline * b.count, 0) / Math.max(1, mentions);
  return `Negative share ${Math.round(share * 100)}% over the range, usually ${Math.round(base * 100)}% ` +
    `(buckets with fewer than ${MIN_SHARE_MENTIONS} mentions left out).`;
}
