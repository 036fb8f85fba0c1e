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
printf '\nDone: the ledger is %s (open it with sqlite3 or Datasette); keys, checkpoint, bundle,\nthe site (open demo-out/site/index.html in a browser), the tiles and a mirror are in demo-out/.\n' "$DB"
