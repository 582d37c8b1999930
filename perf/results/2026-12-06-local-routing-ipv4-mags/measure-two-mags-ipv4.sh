#!/usr/bin/env bash
# Usage (root, after make build): measure-two-mags-ipv4.sh on|off REP OUTDIR   (OUTDIR/runs.csv must have its header)
# One IPv4 two-MAG measurement: mode on|off, rep; appends to $OUT/runs.csv
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd); TB=$ROOT/scripts/testbed; DP=$ROOT/artifacts/publish/dataplane/dataplane
mode=$1 rep=$2 OUT=$3
NAME="m4$$$mode$rep"
trap '"$TB" down --name "$NAME" >/dev/null 2>&1' EXIT
"$TB" up --name "$NAME" --vms 2 --delay 20ms --mag-link --optimized-routing "$mode" --ipv4 dual --owner-pid $$ >/dev/null 2>&1 || { echo "up failed"; exit 1; }
addr4() { ip -n "$NAME-vm$1" -4 addr show dev eth0 scope global 2>/dev/null | awk '/inet / { sub("/.*", "", $2); print $2; exit }'; }
for i in $(seq 300); do a2=$(addr4 2); [ -n "$a2" ] && [ -n "$(addr4 1)" ] && break; sleep 0.1; done
"$TB" migrate vm2 mag2 --name "$NAME" >/dev/null 2>&1
for i in $(seq 100); do
  ip netns exec "$NAME-vm1" ping -4 -c 1 -W 1 "$a2" >/dev/null 2>&1
  if [ "$mode" = on ] && "$DP" ctl --socket "/run/dataplane-testbed/$NAME/mag1.sock" --json routes | grep -q "\"remoteIpv4\": \"$a2\""; then
    "$DP" ctl --socket "/run/dataplane-testbed/$NAME/mag1.sock" --json routes | python3 -c 'import json,sys; sys.exit(0 if any(r["egress"] and r.get("remoteIpv4")==sys.argv[1] for r in json.load(sys.stdin)) else 1)' "$a2" && break
  fi
  [ "$mode" = on ] || [ "$i" -lt 10 ] || break
  sleep 0.2
done
tag="$mode-two-mags-ipv4-$rep"; load=$(cut -d' ' -f1 /proc/loadavg)
ip netns exec "$NAME-vm1" ping -4 -c 10 -i 0.2 -W 2 "$a2" > "$OUT/pings-$tag.txt"
stats=$(awk -F'[ /]' '/^rtt/ { print $7","$8","$9","$10 }' "$OUT/pings-$tag.txt")
ip netns exec "$NAME-vm2" iperf3 -s -1 -p 5201 >/dev/null 2>&1 & srv=$!
for i in $(seq 100); do ip netns exec "$NAME-vm2" ss -Hltn 'sport = :5201' | grep -q . && break; sleep 0.1; done
timeout 40 ip netns exec "$NAME-vm1" iperf3 -c "$a2" -p 5201 -t 2 -J > "$OUT/iperf-$tag.json" 2>/dev/null
kill $srv 2>/dev/null; wait $srv 2>/dev/null
mbit=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6, 1))' "$OUT/iperf-$tag.json" 2>/dev/null || echo NA)
lmaacc=$("$DP" ctl --socket "/run/dataplane-testbed/$NAME/lma.sock" --json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["ipv4Tunnel"]["acceptedPackets"])')
echo "$rep,$mode,two-mags-ipv4,10,$stats,$mbit,$load,$lmaacc" >> "$OUT/runs.csv"
echo "rep $rep $mode: rtt $stats ms, $mbit Mbit/s, load $load, LMA IPv4 accepted $lmaacc"
