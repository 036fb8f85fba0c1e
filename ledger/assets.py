"""Static assets of rendered pages and the site: CSS, and the in-browser verifier."""

PAGE_CSS = """
body{font:16px/1.55 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;background:#f6f7f9;margin:0}
main{max-width:860px;margin:0 auto;padding:24px 28px 64px;background:#fff;min-height:100vh}
.rid{font:600 13px ui-monospace,monospace;color:#5b6475;margin:0}
h1{font-size:24px;line-height:1.3;margin:6px 0 12px}
h2{font-size:15px;text-transform:uppercase;letter-spacing:.06em;color:#3b4458;border-bottom:1px solid #e3e6ec;padding-bottom:4px;margin-top:28px}
dl.head{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
dt{color:#5b6475}dd{margin:0;font-weight:500}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:5px 8px;border-bottom:1px solid #eef0f4}
th{width:34%;color:#5b6475;font-weight:500}
.status{display:inline-block;font:600 12px ui-monospace,monospace;padding:3px 8px;border-radius:4px;background:#e7f5ec;color:#17623a}
.status-corrected{background:#fff6e0;color:#7a5200}.status-under_concern{background:#fff0e0;color:#8a3b00}
.status-withdrawn,.status-retracted,.status-removed{background:#fde8e8;color:#9b1c1c}
"""
