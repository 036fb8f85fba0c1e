// Checks many bundles with the site's verify.js under Node, in one process: reads a JSON array
// of bundles and prints a JSON array of "yes" or "no: <why>" ("no: [not a mismatch] …" when the
// script itself failed rather than naming what did not match).
const fs = require("fs");
const [script, file, vkey, recordId] = process.argv.slice(2);
const { verifyBundle, Mismatch } = require(script);
const bundles = JSON.parse(fs.readFileSync(file, "utf8"));
(async () => {
  const out = [];
  for (const bundle of bundles) {
    try { await verifyBundle(bundle, vkey, recordId); out.push("yes"); }
    catch (e) { out.push("no: " + (e instanceof Mismatch ? "" : "[not a mismatch] ") + e.message); }
  }
  process.stdout.write(JSON.stringify(out));
})();
