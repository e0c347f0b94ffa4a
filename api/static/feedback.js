// Who was talking in an incident, and the team's verdict on it: "useful" or "noise"
// (POST /alerts/{id}/feedback). A pattern marked noise is not paged again for the
// brand, and the reports count the verdicts as precision per brand and kind.

import { post } from "./api.js";
import { $, h, num, pct, when } from "./dom.js";

// The incident's support: distinct authors and voices, retweets, own posts, spam.
export function supportList(x) {
  const s = x.support;
  if (!s) return h("p", { class: "muted" }, "Not recorded for this incident.");
  const row = (term, value) => h("div", {}, h("dt", {}, term), h("dd", {}, value));
  return h("div", {},
    x.quiet_reason ? h("p", { class: "quiet-reason", id: "detail-quiet" }, `Not paged: ${x.quiet_reason}.`) : "",
    h("dl", { class: "figures support", id: "detail-support" },
      row("authors", num(s.authors)),
      row("people in their own words", num(s.voices)),
      row("retweets", pct(s.retweet_share)),
      row("the brand's own", pct(s.own_share)),
      row("spam-like", `${pct(s.spam_share)} (${num(s.spam_authors)} accounts)`)));
}

// The team's latest verdict on the incident (the incident document carries it).
export function verdictText(v) {
  return v
    ? h("p", { id: "detail-verdict-text" }, h("strong", {}, v.verdict), v.reason ? ` (${v.reason})` : "",
      ` by ${v.actor || "someone"}, ${when(v.at)}`, v.note ? `: ${v.note}` : "",
      v.verdict === "noise" && v.pattern.terms.length
        ? h("span", { class: "muted" }, ` · later incidents with ${v.pattern.terms.join(", ")} are not paged`) : "")
    : h("p", { class: "muted", id: "detail-verdict-text" }, "Not judged yet: was this worth a page?");
}

export function giveVerdict(id, verdict, actor, note) {
  const reason = verdict === "noise" ? $("verdict-reason").value : null;
  return post(`/alerts/${encodeURIComponent(id)}/feedback`, { verdict, reason, actor, note: note || null });
}
