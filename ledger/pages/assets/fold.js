// The ledger's derivation rules in JavaScript: a record's state from its verified events, the
// same object `ledger show --json` gives (ledger/model/state.py and ledger/storage/views.py are
// the reference; tests/test_fold_js.py compares the two on generated histories under Node).
(function (root) {
  "use strict";
  const STATUS_ORDER = ["CURRENT", "CORRECTED", "UNDER_CONCERN", "WITHDRAWN", "RETRACTED", "REMOVED"];
  const KIND_STATUS = {
    correction: "CORRECTED", partial_retraction: "CORRECTED", expression_of_concern: "UNDER_CONCERN",
    withdrawal: "WITHDRAWN", retraction: "RETRACTED", removal: "REMOVED",
  };
  const DEFAULT_GATES = { 2: "Verification (formal proof or sandbox reproduction)" };
  const ADDABLE = new Set([
    "/note", "/review_score", "/quality", "/quality/basis", "/quality/dimensions",
    "/quality/dimensions/evidence_strength", "/quality/dimensions/citation_grounding",
    "/quality/dimensions/uncertainty_disclosure", "/quality/dimensions/reproducibility_status",
  ]);
  const WITHHELD = "WITHHELD";

  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  const isWithheld = (v) => isObject(v) && Object.keys(v).length === 1 && isObject(v.withheld);
  const copy = (v) => (v === undefined ? v : JSON.parse(JSON.stringify(v)));

  class FoldError extends Error {}

  function tokens(path) {
    if (typeof path !== "string" || !path.startsWith("/")) throw new FoldError("bad JSON Pointer " + path);
    return path.slice(1).split("/").map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
  }

  function index(node, token, path) {
    if (!/^(0|[1-9][0-9]*)$/.test(token) || Number(token) >= node.length) throw new FoldError("no " + path);
    return Number(token);
  }

  // ledger/model/pointer.py apply_changes: each path must exist, or be an addable optional member
  function applyChanges(manifest, changes) {
    const result = copy(manifest);
    for (const change of changes) {
      const path = String(change.path), parts = tokens(path);
      if (parts.length === 1 && parts[0] === "record_id") throw new FoldError("/record_id cannot change");
      let parent = result;
      for (let depth = 0; depth < parts.length - 1; depth++) {
        const token = parts[depth];
        if (Array.isArray(parent)) parent = parent[index(parent, token, path)];
        else if (isObject(parent)) {
          if (!(token in parent)) {
            if (!ADDABLE.has("/" + parts.slice(0, depth + 1).join("/"))) throw new FoldError("no " + path);
            parent[token] = {};
          }
          parent = parent[token];
        } else throw new FoldError("no " + path);
      }
      const last = parts[parts.length - 1];
      if (Array.isArray(parent)) parent[index(parent, last, path)] = copy(change.value);
      else if (isObject(parent)) {
        if (!(last in parent) && !ADDABLE.has(path)) throw new FoldError("no " + path);
        parent[last] = copy(change.value);
      } else throw new FoldError("no " + path);
    }
    return result;
  }

  function provenanceLevel(facts) {
    if (!facts) return "L1";
    for (const [name, level] of [["external_record", "L4"], ["claim_lineage", "L3"], ["report_artifact", "L2"]]) {
      const value = facts[name];
      if (isWithheld(value)) return WITHHELD;
      if (level === "L4" ? value.registered : level === "L3" ? value > 0 : value.available) return level;
    }
    return "L1";
  }

  // Fold a record's events (envelopes, oldest first) into the `show` object.
  function foldRecord(events) {
    if (!events.length) throw new FoldError("no events");
    const recordId = events[0].record_id;
    const versions = [], notices = [], gates = {};
    let manifest = null, provenance = null, last = null;
    for (const e of events) {
      if (e.record_id !== recordId) throw new FoldError("event seq " + e.seq + " is of another record");
      const p = e.payload;
      if (e.type === "record.published" || e.type === "record.revised") {
        versions.push(e.seq);
        manifest = copy(p);
      } else if (e.type === "provenance.recorded") {
        provenance = copy(p);
      } else if (e.type === "notice.issued") {
        const notice = { payload: copy(p), seq: e.seq, recorded_at: e.recorded_at, in_force: true, lifted_by: null };
        if (p.kind === "correction" && isWithheld(p.changes)) {
          const inner = Object.assign({}, p.changes.withheld);
          delete inner.changed;
          manifest = Object.assign({}, manifest);
          for (const name of p.changes.withheld.changed || []) manifest[name] = { withheld: copy(inner) };
        } else if (p.kind === "correction" && Array.isArray(p.changes) && p.changes.length) {
          manifest = applyChanges(manifest, p.changes);
        }
        if (p.kind === "reinstatement") {
          const lifted = notices.find((n) => n.payload.notice_id === p.lifts);
          if (lifted) { lifted.in_force = false; lifted.lifted_by = p.notice_id; }
        }
        notices.push(notice);
      } else if (e.type === "gate.evaluated") {
        gates[p.gate] = { seq: e.seq, payload: copy(p) };
      } else if (e.type !== "record.purged") {
        throw new FoldError("event seq " + e.seq + " has an unknown type " + e.type);
      }
      last = e;
    }
    if (!versions.length) throw new FoldError("the record has no published version");
    let rank = 0;
    for (const n of notices) {
      const status = KIND_STATUS[n.payload.kind];
      if (n.in_force && status) rank = Math.max(rank, STATUS_ORDER.indexOf(status));
    }
    const claims = "source_grounded_claims" in manifest ? manifest.source_grounded_claims : 0;
    const quality = manifest.quality;
    const numbers = new Set([...Object.keys(gates).map(Number), ...Object.keys(DEFAULT_GATES).map(Number)]);
    return {
      record_id: recordId,
      version: versions.length,
      status: STATUS_ORDER[rank],
      correction_count: notices.length,
      verification_level: isWithheld(claims) ? WITHHELD : claims > 0 ? "L2" : "L1",
      provenance_level: provenanceLevel(provenance),
      quality_tier: isWithheld(quality) ? WITHHELD : quality ? String(quality.tier) : null,
      gates: [...numbers].sort((a, b) => a - b).map((g) => {
        const r = gates[g];
        if (!r) return { gate: g, name: DEFAULT_GATES[g] || "Gate " + g, status: "NOT_EVALUATED", evaluated: false };
        const p = r.payload;
        return { gate: g, name: p.name, status: p.status, evaluated: true, reason: p.reason,
                 evaluated_at: p.evaluated_at, evaluator: p.evaluator, independent: Boolean(p.independent),
                 artifacts: "artifacts" in p ? p.artifacts : [], seq: r.seq };
      }),
      manifest: manifest,
      provenance: provenance,
      notices: notices.map((n) => {
        const out = Object.assign({}, n.payload);
        delete out.record_id;
        return Object.assign(out, { seq: n.seq, recorded_at: n.recorded_at, in_force: n.in_force, lifted_by: n.lifted_by });
      }),
      last_event: { seq: last.seq, hash: last.hash, recorded_at: last.recorded_at },
    };
  }

  // RFC 8785 for the values the ledger stores (ECMAScript number and string forms).
  const canon = (v) => v === null || typeof v !== "object" ? JSON.stringify(v)
    : Array.isArray(v) ? "[" + v.map(canon).join(",") + "]"
    : "{" + Object.keys(v).sort().map((k) => JSON.stringify(k) + ":" + canon(v[k])).join(",") + "}";

  const api = { foldRecord, applyChanges, provenanceLevel, isWithheld, canon, FoldError, STATUS_ORDER };
  root.LedgerFold = api;
  if (typeof module !== "undefined" && module.exports) module.exports = api;
})(typeof globalThis !== "undefined" ? globalThis : this);
