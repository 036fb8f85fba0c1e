// Runs the site's verify.js under Node with a minimal document: the page's embedded bundle and
// verifier key in, the status element's class and text out (printed as JSON).
const fs = require("fs");
const [script, bundleFile, vkey] = process.argv.slice(2);
const status = { className: "", textContent: "", appendChild(c) { this.textContent += " " + c.textContent; } };
const els = { bundle: { textContent: fs.readFileSync(bundleFile, "utf8") }, vkey: { textContent: vkey }, "verify-status": status };
globalThis.document = { getElementById: (id) => els[id] || null, createElement: () => ({ textContent: "" }), body: { dataset: {} } };
globalThis.atob = (s) => Buffer.from(s, "base64").toString("binary");
globalThis.btoa = (s) => Buffer.from(s, "binary").toString("base64");
eval(fs.readFileSync(script, "utf8"));
setTimeout(() => console.log(JSON.stringify({ cls: status.className, text: status.textContent, verified: document.body.dataset.verified })), 500);
