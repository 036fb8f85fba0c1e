// A record page's content from a record's state and events, in JavaScript: the banner, the
// header, the sections and the timeline, exactly as ledger/pages/render.py and story.py write
// them (tests/test_fold_js.py compares the two models under Node), and the DOM built from them
// with text nodes only.
(function (root) {
  "use strict";
  const F = root.LedgerFold || (typeof require !== "undefined" ? require("./fold.js") : null);
  const GATE_WORDS = { UNVERIFIED: "Unverified", VERIFIED: "Verified", FAILED: "Failed", NOT_EVALUATED: "Not evaluated" };
  const DIMENSIONS = [["evidence_strength", "Evidence strength"], ["citation_grounding", "Citation grounding"],
    ["uncertainty_disclosure", "Uncertainty disclosure"], ["reproducibility_status", "Reproducibility status"]];
  const VERIFICATION_LABELS = { L1: "Literature synthesis", L2: "Source-grounded claims" };
  const PROVENANCE_LABELS = { L1: "Minimal record", L2: "Public artifact record", L3: "Claim aggregate record", L4: "External archival record" };
  const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
  const KIND_WORDS = { correction: "Correction", addendum: "Addendum", clarification: "Clarification",
    expression_of_concern: "Expression of concern", partial_retraction: "Partial retraction", retraction: "Retraction",
    withdrawal: "Withdrawal", removal: "Removal", reinstatement: "Reinstatement" };
  const BANNER_WORDS = { REMOVED: "This record was removed", RETRACTED: "This record was retracted",
    WITHDRAWN: "This record was withdrawn", UNDER_CONCERN: "This record is under an expression of concern",
    CORRECTED: "This record was corrected" };
  const STATUS_KINDS = { REMOVED: ["removal"], RETRACTED: ["retraction"], WITHDRAWN: ["withdrawal"],
    UNDER_CONCERN: ["expression_of_concern"], CORRECTED: ["correction", "partial_retraction"] };
  const isWithheld = F.isWithheld;
  const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
  const get = (o, k) => (o && has(o, k) ? o[k] : undefined);

  function describe(v) {
    const w = v.withheld || {};
    if (has(w, "after_checkpoint")) return "[withheld by a removal after the checkpoint of size " + w.after_checkpoint + "]";
    return "[withheld by removal notice " + w.notice_id + " (seq " + w.notice_seq + ") of " + w.effective_date +
      (w.reason ? ": " + w.reason : "") + "]";
  }
  const pyStr = (v) => (v === true ? "True" : v === false ? "False" : v === null || v === undefined ? "None" : String(v));
  const shownValue = (v) => (isWithheld(v) ? describe(v) : pyStr(v));
  const levelText = (level, labels) => level === "WITHHELD" ? "Withheld (what it is derived from was removed)"
    : has(labels, level) ? level + ", " + labels[level] : level;
  function date(iso) {
    if (isWithheld(iso)) return describe(iso);
    const [y, m, d] = iso.split("-").map(Number);
    return d + " " + MONTHS[m - 1] + " " + String(y).padStart(4, "0");
  }
  const changeText = (c) => c.path + " to " + F.canon(c.value);  // model.pointer.change_text
  const valueText = (v) => (v === null || v === undefined ? "(none)"
    : typeof v === "string" || isWithheld(v) ? shownValue(v) : F.canon(v));

  function headerRows(shown) {
    const m = shown.manifest, p = shown.provenance || {}, rows = [];
    if (m.submitted) rows.push(["Submitted", date(m.submitted)]);
    const score = get(m, "review_score");
    if (score !== undefined && score !== null) rows.push(["Review score", isWithheld(score) ? shownValue(score) : score.toFixed(2) + "/10"]);
    rows.push(["Verification", levelText(shown.verification_level, VERIFICATION_LABELS)]);
    const gate2 = shown.gates.find((g) => g.gate === 2);
    if (gate2) rows.push(["Gate status", GATE_WORDS[gate2.status] || gate2.status]);
    if (shown.quality_tier) rows.push(["Quality tier", levelText(shown.quality_tier, {})]);
    if (m.source_grounded_claims) rows.push(["Verified claims", shownValue(m.source_grounded_claims)]);
    const ident = (p.external_record || {}).identifier;
    if (ident && String(ident).startsWith("10.")) rows.push(["DOI", String(ident)]);
    return rows;
  }

  function gateRows(g) {
    const rows = [["Status", GATE_WORDS[g.status]], ["Gate", "Gate " + g.gate + " — " + g.name],
      ["Reason", shownValue(g.reason)], ["Evaluated", g.evaluated_at], ["Evaluator", shownValue(g.evaluator)],
      ["Independent", g.independent ? "Yes" : "No"]];
    if (isWithheld(g.artifacts)) return rows.concat([["Artifacts", shownValue(g.artifacts)]]);
    for (const a of g.artifacts) {
      const parts = [a.kind, a.uri || "", a.sha256 ? "sha256:" + a.sha256 : ""];
      rows.push(["Artifact", parts.filter((x) => x).join(" ")]);
    }
    return rows;
  }

  function earlierVersion(n, version) {  // model.labels.earlier_version
    const target = n.target_version;
    return Number.isInteger(target) && target !== version ? target : null;
  }

  function noticeRows(n, version) {
    const rows = [["Notice", n.notice_id], ["Kind", n.kind], ["Effective", n.effective_date], ["Issued by", n.issued_by]];
    const about = earlierVersion(n, version);  // about another version than the page shows
    if (about !== null) rows.push(["Target version", String(about)]);
    for (const [key, label] of [["doi", "Notice DOI"], ["url", "Notice URL"]]) if (n[key]) rows.push([label, String(n[key])]);
    if (n.reason) rows.push(["Reason", shownValue(n.reason)]);
    for (const [key, label] of [["reason_codes", "Reason codes"], ["claim_ids", "Claims"]]) {
      const v = n[key];
      if (v && (isWithheld(v) || v.length)) rows.push([label, isWithheld(v) ? shownValue(v) : v.join(", ")]);
    }
    if (n.lifts) rows.push(["Lifts", n.lifts]);
    const changes = n.changes || [];
    if (isWithheld(changes)) rows.push(["Changes", shownValue(changes)]);
    else for (const c of changes) rows.push(["Changed", changeText(c)]);
    if (!n.in_force) rows.push(["Lifted by", pyStr(n.lifted_by)]);
    return rows;
  }

  function provenanceRows(shown) {
    const p = shown.provenance || {}, note = shown.manifest.note;
    const artifact = p.report_artifact, external = p.external_record;
    const rows = [["Publisher", p.publisher], ["Public provenance", levelText(shown.provenance_level, PROVENANCE_LABELS)]];
    if (isWithheld(artifact)) rows.push(["Report artifact", shownValue(artifact)]);
    else {
      rows.push(["Report artifact", artifact.available ? "Available" : "Not available"]);
      if (artifact.uri) rows.push(["Report artifact URI", artifact.uri]);
      if (artifact.sha256) rows.push(["Report artifact SHA-256", artifact.sha256]);
    }
    rows.push(["External record", external.registered ? "Registered" : "Not registered"]);
    const ident = external.identifier;
    if (ident && !String(ident).startsWith("10.")) rows.push(["External identifier", String(ident)]);
    const lineage = p.claim_lineage;
    rows.push(["Claim lineage", isWithheld(lineage) ? shownValue(lineage) : lineage + " aggregate source-grounded claims"]);
    rows.push(["Review method", shownValue(p.review_method)], ["Provenance contract", "source-provenance-v1"]);
    if (note) rows.push(["Note", shownValue(note)]);
    return rows;
  }

  function sections(shown) {
    const m = shown.manifest;
    const out = [["Abstract", [["", shownValue(m.abstract)]]], ["Research Question", [["", shownValue(m.research_question)]]],
      ["Verification Level", [["Paper level", levelText(shown.verification_level, VERIFICATION_LABELS)],
        ["Source-grounded claims", shownValue(m.source_grounded_claims)], ["Claim record source", shownValue(m.claim_record_source)]]]];
    for (const g of shown.gates) if (g.evaluated) out.push(["Truth-Engine Gate Verdict", gateRows(g)]);
    const quality = m.quality;
    if (isWithheld(quality)) out.push(["Quality Tier", [["Tier", shownValue(quality)]]]);
    else if (quality) {
      out.push(["Quality Tier", [["Tier", quality.tier]].concat(quality.basis ? [["Basis", quality.basis]] : [])]);
      const dims = quality.dimensions || {};
      if (DIMENSIONS.some(([k]) => dims[k])) out.push(["Quality Dimensions", DIMENSIONS.filter(([k]) => dims[k]).map(([k, label]) => [label, dims[k]])]);
    }
    out.push(["Correction Record", [["Status", shown.status], ["Correction count", String(shown.correction_count)],
      ["Version", String(shown.version)]]
      .concat(m.doi ? [["Record DOI", shownValue(m.doi)]] : [])
      .concat([["Manifest contract", "doi" in m ? "paper-manifest-v1.2" : "paper-manifest-v1.1"],
        ["Correction contract", shown.notices.some((n) => n.doi || n.url) ? "correction-record-v1.1" : "correction-record-v1"]])]);
    if (shown.notices.length) out.push(["Correction Notices", [].concat(...shown.notices.map((n) => noticeRows(n, shown.version)))]);
    if (shown.provenance) out.push(["Provenance", provenanceRows(shown)]);
    else if (m.note) out.push(["Provenance", [["Note", shownValue(m.note)]]]);
    return out;
  }

  function banner(shown) {
    const status = shown.status, lines = [];
    const cause = shown.notices.slice().reverse().find((n) => n.in_force && (STATUS_KINDS[status] || []).includes(n.kind));
    if (cause) {
      const reason = cause.reason ? " Reason: " + valueText(cause.reason) : "";
      lines.push(KIND_WORDS[cause.kind] + " " + cause.notice_id + ", effective " + cause.effective_date + ", issued by " + cause.issued_by + "." + reason);
      const about = earlierVersion(cause, shown.version);  // as model.labels.notice_effects
      if (about !== null) lines.push("It is about version " + about + " of the record; this page shows version " + shown.version + ".");
      const changes = cause.changes, claims = cause.claim_ids;  // what it did, unless a removal withheld it
      if (Array.isArray(changes) && changes.length) lines.push("It changed " + changes.map(changeText).join("; ") + ".");
      if (Array.isArray(claims) && claims.length) lines.push("Claims retracted: " + claims.join(", ") + ".");
    }
    const byId = {};
    for (const n of shown.notices) byId[n.notice_id] = n;
    for (const n of shown.notices.filter((x) => !x.in_force)) {
      const lifter = byId[String(n.lifted_by)] || {};
      lines.push("Reinstated: " + KIND_WORDS[n.kind].toLowerCase() + " " + n.notice_id + " was lifted by " + n.lifted_by +
        ", effective " + (lifter.effective_date || "?") + ".");
    }
    if (!cause && !lines.length) return null;
    return { status: status, title: BANNER_WORDS[status] || "This record is current", lines: lines };
  }

  function at(doc, path) {
    for (const token of path.slice(1).split("/").map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"))) {
      if (doc && typeof doc === "object" && !Array.isArray(doc) && has(doc, token)) doc = doc[token];
      else if (Array.isArray(doc) && /^[0-9]+$/.test(token) && Number(token) < doc.length) doc = doc[Number(token)];
      else return null;
    }
    return doc;
  }

  function noticeSentence(p, manifest) {
    const kind = String(p.kind);
    let text = (KIND_WORDS[kind] || kind) + " " + pyStr(p.notice_id) + " issued by " + valueText(p.issued_by) + ", effective " + pyStr(p.effective_date);
    if (kind === "reinstatement") text += "; lifts " + pyStr(p.lifts);
    if (p.reason) text += ": " + valueText(p.reason);
    const changes = p.changes;
    if (kind === "correction" && isWithheld(changes)) text += " — its changes are " + valueText(changes);
    else if (kind === "correction" && changes && changes.length) {
      text += " — changed " + changes.map((c) => c.path + " from " + valueText(at(manifest, String(c.path))) + " to " + valueText(c.value)).join("; ");
      try { manifest = F.applyChanges(manifest, changes); } catch (e) { if (!(e instanceof F.FoldError)) throw e; }
    }
    return [text, manifest];
  }

  function timeline(events) {
    const items = [];
    let manifest = {}, versions = 0;
    for (const e of events) {
      const p = e.payload;
      let text;
      if (e.type === "record.published" || e.type === "record.revised") {
        versions += 1;
        text = (e.type === "record.published" ? "Published" : "Revised:") + " version " + versions + ": “" + valueText(p.title) + "”";
        manifest = p;
      } else if (e.type === "provenance.recorded") text = "Provenance recorded: publisher " + valueText(p.publisher);
      else if (e.type === "notice.issued") [text, manifest] = noticeSentence(p, manifest);
      else if (e.type === "gate.evaluated") text = "Gate " + pyStr(p.gate) + " (" + valueText(p.name) + ") evaluated " + pyStr(p.status) + " by " + valueText(p.evaluator) + ": " + valueText(p.reason);
      else if (e.type === "record.purged") {
        const purged = p.purged || [];
        text = "Purge for removal " + pyStr(p.notice_id) + ": " + purged.reduce((t, x) => t + (x.members || []).length, 0) + " member(s) of " + purged.length + " earlier event(s) withheld";
      } else text = e.type;
      items.push({ seq: e.seq, when: e.recorded_at, actor: e.actor, text: text, hash: e.hash });
    }
    return items;
  }

  function model(shown, events) {
    return { banner: banner(shown), header: headerRows(shown), sections: sections(shown), timeline: timeline(events) };
  }

  // Text for the page: each bidirectional embedding, override and isolate (which would reorder
  // the words the page writes after a stored value) as a visible escape, as webpage.py writes it.
  const bidiVisible = (text) => text.replace(/[\u202a-\u202e\u2066-\u2069]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));

  // The page's title in the browser (its tab, bookmark and history): webpage.page_title.
  const pageTitle = (shown) => bidiVisible(shown.record_id + " \u2014 " + shownValue(shown.manifest.title));

  // The status pill's class and text (webpage.status_pill): a stale one, on a site's page whose
  // later events give the record another status, says it is the status at the checkpoint.
  const statusPill = (status, stale) => (stale ? ["status status-stale", "Status at the checkpoint: " + status]
    : ["status status-" + status.toLowerCase(), "Status: " + status]);

  // The DOM of a model: the same elements ledger/pages/webpage.py writes, text nodes only.
  function build(doc, shown, m, stale) {
    const el = (tag, attrs, ...kids) => {
      const node = doc.createElement(tag);
      for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
      for (const kid of kids) node.append(typeof kid === "string" ? bidiVisible(kid) : kid);
      return node;
    };
    const out = el("div", { id: "record" }), pill = statusPill(shown.status, stale);
    const banner = m.banner ? el("section", { class: "banner banner-" + m.banner.status.toLowerCase(), role: "note" },
      el("h2", {}, m.banner.title), ...m.banner.lines.map((l) => el("p", {}, l))) : null;
    const dl = el("dl", { class: "head" });
    for (const [label, value] of m.header) dl.append(el("dt", {}, label), el("dd", {}, value));
    out.append(el("header", {}, el("p", { class: "rid" }, shown.record_id), el("h1", {}, shownValue(shown.manifest.title)),
      el("p", { class: pill[0] }, pill[1]), dl));
    for (const [heading, rows] of m.sections) {
      const section = el("section", {}, el("h2", {}, heading));
      for (const [label, value] of rows) if (!label) for (const para of value.split("\n\n")) section.append(el("p", {}, para));
      const tables = [];  // one, or one a notice, as webpage.py's tables()
      for (const row of rows.filter(([label]) => label)) {
        if (!tables.length || row[0] === "Notice") tables.push([]);
        tables[tables.length - 1].push(row);
      }
      for (const table of tables) section.append(el("table", {}, ...table.map(([label, value]) => el("tr", {}, el("th", { scope: "row" }, label), el("td", {}, value)))));
      out.append(section);
    }
    if (m.timeline.length) {
      const list = el("ol", { class: "timeline" });
      for (const item of m.timeline) {
        list.append(el("li", {}, el("div", { class: "when" }, "seq " + item.seq + " · " + item.when + " · " + item.actor),
          el("div", { class: "what" }, item.text),
          el("details", { class: "hash" }, el("summary", {}, "Event hash"), el("code", {}, item.hash))));
      }
      out.append(el("section", {}, el("h2", {}, "History"), list));
    }
    return { banner: banner, record: out, title: pageTitle(shown) };
  }

  const api = { model, build, statusPill, headerRows, sections, banner, timeline, describe, bidiVisible, pageTitle };
  root.LedgerPage = api;
  if (typeof module !== "undefined" && module.exports) module.exports = api;
})(typeof globalThis !== "undefined" ? globalThis : this);
