#!/bin/sh
# The main job, end to end, on a fresh local ledger with the example records shipped here.
set -eu
cd "$(dirname "$0")/.."
DB=demo.db
export LEDGER_DB="$DB" LEDGER_ACTOR="editor@assignee.example"
rm -f "$DB" "$DB-wal" "$DB-shm"
rec=examples/records
step() { printf '\n== %s\n$ %s\n' "$1" "$2"; sh -c "$2"; }

step "Create a ledger" "ledger init"
for id in 03BE3A05 BF3DD431 7BAC9D19; do
  step "Publish SRCH:$id" "ledger publish $rec/SRCH-$id.json"
  step "Record its provenance" "ledger provenance $rec/SRCH-$id.provenance.json"
done
step "Record the publisher's Gate 2 verdict" "ledger gate --from-file $rec/gate2-03BE3A05.json"
step "A retried command writes nothing" "ledger publish $rec/SRCH-03BE3A05.json"
step "Issue a correction that changes a field" \
  "ledger correct SRCH:03BE3A05 --kind correction --notice-id CORR-2026-001 --reason 'Review score transcribed wrongly from the reviewer sheet' --set /review_score=9.1 --issued-by 'Editorial office'"
step "Issue an expression of concern" \
  "ledger correct SRCH:BF3DD431 --kind expression_of_concern --notice-id EOC-2026-001 --reason 'Routing benchmark figures could not be traced to the cited sources' --issued-by 'Editorial office'"
step "VERIFIED without an artifact is refused (exit 2, nothing written)" \
  "ledger gate SRCH:03BE3A05 --gate 2 --status VERIFIED --reason 'Sandbox reproduction' || echo \"(refused with exit status \$?)\""
step "Evaluate Gate 2 with artifacts (hashed by the ledger)" \
  "ledger --actor lab-b gate SRCH:03BE3A05 --gate 2 --status VERIFIED --reason 'Sealed-sandbox reproduction matches the reported throughput table' --artifact examples/artifacts/repro_routing.py --artifact examples/artifacts/repro_results.csv --evaluator 'Reproduction lab B' --independent"
step "Show the corrected record" "ledger show SRCH:03BE3A05"
step "Show the record under concern" "ledger show SRCH:BF3DD431"
step "The log" "ledger log"
step "Verify the chain" "ledger verify"
step "Audit everything" "ledger audit"
step "Export the snapshot" "ledger export -o demo-snapshot.json && head -c 400 demo-snapshot.json && echo ' …'"
step "The snapshot as it was after seq 6" "ledger export --format csv --as-of 6"
rm -rf demo-out && mkdir demo-out
step "Create the publisher's signing key" "ledger keygen demo.assignee.example -o demo-out/publisher.key > demo-out/publisher.vkey && cat demo-out/publisher.vkey"
step "Sign a checkpoint of the log" "ledger checkpoint --key demo-out/publisher.key -o demo-out/checkpoint.txt && cat demo-out/checkpoint.txt"
step "Prove that the correction (seq 8) is in the signed log" "ledger prove 8 --format tlog-proof --checkpoint demo-out/checkpoint.txt"
step "Retract a record after the checkpoint" \
  "ledger correct SRCH:7BAC9D19 --kind retraction --notice-id RET-2026-001 --reason 'Cited benchmark results do not exist' --issued-by 'Editorial office'"
step "Remove the retracted record's content (a court order): the notice stays, the text goes" \
  "ledger correct SRCH:7BAC9D19 --kind removal --notice-id REM-2026-001 --reason 'Court order 2026/114' --issued-by 'Editorial office' --purge"
step "The removed record: identifiable, its content withheld" "ledger show SRCH:7BAC9D19"
step "The log still extends the old checkpoint (the purge changed no hash)" "ledger verify --checkpoint demo-out/checkpoint.txt --vkey demo-out/publisher.vkey"
step "Consistency proof from the checkpoint to now" "ledger consistency 10"
step "A self-contained bundle for one record, verified without the database" \
  "ledger bundle SRCH:03BE3A05 --checkpoint demo-out/checkpoint.txt -o demo-out/SRCH-03BE3A05.bundle.json && ledger verify-bundle demo-out/SRCH-03BE3A05.bundle.json --vkey demo-out/publisher.vkey"
step "A static site whose pages verify themselves in the reader's browser" \
  "ledger site demo-out/site --checkpoint demo-out/checkpoint.txt --vkey demo-out/publisher.vkey"
step "The log as C2SP tiles for any static host, and a monitor that follows it" \
  "ledger tiles demo-out/tiles --key demo-out/publisher.key && ledger monitor demo-out/tiles --vkey demo-out/publisher.vkey --state demo-out/monitor.json --mirror demo-out/mirror.db"
step "An auditor checks that every page's bundle holds every event of its record, against the mirror the monitor keeps" \
  "ledger verify-bundle demo-out/site/bundles --vkey demo-out/publisher.vkey --against demo-out/mirror.db"
step "An auditor checks the ledger against what they kept: the monitor's last checkpoint and a reader's bundle, in one pass" \
  "ledger verify --checkpoint demo-out/monitor.json --checkpoint demo-out/SRCH-03BE3A05.bundle.json --vkey demo-out/publisher.vkey"
step "An indexer checks that the ledger extends the snapshot it ingested earlier (no key needed)" \
  "ledger verify --extends demo-snapshot.json"
step "An editor's day: the records by status, what a correction changed, a search, the state of the log" \
  "ledger list && ledger diff SRCH:03BE3A05 && ledger search routing benchmark && ledger status"
step "A second retraction of a retracted record is refused (a retry with new words)" \
  "ledger correct SRCH:7BAC9D19 --kind retraction --reason 'Cited results do not exist' || echo \"(refused with exit status \$?)\""
step "A dry run shows what a notice would do, and writes nothing" \
  "ledger correct SRCH:BF3DD431 --kind withdrawal --reason 'Authors withdrew it' --dry-run"
step "A notice with its own DOI and URL and a coded reason (correction-record-v1.1)" \
  "ledger correct SRCH:03BE3A05 --kind clarification --notice-id CLAR-2026-001 --reason 'The claim count covers parsed sections only' --reason-code other --doi 10.5555/demo.clar.1 --url https://assignee.example/notices/CLAR-2026-001 --issued-by 'Editorial office'"
step "For indexers: the notices as Retraction Watch rows and Crossref updates, and an Atom feed" \
  "ledger export --format retraction-watch-csv | cut -c1-150 && ledger export --format crossref-xml | head -5 && ledger feed -n 2 | head -12"
step "The JSON Schemas an indexer checks what it is handed against (the end of the export's)" \
  "ledger schema && ledger schema provenance-ledger-export-v1 | tail -20"
step "The publisher's record pages (the full layout, and the compact one of SRCH:BF3DD431) imported into a ledger of their own" \
  "ledger --db demo-out/pages.db init && ledger --db demo-out/pages.db import examples/pages/*.txt"
step "A page rendered again from that ledger (the full layout): importing it back writes nothing" \
  "ledger --db demo-out/pages.db render SRCH:BF3DD431 | head -12 && ledger --db demo-out/pages.db render SRCH:BF3DD431 | ledger --db demo-out/pages.db import -"
# Three witnesses on this machine; the log's checkpoint counts only with two of their cosignatures.
ports=$(python -c "import socket
s=[socket.socket() for _ in range(3)]
[x.bind(('127.0.0.1', 0)) for x in s]
print(' '.join(str(x.getsockname()[1]) for x in s))")
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null || true; done' EXIT
printf 'log %s\n' "$(cat demo-out/publisher.vkey)" > demo-out/witnessed-logs.txt
printf 'log %s\n' "$(cat demo-out/publisher.vkey)" > demo-out/witnesses.policy
n=0
for port in $ports; do
  n=$((n + 1))
  ledger witness keygen "witness.example/w$n" -o "demo-out/w$n.key" > "demo-out/w$n.vkey" 2>/dev/null
  ledger witness serve --key "demo-out/w$n.key" --logs demo-out/witnessed-logs.txt \
    --db "demo-out/w$n.db" --listen "127.0.0.1:$port" 2> "demo-out/w$n.log" &
  pids="$pids $!"
  printf 'witness w%s %s http://127.0.0.1:%s\n' "$n" "$(cat "demo-out/w$n.vkey")" "$port" >> demo-out/witnesses.policy
done
printf 'group two-of-three 2 w1 w2 w3\nquorum two-of-three\n' >> demo-out/witnesses.policy
for port in $ports; do
  python -c "import socket, sys, time
for _ in range(200):
    try:
        socket.create_connection(('127.0.0.1', $port), timeout=0.2).close(); sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)"
done
step "Three witnesses cosign the log's checkpoint (a C2SP tlog-policy: two of three)" \
  "cat demo-out/witnesses.policy | cut -c1-100 && ledger checkpoint --key demo-out/publisher.key --policy demo-out/witnesses.policy -o demo-out/cosigned.txt && cat demo-out/cosigned.txt"
step "A tlog-proof checked against the policy, without the database" \
  "ledger prove 8 --format tlog-proof --checkpoint demo-out/cosigned.txt -o demo-out/seq8.tlog-proof && ledger verify-proof demo-out/seq8.tlog-proof --vkey demo-out/publisher.vkey --policy demo-out/witnesses.policy"
step "What a witness holds, read while it serves: the checkpoint it cosigned, and any refusal it keeps as evidence" \
  "ledger witness status --db demo-out/w1.db"
step "The publisher's routine after a change: one command signs a checkpoint of the whole log and brings the site up to it (the retraction and the removal are now verified in the browser)" \
  "ledger site demo-out/site --key demo-out/publisher.key"
printf '\nDone: the ledger is %s (open it with sqlite3 or Datasette: `ledger metadata -o metadata.json`); keys,\ncheckpoints, bundle, the site (open demo-out/site/index.html in a browser), the tiles, a mirror,\nthe ledger of the imported pages and the witnesses'"'"' state are in demo-out/.\n' "$DB"
