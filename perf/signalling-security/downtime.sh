#!/usr/bin/env bash
# Migration downtime with and without signalling keys, on two namespace testbeds brought up side by side and
# measured in alternation (docs/security.md): the seed's UDP probe downtime per migration, and the MAG's own
# PBU->PBA time from its handover log line. Prints a table with median/min/max per variant and writes CSV.
#
#   perf/signalling-security/downtime.sh [--runs 10] [--out DIR] [--algorithm null-hmac-sha256-128]
#
# Needs root, a built tree (make build). Load averages before and after are recorded: read ratios, not absolutes.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUNS=10
OUT=""
ALGORITHM=null-hmac-sha256-128
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    --algorithm) ALGORITHM=${2:?}; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 64 ;;
  esac
done
TB="$ROOT/scripts/testbed"
PROBE="$ROOT/artifacts/publish/dataplane-probe/dataplane-probe"
KEYED="dpsk$$"
PLAIN="dpsp$$"
OUT=${OUT:-$ROOT/artifacts/signalling-security-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
cleanup() { "$TB" down --name "$KEYED" >/dev/null 2>&1 || true; "$TB" down --name "$PLAIN" >/dev/null 2>&1 || true; }
trap cleanup EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
"$TB" up --name "$KEYED" --vms 1 --keys "$ALGORITHM" --owner-pid $$ >/dev/null
"$TB" up --name "$PLAIN" --vms 1 --owner-pid $$ >/dev/null
declare -A at=([$KEYED]=mag1 [$PLAIN]=mag1)
for tb in "$KEYED" "$PLAIN"; do
  ip netns exec "$tb-vm1" "$PROBE" udp-responder --port 7000 >/dev/null 2>&1 &
done
sleep 3
vm_address=2001:db8:1001:1:5054:ff:fe00:1
echo "run,variant,from,to,downtime_ms,pbu_pba_ms" >"$OUT/migrations.csv"
migrate() {
  local tb=$1 variant=$2 run=$3 from=${at[$1]} to json
  to=$([ "$from" = mag1 ] && echo mag2 || echo mag1)
  json="$OUT/probe-$variant-$run.json"
  ip netns exec "$tb-client" "$PROBE" udp-client --target "$vm_address" --port 7000 --interval 10ms --until-recovered \
    --max-duration 15s --json "$json" --quiet &
  local probe=$!
  sleep 0.5
  "$TB" migrate vm1 "$to" --name "$tb" >/dev/null
  wait "$probe"
  local downtime pba
  downtime=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["downtimeMs"])' "$json")
  pba=$(grep 'handover:' "/run/dataplane-testbed/$tb/$to.log" | tail -1 | sed -E 's/.*PBU->PBA ([0-9.]+) in.*/\1/')
  echo "$run,$variant,$from,$to,$downtime,$pba" >>"$OUT/migrations.csv"
  at[$tb]=$to
}
for ((run = 1; run <= RUNS; run++)); do
  # Alternate which variant goes first, so neither always meets the other's after-effects.
  if ((run % 2)); then migrate "$KEYED" esp "$run"; migrate "$PLAIN" clear "$run"; else migrate "$PLAIN" clear "$run"; migrate "$KEYED" esp "$run"; fi
  sleep 0.3
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
sas=$("$ROOT/artifacts/publish/dataplane/dataplane" ctl --socket "/run/dataplane-testbed/$KEYED/lma.sock" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["policy"]["security"])')
python3 - "$OUT/migrations.csv" "$load_before" "$load_after" "$ALGORITHM" "$sas" <<'PY' | tee "$OUT/summary.txt"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(f"load before {sys.argv[2]}, after {sys.argv[3]}; ESP algorithm {sys.argv[4]}; LMA security counters {sys.argv[5]}")
print("variant | migrations | downtime median / min / max ms | PBU->PBA median / min / max ms")
for v in ("clear", "esp"):
    d = [float(r["downtime_ms"]) for r in rows if r["variant"] == v]
    p = [float(r["pbu_pba_ms"]) for r in rows if r["variant"] == v and r["pbu_pba_ms"]]
    print(f"{v} | {len(d)} | {statistics.median(d):.0f} / {min(d):.0f} / {max(d):.0f} | {statistics.median(p):.2f} / {min(p):.2f} / {max(p):.2f}")
PY
echo "results in $OUT"
