// Checks a bundle with the site's verify.js under Node (its WebCrypto is the browser's API):
// prints {"verified": "yes", ...what it covers} or {"verified": "no", "text": why}.
const fs = require("fs");
const [script, bundleFile, vkey, recordId] = process.argv.slice(2);
const { verifyBundle, Mismatch } = require(script);
verifyBundle(JSON.parse(fs.readFileSync(bundleFile, "utf8")), vkey, recordId).then(
  (v) => console.log(JSON.stringify({ verified: "yes", events: v.events.length, size: v.size, origin: v.origin, key: v.key, withheld: v.withheld })),
  (e) => console.log(JSON.stringify({ verified: "no", mismatch: e instanceof Mismatch, text: String(e.message) })));
