#!/usr/bin/env bash
# profile.sh [--seconds 10] [--out DIR] [--reverse] [--ipv4] [-- extra iperf3 args]
#   Where the CPU goes while iperf3 pushes one TCP stream VM -> client (--reverse: client -> VM; --ipv4: over
#   IPv4, the VM dual stack with its address from its MAG's DHCP server) through
#   DataPlane's MAG and LMA on the namespace testbed: `perf record` (Debian linux-perf) on the two daemons,
#   then the split between user space (the native dataplane binary) and the kernel, and the top symbols.
#   Root; `make build` first. The testbed has a unique name and is torn down on exit, also on failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SECONDS_=10 OUT="$ROOT/artifacts/perf/profile" REVERSE=() IPV4=no
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) SECONDS_=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    --reverse) REVERSE=(-R); shift ;;
    --ipv4) IPV4=yes; shift ;;
    --) shift; break ;;
    *) echo "profile.sh: unknown argument '$1'" >&2; exit 64 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "profile.sh: needs root" >&2; exit 1; }
command -v perf >/dev/null || { echo "profile.sh: perf missing (scripts/install-deps installs linux-perf)" >&2; exit 1; }
N="dpprof$$"
TB="$ROOT/scripts/testbed"
mkdir -p "$OUT"
trap '"$TB" down --name "$N" >/dev/null 2>&1 || true' EXIT
"$TB" up --name "$N" --vms 1 --owner-pid $$ $([ "$IPV4" = no ] || echo --ipv4 dual) >/dev/null
VM=2001:db8:1001:1:5054:ff:fe00:1 CLIENT=2001:db8:2::10
for _ in $(seq 100); do
  ip -n "$N-vm1" -6 -o addr show dev eth0 scope global | grep -q "$VM" &&
    ! ip -n "$N-vm1" -6 -o addr show dev eth0 scope global | grep -q tentative && break
  sleep 0.1
done
if [ "$IPV4" = yes ]; then
  CLIENT=198.51.100.10
  for _ in $(seq 200); do ip -n "$N-vm1" -4 -o addr show dev eth0 | grep -q ' inet ' && break; sleep 0.1; done
fi
RUN=/run/dataplane-testbed/$N
ip netns exec "$N-client" iperf3 -s -1 -B "$CLIENT" >/dev/null 2>&1 &
sleep 0.5
ip netns exec "$N-vm1" iperf3 -c "$CLIENT" -t "$SECONDS_" -J "${REVERSE[@]}" "$@" >"$OUT/iperf3.json" &
IPERF=$!
sleep 1
perf record -q -F 999 -g -p "$(cat "$RUN/mag1.pid"),$(cat "$RUN/lma.pid")" -o "$OUT/perf.data" -- sleep $((SECONDS_ - 2)) 2>/dev/null
wait "$IPERF"
python3 - "$OUT/iperf3.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))["end"]
print("iperf3: %.2f Gbit/s received, %s retransmits" % (e["sum_received"]["bits_per_second"] / 1e9, e.get("sum_sent", {}).get("retransmits")))
PY
{
  echo "== samples by process and object (self time) =="
  perf report -i "$OUT/perf.data" --no-children --sort comm,dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -20
  echo "== top symbols (self time) =="
  perf report -i "$OUT/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40
} | tee "$OUT/profile.txt"
echo "profile: $OUT/profile.txt, $OUT/perf.data (perf report -i …)"
