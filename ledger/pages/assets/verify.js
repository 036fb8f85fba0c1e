// Checks a record bundle in the reader's browser with WebCrypto, from docs/format.md alone: the
// checkpoint's Ed25519 signature by the publisher's key, every event's hash (formats v1 and v2,
// each v2 payload member against its commitment), every inclusion proof against the checkpoint
// root, that the events are this record's, in order, and not none; with a witness policy, that
// the checkpoint's cosignatures meet its quorum. Resolves to what it verified.
(function (root) {
  "use strict";
  class Mismatch extends Error {}
  const fail = (m) => { throw new Mismatch(m); };
  const enc = new TextEncoder();
  const b64d = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const b64e = (a) => btoa(String.fromCharCode(...a));
  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  // a withheld member's marker: {"withheld": {...}} and nothing else
  const isMarker = (v) => isObject(v) && Object.keys(v).length === 1 && isObject(v.withheld);
  const hex = (a) => Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
  const unhex = (s) => Uint8Array.from(s.match(/../g) || [], (h) => parseInt(h, 16));
  const cat = (...parts) => { const n = parts.reduce((t, p) => t + p.length, 0); const o = new Uint8Array(n); let i = 0; for (const p of parts) { o.set(p, i); i += p.length; } return o; };
  const sha = async (...parts) => new Uint8Array(await crypto.subtle.digest("SHA-256", cat(...parts)));
  const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  const canon = (v) => v === null || typeof v !== "object" ? JSON.stringify(v)
    : Array.isArray(v) ? "[" + v.map(canon).join(",") + "]"
    : "{" + Object.keys(v).sort().map((k) => JSON.stringify(k) + ":" + canon(v[k])).join(",") + "}";
  const PREFIX = enc.encode("provenance-ledger/event/v1\n"), PREFIX2 = enc.encode("provenance-ledger/event/v2\n");
  const MEMBER = enc.encode("provenance-ledger/member/v2\n");
  const HASHED_V2 = ["actor", "commitments", "contract", "prev_hash", "record_id", "recorded_at", "seq", "type"];
  const V1_KEYS = ["seq", "type", "record_id", "contract", "payload", "actor", "recorded_at", "prev_hash", "hash"];

  // What a purge may withhold, per contract (ledger/model/purge.py, PURGEABLE): never what the
  // record's status and history derive from (a notice's kind, what it lifts), never a member of
  // a removal notice.
  const MANIFEST = ["research_question", "abstract", "review_score", "source_grounded_claims", "claim_record_source", "quality", "note"];
  const NOTICE = ["reason", "reason_codes", "changes", "claim_ids"];
  const PURGEABLE = {
    "paper-manifest-v1.1": MANIFEST, "paper-manifest-v1.2": MANIFEST,
    "source-provenance-v1": ["report_artifact", "claim_lineage", "review_method"],
    "correction-record-v1": NOTICE, "correction-record-v1.1": NOTICE,
    "gate-evaluation-v1": ["reason", "evaluator", "artifacts"],
  };

  // Every withheld member (a marker in place of its value, no salt) must be one a purge may
  // withhold, and carry exactly the marker that the record's purge in the bundle gives: the
  // purge lists it and names a removal notice of the record before it. A purge after the
  // checkpoint cannot be shown: its marker is taken if its removal notice is after it too.
  function checkWithheld(envs, size) {
    const removals = new Map(), purges = new Map();
    for (const env of envs) {
      if (env.type === "notice.issued" && env.payload.kind === "removal" && !removals.has(env.payload.notice_id)) removals.set(env.payload.notice_id, env);
      if (env.type === "record.purged") purges.set(env.seq, env);
    }
    const covered = [];  // [env, member, where, marker] to find in the bundle's purges
    for (const env of envs) {
      if (!("commitments" in env)) continue;
      for (const n of Object.keys(env.commitments)) {
        if (env.salts[n] !== undefined) continue;
        const where = "event seq " + env.seq + ": payload member " + n, m = env.payload[n].withheld;
        const removalNotice = env.contract.startsWith("correction-record-") && env.payload.kind === "removal";
        if (!(PURGEABLE[env.contract] || []).includes(n) || removalNotice) fail(where + " is withheld, but no purge withholds it");
        if (!Number.isInteger(m.purge_seq) || !Number.isInteger(m.notice_seq)) fail(where + " is withheld with a malformed marker");
        if (m.purge_seq <= size) covered.push([env, n, where, m]);
        else if (!(size < m.notice_seq && m.notice_seq < m.purge_seq)) fail(where + " is withheld by a purge after the checkpoint whose removal notice is not after it");
      }
    }
    for (const [env, n, where, m] of covered) {
      const purge = purges.get(m.purge_seq), removal = removals.get(m.notice_id);
      if (!purge || !removal || purge.payload.notice_id !== m.notice_id || !(removal.seq < purge.seq)) fail(where + " is withheld but no removal notice's purge in the bundle covers it");
      const entry = (Array.isArray(purge.payload.purged) ? purge.payload.purged : []).find((x) => x && x.seq === env.seq);
      if (!entry || !Array.isArray(entry.members) || !entry.members.includes(n) || !(env.seq < removal.seq)) fail(where + " is withheld but purge seq " + purge.seq + " does not list it");
      const want = { notice_id: m.notice_id, notice_seq: removal.seq, purge_seq: purge.seq,
        effective_date: removal.payload.effective_date ?? null, reason: removal.payload.reason ?? null };
      if (n === "changes" && entry.changed !== undefined && entry.changed !== null) want.changed = entry.changed;
      if (canon({ withheld: want }) !== canon(env.payload[n])) fail(where + " is withheld with a marker that purge seq " + purge.seq + " does not give");
    }
  }

  // A marker naming a purge after the checkpoint cannot be checked against it (whoever serves
  // the bundle could write any notice id, date or reason into it): it is replaced by one that
  // says only that, {withheld: {after_checkpoint: size}}. On a correction's changes it also
  // carried the list of the members the changes set (emptied, the corrected members would read
  // as before the correction): widened to every member a manifest of the record has (but
  // record_id) and those it named. As Python's model.purge.as_checkable does.
  function asCheckable(envs, size) {
    const names = new Set();
    return envs.map((env) => {
      if (env.type === "record.published" || env.type === "record.revised") {
        for (const n of Object.keys(env.payload)) names.add(n);
      }
      if (!("commitments" in env)) return env;
      let payload = null;
      for (const n of Object.keys(env.payload)) {
        const v = env.payload[n];
        const m = isMarker(v) ? v.withheld : null;
        if (!m || !Number.isInteger(m.purge_seq) || !(m.purge_seq > size)) continue;
        const inner = { after_checkpoint: size };
        if (n === "changes" && env.type === "notice.issued") {
          const listed = Array.isArray(m.changed) ? m.changed.map(String) : [];
          inner.changed = Array.from(new Set([...names, ...listed])).filter((x) => x !== "record_id").sort();
        }
        payload = payload || Object.assign({}, env.payload);
        payload[n] = { withheld: inner };
      }
      return payload ? Object.assign({}, env, { payload: payload }) : env;
    });
  }

  // RFC 9162 section 2.1.3.2
  async function rootFromInclusion(index, size, leaf, proof) {
    if (!(index < size)) fail("leaf index " + index + " is outside a tree of size " + size);
    let fn = index, sn = size - 1, r = leaf;
    for (const p of proof) {
      if (sn === 0) fail("inclusion proof too long");
      if (fn % 2 === 1 || fn === sn) {
        r = await sha(new Uint8Array([1]), p, r);
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else { r = await sha(new Uint8Array([1]), r, p); }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    if (sn !== 0) fail("inclusion proof too short");
    return r;
  }

  async function checkMembers(env) {
    let withheld = 0;
    const names = Object.keys(env.commitments || {});
    if (!env.salts || typeof env.salts !== "object") fail("event seq " + env.seq + ": its salts are missing");
    if (Object.keys(env.payload).some((n) => !names.includes(n))) fail("event seq " + env.seq + ": a payload member is not committed to");
    if (Object.keys(env.salts).some((n) => !names.includes(n))) fail("event seq " + env.seq + ": a salt is stored for a member that has no value");
    for (const n of names) {
      if (!(n in env.payload)) fail("event seq " + env.seq + ": payload member " + n + " is missing");
      const salt = env.salts[n];
      if (salt === undefined) {
        const v = env.payload[n];
        if (!isMarker(v)) fail("event seq " + env.seq + ": payload member " + n + " has no salt");
        withheld += 1;
        continue;
      }
      if (!/^[0-9a-f]{32}$/.test(salt)) fail("event seq " + env.seq + ": the salt of " + n + " is malformed");
      const got = hex(await sha(MEMBER, unhex(salt), enc.encode(canon(n)), enc.encode(canon(env.payload[n]))));
      if (got !== env.commitments[n]) fail("event seq " + env.seq + ": payload member " + n + " does not match its commitment");
    }
    return withheld;
  }

  // C2SP tlog-cosignature (cosignature/v1) lines checked against a tlog-policy's witnesses,
  // then its quorum; resolves to the names of the witnesses whose cosignature verifies and the
  // latest time one of them cosigned, as YYYY-MM-DD HH:MM:SS UTC (a witness cosigns only a
  // checkpoint that extends the latest it has seen of the log).
  async function checkPolicy(text, lines, policy) {
    const byKey = new Map();
    for (const [wname, vkey] of policy.witnesses) {
      const parts = String(vkey).split("+"), raw = b64d(parts.slice(2).join("+"));
      if (raw.length !== 33 || raw[0] !== 4) fail("the policy's witness key " + wname + " is not a cosignature/v1 key");
      const pub = raw.slice(1);
      if (hex((await sha(enc.encode(parts[0] + "\n"), new Uint8Array([4]), pub)).slice(0, 4)) !== parts[1]) fail("the policy's witness key id of " + wname + " does not match its key");
      byKey.set(parts[0] + " " + parts[1], [wname, pub]);
    }
    const got = new Set();
    let latest = 0n;
    for (const line of lines) {
      const fields = line.split(" ");
      if (fields.length !== 3) continue;
      const raw = b64d(fields[2]);
      const entry = byKey.get(fields[1] + " " + hex(raw.slice(0, 4)));
      if (!entry) continue;
      if (raw.length !== 76) fail("the cosignature by " + entry[0] + " is malformed");
      let time = 0n;
      for (const b of raw.slice(4, 12)) time = time * 256n + BigInt(b);
      if (time === 0n) fail("the cosignature by " + entry[0] + " has no timestamp");
      const key = await crypto.subtle.importKey("raw", entry[1], { name: "Ed25519" }, false, ["verify"]);
      const message = enc.encode("cosignature/v1\ntime " + time.toString() + "\n" + text);
      if (!(await crypto.subtle.verify({ name: "Ed25519" }, key, raw.slice(12), message))) fail("the cosignature by " + entry[0] + " does not verify");
      got.add(entry[0]);
      if (time > latest) latest = time;
    }
    const groups = new Map(policy.groups.map(([n, k, members]) => [n, [k, members]]));
    const met = (n) => n === "none" || (groups.has(n) ? groups.get(n)[1].filter(met).length >= groups.get(n)[0] : got.has(n));
    const names = Array.from(got).sort();
    if (!met(policy.quorum)) fail("the checkpoint is cosigned by " + (names.length ? names.join(", ") : "none of the policy's witnesses") + "; the policy's quorum needs " + policy.describe);
    const at = new Date(Number(latest) * 1000).toISOString();
    return { names: names, at: at.slice(0, 10) + " " + at.slice(11, 19) + " UTC" };
  }

  async function verifyBundle(bundle, vkey, recordId, policy) {
    if (!bundle || typeof bundle !== "object" || bundle.format !== "provenance-ledger-bundle-v1") fail("the embedded bundle is not a record bundle");
    if (bundle.record_id !== recordId) fail("the embedded bundle is for " + bundle.record_id + ", not for " + recordId);
    if (!Array.isArray(bundle.events) || !bundle.events.length) fail("the embedded bundle has no events");
    const parts = String(vkey).split("+");
    const [name, idhex, keyb64] = [parts[0], parts[1], parts.slice(2).join("+")];
    const keyraw = b64d(keyb64);
    if (keyraw.length !== 33 || keyraw[0] !== 1) fail("the publisher key is not an Ed25519 key");
    const pub = keyraw.slice(1);
    if (hex((await sha(enc.encode(name + "\n"), new Uint8Array([1]), pub)).slice(0, 4)) !== idhex) fail("the publisher key id does not match the key");
    const note = String(bundle.checkpoint), cut = note.lastIndexOf("\n\n");
    if (cut < 0) fail("the checkpoint is not a signed note");
    const text = note.slice(0, cut + 1);
    const sigs = note.slice(cut + 2).split("\n").filter((l) => l.startsWith("\u2014 " + name + " "));
    if (!sigs.length) fail("the checkpoint carries no signature by " + name);
    const raw = b64d(sigs[0].split(" ")[2]);
    if (hex(raw.slice(0, 4)) !== idhex) fail("the checkpoint signature is by another key");
    const key = await crypto.subtle.importKey("raw", pub, { name: "Ed25519" }, false, ["verify"]);
    if (!(await crypto.subtle.verify({ name: "Ed25519" }, key, raw.slice(4), enc.encode(text)))) fail("the checkpoint signature does not verify against the publisher key " + name + "+" + idhex);
    const cosigned = policy ? await checkPolicy(text, note.slice(cut + 2).split("\n").filter(Boolean), policy) : null;
    const [origin, sizeText, rootText] = text.split("\n");
    if (origin !== name) fail("the checkpoint origin " + origin + " is not the publisher key " + name);
    const size = Number(sizeText), rootHash = b64d(rootText);
    let withheld = 0, last = 0;
    const events = [];
    for (const item of bundle.events) {
      const env = item.event, v2 = "commitments" in env;
      if (env.record_id !== recordId) fail("event seq " + env.seq + " is of " + env.record_id + ", not of " + recordId);
      if (!(env.seq > last)) fail("event seq " + env.seq + " is out of order");
      last = env.seq;
      let body;
      if (v2) {
        if (Object.keys(env).sort().join() !== V1_KEYS.concat(["salts", "commitments"]).sort().join()) fail("event seq " + env.seq + " is not an envelope");
        body = {};
        for (const k of HASHED_V2) body[k] = env[k];
        withheld += await checkMembers(env);
      } else {
        if (Object.keys(env).sort().join() !== V1_KEYS.slice().sort().join()) fail("event seq " + env.seq + " is not an envelope");
        body = Object.assign({}, env);
        delete body.hash;
      }
      const c = enc.encode(canon(body));
      if (hex(await sha(v2 ? PREFIX2 : PREFIX, c)) !== env.hash) fail("event seq " + env.seq + ": its hash does not match its content");
      if (item.index !== env.seq - 1) fail("event seq " + env.seq + ": wrong leaf index " + item.index);
      // Each proof hash strict base64 text, as Python's verify-bundle reads it (atob would also
      // take spaces, or an array holding the text)
      const proof = Array.isArray(item.proof) ? item.proof : [];
      if (!proof.every((h) => typeof h === "string" && h.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(h))) fail("event seq " + env.seq + ": its inclusion proof is malformed");
      const got = await rootFromInclusion(item.index, size, await sha(new Uint8Array([0]), c), proof.map(b64d));
      if (!same(got, rootHash)) fail("event seq " + env.seq + ": its inclusion proof gives root " + b64e(got) + ", the checkpoint says " + rootText);
      events.push(env);
    }
    checkWithheld(events, size);
    return { events: asCheckable(events, size), size: size, origin: origin, key: name + "+" + idhex, withheld: withheld,
      witnesses: cosigned && cosigned.names, witnessed_at: cosigned && cosigned.at,
      quorum: policy ? policy.describe : null };
  }

  const api = { verifyBundle, Mismatch, canon, PURGEABLE, asCheckable };
  root.LedgerVerify = api;
  if (typeof module !== "undefined" && module.exports) module.exports = api;
})(typeof globalThis !== "undefined" ? globalThis : this);
