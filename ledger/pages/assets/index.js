
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
