"""Static assets of rendered pages and the site: CSS, and the in-browser verifier."""

PAGE_CSS = """
body{font:16px/1.55 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;background:#f6f7f9;margin:0}
main{max-width:860px;margin:0 auto;padding:24px 28px 64px;background:#fff;min-height:100vh}
.rid{font:600 13px ui-monospace,monospace;color:#5b6475;margin:0}
h1{font-size:24px;line-height:1.3;margin:6px 0 12px}
h2{font-size:15px;text-transform:uppercase;letter-spacing:.06em;color:#3b4458;border-bottom:1px solid #e3e6ec;padding-bottom:4px;margin-top:28px}
dl.head{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
dt{color:#5b6475}dd{margin:0;font-weight:500}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:5px 8px;border-bottom:1px solid #eef0f4}
th{width:34%;color:#5b6475;font-weight:500}
.status{display:inline-block;font:600 12px ui-monospace,monospace;padding:3px 8px;border-radius:4px;background:#e7f5ec;color:#17623a}
.status-corrected{background:#fff6e0;color:#7a5200}.status-under_concern{background:#fff0e0;color:#8a3b00}
.status-withdrawn,.status-retracted,.status-removed{background:#fde8e8;color:#9b1c1c}
"""

SITE_CSS = """
.verify{margin:16px 0;padding:12px 14px;border-radius:6px;font-weight:600;background:#eef1f6;color:#3b4458}
.verify.ok{background:#e7f5ec;color:#17623a}.verify.fail{background:#fde8e8;color:#9b1c1c}
.verify small{display:block;font-weight:400;margin-top:4px;color:inherit;opacity:.85}
ol.timeline{list-style:none;padding:0;margin:0;border-left:2px solid #d5dae3}
ol.timeline li{position:relative;padding:6px 0 10px 18px}
ol.timeline li::before{content:"";position:absolute;left:-6px;top:12px;width:10px;height:10px;border-radius:50%;background:#5b6475}
ol.timeline .when{font:12px ui-monospace,monospace;color:#5b6475}
ol.timeline .what{font-weight:600}ol.timeline .hash{font:11px ui-monospace,monospace;color:#8a93a5;word-break:break-all}
nav.crumbs{font-size:14px;margin-bottom:8px}
main.wide{max-width:1200px}.later{font-size:14px;color:#7a5200;margin:-8px 0 12px}
.controls{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.controls input,.controls select{font:inherit;padding:6px 8px;border:1px solid #c9cfda;border-radius:4px}
table.index th{cursor:pointer;user-select:none;white-space:nowrap;width:auto}
table.index td:nth-child(2){min-width:340px}
table.index th[aria-sort=ascending]::after{content:" ▲"}table.index th[aria-sort=descending]::after{content:" ▼"}
table.index td.rid{font:13px ui-monospace,monospace;white-space:nowrap}
"""

VERIFY_JS = r"""
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
    const prefix = enc.encode("provenance-ledger/event/v1\n");
    for (const item of bundle.events) {
      const env = item.event, body = Object.assign({}, env);
      delete body.hash;
      const c = enc.encode(canon(body));
      if (hex(await sha(prefix, c)) !== env.hash) fail("event seq " + env.seq + ": its hash does not match its content");
      if (item.index !== env.seq - 1) fail("event seq " + env.seq + ": wrong leaf index " + item.index);
      const got = await rootFromInclusion(item.index, size, await sha(new Uint8Array([0]), c), item.proof.map(b64d));
      if (!same(got, root)) fail("event seq " + env.seq + ": its inclusion proof gives root " + b64e(got) + ", the checkpoint says " + rootText);
    }
    say(true, "Verified against checkpoint of size " + size, bundle.events.length + " event(s): every hash and inclusion proof matches the checkpoint signed by " + name + "+" + idhex + ", computed in this browser.");
  } catch (e) {
    say(false, "Verification failed: " + (e instanceof Mismatch ? e.message : "the embedded bundle is damaged (" + e.message + ")"));
  }
})();
"""

INDEX_JS = r"""
(() => {
  const table = document.querySelector("table.index"), body = table.tBodies[0];
  const rows = Array.from(body.rows), q = document.getElementById("q"), st = document.getElementById("status");
  const filter = () => {
    const text = q.value.toLowerCase(), status = st.value;
    let shown = 0;
    for (const r of rows) {
      const ok = (!text || r.textContent.toLowerCase().includes(text)) && (!status || r.dataset.status === status);
      r.hidden = !ok; shown += ok;
    }
    document.getElementById("count").textContent = shown + " of " + rows.length + " records";
  };
  q.addEventListener("input", filter); st.addEventListener("change", filter);
  table.querySelectorAll("th").forEach((th, i) => th.addEventListener("click", () => {
    const dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    table.querySelectorAll("th").forEach((h) => h.removeAttribute("aria-sort"));
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    rows.sort((a, b) => dir * a.cells[i].dataset.key.localeCompare(b.cells[i].dataset.key, undefined, {numeric: true}));
    rows.forEach((r) => body.appendChild(r));
  }));
  filter();
})();
"""
