// The index: sort this page's rows by a column; search or filter every record, from the compact
// index.json (read once, on the first search), showing at most one page of matches. Text only.
(function () {
  "use strict";
  const table = document.querySelector("table.index");
  if (!table) return;
  const body = table.tBodies[0], pageRows = Array.from(body.rows);
  const q = document.getElementById("q"), status = document.getElementById("status");
  const count = document.getElementById("count");
  // "Records 1–200 of N" says what this page lists: not what a search shows in its place
  const range = document.querySelector("p.range");
  let all = null, loading = null;
  const STATUS_CLASS = (s) => "status status-" + s.toLowerCase();
  // a page's name, as the site names it (index.json lists the few cut short, for long ids)
  const pageName = (rid) => (all && all.named && all.named[rid]) || rid.replace(":", "-") + ".html";
  const LABELS = Array.from(table.tHead.rows[0].cells, (th) => th.textContent);
  // as the index pages are written (webpage.escape; page.js's bidiVisible)
  const bidiVisible = (text) => text.replace(/[\u202a-\u202e\u2066-\u2069]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));

  function rowOf(r, later, since, fresh) {
    const tr = document.createElement("tr");
    tr.dataset.status = r[2];
    r.forEach((value, i) => {
      const td = document.createElement("td");
      td.dataset.key = String(value);
      td.dataset.label = LABELS[i];
      if (i === 0) { const a = document.createElement("a"); a.href = pageName(r[0]); a.textContent = r[0]; td.append(a); }
      else if (i === 2) {
        // the status the later events give, when it is another (site.later_words)
        const status = Object.prototype.hasOwnProperty.call(since, r[0]) ? String(since[r[0]]) : "";
        // neutral, not green CURRENT, when later events give another status (webpage.status_pill)
        const s = document.createElement("span"); s.className = status ? "status status-stale" : STATUS_CLASS(r[2]); s.textContent = r[2]; td.append(s);
        // as the index page says it: the row states the record as of the checkpoint
        if (later.has(r[0])) {
          const n = document.createElement("small"); n.className = "pending";
          n.textContent = fresh.has(r[0]) ? " · published after the checkpoint, not yet covered"
            : status ? " · since: " + status + ", not yet covered" : " · later events not yet covered";
          td.append(n);
        }
      }
      else td.textContent = i === 5 && !value ? "—" : bidiVisible(String(value));
      tr.append(td);
    });
    return tr;
  }

  function load() {
    if (!loading) loading = fetch("index.json").then((r) => r.json()).then((doc) => { all = doc; return doc; });
    return loading;
  }

  // Lower case, and typographic quotes as plain ones: `ExpertFlow’s` copied from a page finds
  // the `ExpertFlow's` a title holds, as `ledger search` does.
  const folded = (s) => s.toLowerCase().replace(/[\u2018\u2019\u201a\u201b\u2032]/g, "'")
    .replace(/[\u201c\u201d\u201e\u201f\u2033]/g, '"');

  async function search() {
    const text = folded(q.value.trim()), want = status.value;
    if (range) range.hidden = Boolean(text || want);
    if (!text && !want) { body.replaceChildren(...pageRows); count.textContent = ""; return; }
    let doc;
    try { doc = all || await load(); }
    catch (e) { count.textContent = "Search needs the site served over HTTP (index.json could not be read); the pages below list every record."; return; }
    const limit = doc.pages || 200, hits = [];
    const later = new Set(Array.isArray(doc.later) ? doc.later : []);
    const since = doc.later_status && typeof doc.later_status === "object" ? doc.later_status : {};
    const fresh = new Set(Array.isArray(doc.new) ? doc.new : []);  // no event before the checkpoint
    // a status filter finds a record by the status its later events give too, as its row says
    const sinceOf = (id) => (Object.prototype.hasOwnProperty.call(since, id) ? String(since[id]) : "");
    let found = 0;
    for (const r of doc.rows) {
      if ((want && r[2] !== want && sinceOf(r[0]) !== want)
          || (text && !folded(r.join(" ") + " " + sinceOf(r[0])).includes(text))) continue;
      found += 1;
      if (hits.length < limit) hits.push(r);
    }
    body.replaceChildren(...hits.map((r) => rowOf(r, later, since, fresh)));
    count.textContent = found + " of " + doc.rows.length + " records match" + (found > hits.length ? " (the first " + hits.length + " shown)" : "");
  }

  let timer = null;
  q.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 150); });
  // A search can be linked to: index.html?q=retraction&status=RETRACTED
  const asked = new URLSearchParams(window.location.search);
  if (asked.get("q") || asked.get("status")) {
    q.value = asked.get("q") || "";
    if (Array.from(status.options).some((o) => o.value === asked.get("status"))) status.value = asked.get("status");
    search();
  }
  status.addEventListener("change", search);
  q.form.addEventListener("submit", (event) => { event.preventDefault(); search(); });
  table.querySelectorAll("th").forEach((th, i) => {
    th.tabIndex = 0;
    const sort = () => {
      const dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      table.querySelectorAll("th").forEach((h) => h.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
      Array.from(body.rows).sort((a, b) => dir * a.cells[i].dataset.key.localeCompare(b.cells[i].dataset.key, undefined, { numeric: true }))
        .forEach((r) => body.appendChild(r));
    };
    th.addEventListener("click", sort);
    th.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sort(); } });
  });
})();
