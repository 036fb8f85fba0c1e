// Folds histories with the site's fold.js and makes their page models with page.js, under Node:
// reads a JSON array of histories (each a list of event envelopes, oldest first) and prints a
// JSON array of {canonical show object, page model, page title} (or errors).
const fs = require("fs");
const path = require("path");
const fold = require(path.join(process.argv[2], "fold.js"));
const page = require(path.join(process.argv[2], "page.js"));
const verify = require(path.join(process.argv[2], "verify.js"));
const histories = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
// A history is a list of events, or {events, size}: the events a bundle against a checkpoint of
// that size holds, folded as verify.js hands them to the page (asCheckable).
const out = histories.map((history) => {
  try {
    const events = Array.isArray(history) ? history : verify.asCheckable(history.events, history.size);
    const shown = fold.foldRecord(events);
    return { canonical: fold.canon(shown), model: page.model(shown, events), title: page.pageTitle(shown) };
  } catch (e) { return { error: String(e.stack || e.message) }; }
});
process.stdout.write(JSON.stringify(out));
