// A record page: verify the embedded bundle (verify.js), fold the verified events into the
// record's state (fold.js), build the page from that state (page.js) and show it in place of the
// text the page was served with, saying so prominently if the two differ.
(function () {
  "use strict";
  const main = document.querySelector("main[data-record-id]");
  const badge = document.getElementById("verify-status");
  const vkeyEl = document.getElementById("vkey");
  if (!main || !badge || !vkeyEl) return;  // no checkpoint: the badge says so
  const recordId = main.dataset.recordId;
  const say = (kind, strong, detail) => {
    badge.className = "verify " + kind;
    badge.setAttribute("role", kind === "fail" ? "alert" : "status");
    badge.textContent = "";
    const s = document.createElement("strong");
    s.textContent = strong;
    badge.append(s);
    if (detail) { const d = document.createElement("small"); d.textContent = detail; badge.append(" ", d); }
    document.body.dataset.verified = kind === "ok" ? "yes" : kind === "fail" ? "no" : "";
  };
  const squashText = (text) => text.replace(/\s+/g, "");
  const squash = (node) => (node ? squashText(node.textContent) : "");
  say("pending", "Verifying in this browser…", "Checking every event against the signed log.");
  (async () => {
    let vkey;
    const bundle = globalThis.LedgerBundle;
    try { vkey = JSON.parse(vkeyEl.textContent); }
    catch (e) { say("fail", "Verification failed: the embedded publisher key is damaged.", "The text below is the publisher's copy and is not verified."); return; }
    if (bundle === undefined) { say("fail", "Verification failed: the record's bundle did not load.", "If this page is a copy kept from an older version of the site, the bundle it names is gone: reloading may fetch the current page. The text below is the publisher's copy and is not verified."); return; }
    let verified, policy = null;
    const policyEl = document.getElementById("policy");
    if (policyEl) {
      try { policy = JSON.parse(policyEl.textContent); }
      catch (e) { say("fail", "Verification failed: the embedded witness policy is damaged.", "The text below is the publisher's copy and is not verified."); return; }
    }
    try { verified = await LedgerVerify.verifyBundle(bundle, vkey, recordId, policy); }
    catch (e) {
      const why = e instanceof LedgerVerify.Mismatch ? e.message : "the embedded bundle is damaged (" + e.message + ")";
      say("fail", "Verification failed: " + why + ".", "The text below is the publisher's copy and is not verified.");
      return;
    }
    let shown, model;
    try { shown = LedgerFold.foldRecord(verified.events); model = LedgerPage.model(shown, verified.events); }
    catch (e) { say("fail", "Verification failed: the verified events cannot be read (" + e.message + ").", "The text below is not verified."); return; }
    const built = LedgerPage.build(document, shown, model, main.dataset.since !== undefined);
    const bannerSlot = document.getElementById("record-banner"), served = document.getElementById("record");
    const differs = squash(served) !== squash(built.record) || squash(bannerSlot) !== squash(built.banner)
      || squashText(document.title) !== squashText(built.title)
      || LedgerFold.canon(shown) !== LedgerFold.canon(bundle.state);
    document.title = built.title;  // the tab, the bookmark and the history say what was verified
    bannerSlot.replaceChildren(...(built.banner ? [built.banner] : []));
    served.replaceWith(built.record);
    const covers = recordId + ": " + verified.events.length + " event(s), against the checkpoint of size " + verified.size
      + " of " + verified.origin + ", signed by key " + verified.key + "."
      + (verified.witnesses ? " Cosigned by the witnesses " + verified.witnesses.join(", ") + " (the policy needs " + verified.quorum + "), most recently on "
         + verified.witnessed_at + ", when that witness knew of no later checkpoint: a copy of this page served long after that may be out of date." : "")
      + (verified.withheld ? " " + verified.withheld + " payload member(s) are withheld by a removal." : "");
    say("ok", "Verified in this browser", covers + " Everything shown below was computed here from the verified events.");
    if (differs) {
      const alert = document.createElement("div");
      alert.className = "verify differs";
      alert.setAttribute("role", "alert");
      const s = document.createElement("strong");
      s.textContent = "Warning: the text this page was served with differs from its verified history.";
      const d = document.createElement("small");
      d.textContent = " What you see now is the verified history; the served copy was replaced.";
      alert.append(s, d);
      badge.after(alert);
      document.body.dataset.differs = "yes";
    }
  })();
})();
