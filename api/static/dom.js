// DOM building and formatting shared by the views. Text always goes in as text nodes,
// never as HTML: mentions are written by strangers.

import { utcLabel } from "./chart.js";

export const $ = (id) => document.getElementById(id);

// h("li", {class: "x", onclick: fn}, "text", child, [more children]) -> element
export function h(tag, attrs = {}, ...children) {
  const node = tag === "svg" ? document.createElementNS("http://www.w3.org/2000/svg", tag)
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export const num = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US"));
export const pct = (x) => (x === null || x === undefined ? "–" : `${Math.round(x * 100)}%`);
export const when = (t) => (t ? `${utcLabel(t)} UTC` : "–");

export function duration(s) {
  if (s === null || s === undefined) return "–";
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ""}`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
  if (s < 86400 * 365) return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
  return `${(s / (86400 * 365.25)).toFixed(1)} years`;
}

export function badge(severity) {
  return h("span", { class: `badge sev-${severity}` }, severity);
}

// What a person needs to know about an incident's response clock, now.
export function slaText(alert, now = Date.now() / 1000) {
  const sla = alert.sla || {};
  const missed = sla.breaches ? ` · ${sla.breaches} deadline(s) missed` : "";
  if (alert.state === "resolved" || alert.detector_state === "resolved") {
    return { text: `resolved: no response clock${missed}`, cls: "sla-done" };
  }
  if (sla.acknowledged_at) return { text: `acknowledged ${when(sla.acknowledged_at)}${missed}`, cls: "sla-done" };
  if (sla.respond_by) {
    const left = sla.respond_by - now;
    return left > 0
      ? { text: `respond within ${clock(left)}${missed}`, cls: "sla-running" }
      : { text: `response overdue by ${clock(-left)}${missed}`, cls: "sla-overdue" };
  }
  return { text: `no response clock${missed}`, cls: missed ? "sla-overdue" : "sla-none" };
}

function clock(s) {
  s = Math.floor(s);
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

// Polite announcements for screen readers (new incidents, actions done).
export function announce(text) {
  const region = $("announcer");
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 50);
}
