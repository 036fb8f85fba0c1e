
(async () => {
  const out = document.getElementById("verify-status");
  const say = (ok, text, detail) => {
    out.className = "verify " + (ok ? "ok" : "fail");
    out.textContent = text;
    if (detail) { const s = document.createElement("small"); s.textContent = detail; out.appendChild(s); }
    document.body.dataset.verified = ok ? "yes" : "no";
  };
  class Mismatch extends Error {}
  const fail = (m) => { throw new Mismatch(m); };
  const enc = new TextEncoder();
  const b64d = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const b64e = (a) => btoa(String.fromCharCode(...a));
  const hex = (a) => Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
  const cat = (...parts) => { const n = parts.reduce((t, p) => t + p.length, 0); const o = new Uint8Array(n); let i = 0; for (const p of parts) { o.set(p, i); i += p.length; } return o; };
  const sha = async (...parts) => new Uint8Array(await crypto.subtle.digest("SHA-256", cat(...parts)));
  const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  // RFC 8785: ECMAScript JSON.stringify for scalars, keys sorted by UTF-16 code units.
  const canon = (v) => v === null || typeof v !== "object" ? JSON.stringify(v)
    : Array.isArray(v) ? "[" + v.map(canon).join(",") + "]"
    : "{" + Object.keys(v).sort().map((k) => JSON.stringify(k) + ":" + canon(v[k])).join(",") + "}";
  // RFC 9162 section 2.1.3.2
  const rootFromInclusion = async (index, size, leaf, proof) => {
    if (index >= size) fail("leaf index " + index + " is outside a tree of size " + size);
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
  };
  try {
    const el = document.getElementById("bundle");
    if (!el) { say(false, "Not verifiable: this page was published without a signed checkpoint."); return; }
    const bundle = JSON.parse(el.textContent);
    const vkey = document.getElementById("vkey").textContent.trim();
    const [name, idhex, keyb64] = [vkey.split("+")[0], vkey.split("+")[1], vkey.split("+").slice(2).join("+")];
    const keyraw = b64d(keyb64);
    if (keyraw.length !== 33 || keyraw[0] !== 1) fail("the publisher key is not an Ed25519 key");
    const pub = keyraw.slice(1);
    if (hex((await sha(enc.encode(name + "\n"), new Uint8Array([1]), pub)).slice(0, 4)) !== idhex) fail("the publisher key id does not match the key");
    const note = bundle.checkpoint, cut = note.lastIndexOf("\n\n");
    if (cut < 0) fail("the checkpoint is not a signed note");
    const text = note.slice(0, cut + 1);
    const sigs = note.slice(cut + 2).split("\n").filter((l) => l.startsWith("\u2014 " + name + " "));
    if (!sigs.length) fail("the checkpoint carries no signature by " + name);
    const raw = b64d(sigs[0].split(" ")[2]);
    if (hex(raw.slice(0, 4)) !== idhex) fail("the checkpoint signature is by another key");
    const key = await crypto.subtle.importKey("raw", pub, { name: "Ed25519" }, false, ["verify"]);
    if (!(await crypto.subtle.verify({ name: "Ed25519" }, key, raw.slice(4), enc.encode(text)))) fail("the checkpoint signature does not verify against the publisher key " + name + "+" + idhex);
    const [origin, sizeText, rootText] = text.split("\n");
    if (origin !== name) fail("the checkpoint origin " + origin + " is not the publisher key " + name);
    const size = Number(sizeText), root = b64d(rootText);
    const prefix = enc.encode("provenance-ledger/event/v1\n"), prefix2 = enc.encode("provenance-ledger/event/v2\n");
    const memberPrefix = enc.encode("provenance-ledger/member/v2\n");
    const unhex = (s) => Uint8Array.from(s.match(/../g) || [], (h) => parseInt(h, 16));
    let withheld = 0;
    for (const item of bundle.events) {
      const env = item.event, v2 = "commitments" in env;
      let body;
      if (v2) {  // format v2: the envelope commits to each payload member (docs/format.md)
        body = {};
        for (const k of ["actor", "commitments", "contract", "prev_hash", "record_id", "recorded_at", "seq", "type"]) body[k] = env[k];
        const names = Object.keys(env.commitments);
        if (Object.keys(env.payload).some((n) => !names.includes(n))) fail("event seq " + env.seq + ": a payload member is not committed to");
        for (const n of names) {
          if (!(n in env.payload)) fail("event seq " + env.seq + ": payload member " + n + " is missing");
          const salt = env.salts[n];
          if (salt === undefined) {
            const v = env.payload[n];
            if (!v || typeof v !== "object" || !v.withheld) fail("event seq " + env.seq + ": payload member " + n + " has no salt");
            withheld += 1;
            continue;
          }
          if (!/^[0-9a-f]{32}$/.test(salt)) fail("event seq " + env.seq + ": the salt of " + n + " is malformed");
          const got = hex(await sha(memberPrefix, unhex(salt), enc.encode(canon(n)), enc.encode(canon(env.payload[n]))));
          if (got !== env.commitments[n]) fail("event seq " + env.seq + ": payload member " + n + " does not match its commitment");
        }
      } else {
        body = Object.assign({}, env);
        delete body.hash;
      }
      const c = enc.encode(canon(body));
      if (hex(await sha(v2 ? prefix2 : prefix, c)) !== env.hash) fail("event seq " + env.seq + ": its hash does not match its content");
      if (item.index !== env.seq - 1) fail("event seq " + env.seq + ": wrong leaf index " + item.index);
      const got = await rootFromInclusion(item.index, size, await sha(new Uint8Array([0]), c), item.proof.map(b64d));
      if (!same(got, root)) fail("event seq " + env.seq + ": its inclusion proof gives root " + b64e(got) + ", the checkpoint says " + rootText);
    }
    say(true, "Verified against checkpoint of size " + size, bundle.events.length + " event(s): every hash and inclusion proof matches the checkpoint signed by " + name + "+" + idhex + ", computed in this browser." + (withheld ? " " + withheld + " payload member(s) are withheld by a removal." : ""));
  } catch (e) {
    say(false, "Verification failed: " + (e instanceof Mismatch ? e.message : "the embedded bundle is damaged (" + e.message + ")"));
  }
})();
