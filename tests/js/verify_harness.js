// Checks a bundle with the site's verify.js under Node (its WebCrypto is the browser's API):
// prints {"verified": "yes", ...what it covers} or {"verified": "no", "text": why}; an optional
// fifth argument is a file holding the witness policy a site page embeds.
const fs = require("fs");
const [script, bundleFile, vkey, recordId, policyFile] = process.argv.slice(2);
const { verifyBundle, Mismatch } = require(script);
const policy = policyFile ? JSON.parse(fs.readFileSync(policyFile, "utf8")) : undefined;
verifyBundle(JSON.parse(fs.readFileSync(bundleFile, "utf8")), vkey, recordId, policy).then(
  (v) => console.log(JSON.stringify({ verified: "yes", events: v.events.length, size: v.size, origin: v.origin, key: v.key, withheld: v.withheld, witnesses: v.witnesses, witnessed_at: v.witnessed_at, payloads: v.events.map((e) => e.payload) })),
  (e) => console.log(JSON.stringify({ verified: "no", mismatch: e instanceof Mismatch, text: String(e.message) })));
