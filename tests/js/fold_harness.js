// Folds histories with the site's fold.js and makes their page models with page.js, under Node:
// reads a JSON array of histories (each a list of event envelopes, oldest first) and prints a
// JSON array of {canonical show object, page model} (or errors).
const fs = require("fs");
const path = require("path");
const fold = require(path.join(process.argv[2], "fold.js"));
const page = require(path.join(process.argv[2], "page.js"));
const histories = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const out = histories.map((events) => {
  try {
    const shown = fold.foldRecord(events);
    return { canonical: fold.canon(shown), model: page.model(shown, events) };
  } catch (e) { return { error: String(e.stack || e.message) }; }
});
process.stdout.write(JSON.stringify(out));
