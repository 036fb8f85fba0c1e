// Folds histories with the site's fold.js under Node: reads a JSON array of histories (each a
// list of event envelopes, oldest first) and prints a JSON array of `show` objects (or errors).
const fs = require("fs");
const fold = require(process.argv[2]);
const histories = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const out = histories.map((events) => {
  try { return { shown: fold.foldRecord(events), canonical: fold.canon(fold.foldRecord(events)) }; }
  catch (e) { return { error: String(e.message) }; }
});
process.stdout.write(JSON.stringify(out));
