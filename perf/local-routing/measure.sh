#!/usr/bin/env bash
# measure.sh — issue 18's measurement: VM-to-VM ping RTT and iperf3 throughput with optimized routing on (the MAG
# routes same-MAG traffic itself; RFC 6705 sends cross-MAG traffic MAG to MAG) and off (everything through the LMA),
# on the namespace testbed with the WAN emulator delaying each of the LMA's links and a MAG–MAG link beside it
# (`testbed up --mag-link`, two hosts of one data centre).
#
#   perf/local-routing/measure.sh [--reps 3] [--delay 20ms] [--pings 20] [--iperf-seconds 3] [--ipv4] [--out DIR]
#
# --ipv4 makes the VMs dual-stack (`testbed up --ipv4 dual`) and adds two placements: same-mag-ipv4, the same ping and
# iperf3 vm1 → vm2 on MAG1 to vm2's IPv4 home address (RFC 5844), routed by the MAG when on; and two-mags-ipv4, vm2 on
# MAG2, measured (when on) once IPv4 traffic alone has made the LMA set the pair up and MAG1 sends to vm2's IPv4 home
# address directly (RFC 6705 §7), before any IPv6 traffic between them.
#
# Each repetition brings up one testbed per mode, alternating which mode goes first, and measures two placements:
# same-mag (vm1 and vm2 on MAG1) and two-mags (vm2 migrated to MAG2; with optimization on, measured once both MAGs
# send directly). Writes DIR/runs.csv (one row per mode, placement and repetition, with the 1-minute load average
# when it ran), DIR/pings-*.txt and DIR/iperf-*.json (raw), DIR/summary.txt and DIR/rtt.svg, DIR/throughput.svg.
# Needs root, the published binaries (make build), iperf3 and ping.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TESTBED="$ROOT/scripts/testbed"
DATAPLANE="$ROOT/artifacts/publish/dataplane/dataplane"
reps=3 delay=20ms pings=20 seconds=3 out="" ipv4=no
while [ $# -gt 0 ]; do
  case $1 in
    --reps) reps=${2:?}; shift 2 ;;
    --delay) delay=${2:?}; shift 2 ;;
    --pings) pings=${2:?}; shift 2 ;;
    --iperf-seconds) seconds=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --ipv4) ipv4=yes; shift ;;
    *) echo "measure.sh: unknown argument $1" >&2; exit 64 ;;
  esac
done
[ -n "$out" ] || out="$ROOT/perf/results/$(date -u +%F)-local-routing"
mkdir -p "$out"
[ -x "$DATAPLANE" ] || { echo "measure.sh: $DATAPLANE missing: make build" >&2; exit 1; }

NAME=""
cleanup() { [ -z "$NAME" ] || "$TESTBED" down --name "$NAME" >/dev/null 2>&1 || true; }
trap cleanup EXIT

vm_addr() { # the VM's preferred global address (no longer tentative), or nothing
  ip -n "$NAME-vm$1" -6 addr show dev eth0 scope global 2>/dev/null | awk '/inet6/ && !/tentative/ { sub("/.*", "", $2); print $2; exit }'
}

wait_addr() {
  local k=$1 i a
  for ((i = 0; i < 300; i++)); do
    a=$(vm_addr "$k")
    if [ -n "$a" ]; then echo "$a"; return 0; fi
    sleep 0.1
  done
  echo "measure.sh: vm$k has no address" >&2
  return 1
}

vm_addr4() { # the VM's IPv4 home address (from the MAG's DHCP server), or nothing
  ip -n "$NAME-vm$1" -4 addr show dev eth0 scope global 2>/dev/null | awk '/inet / { sub("/.*", "", $2); print $2; exit }'
}

wait_addr4() {
  local k=$1 i a
  for ((i = 0; i < 300; i++)); do
    a=$(vm_addr4 "$k")
    if [ -n "$a" ]; then echo "$a"; return 0; fi
    sleep 0.1
  done
  echo "measure.sh: vm$k has no IPv4 address" >&2
  return 1
}

mag_sends_directly() { # MAG1 has a confirmed RFC 6705 route
  "$DATAPLANE" ctl --socket "/run/dataplane-testbed/$NAME/mag1.sock" --json routes | grep -q '"egress": true'
}

mag_sends_ipv4_directly() { # MAG1 has a confirmed RFC 6705 route naming IPv4 home address $1
  "$DATAPLANE" ctl --socket "/run/dataplane-testbed/$NAME/mag1.sock" --json routes |
    python3 -c 'import json,sys; sys.exit(0 if any(r["egress"] and r.get("remoteIpv4") == sys.argv[1] for r in json.load(sys.stdin)) else 1)' "$1"
}

# One placement: ping then iperf3 vm1 → vm2 (at an IPv6 address, or IPv4 with family 4); appends a CSV row.
measure() {
  local rep=$1 mode=$2 placement=$3 a2=$4 family=${5:-6} tag load stats
  tag="$mode-$placement-$rep"
  load=$(cut -d' ' -f1 /proc/loadavg)
  ip netns exec "$NAME-vm1" ping "-$family" -c "$pings" -i 0.2 -W 2 "$a2" >"$out/pings-$tag.txt"
  # rtt min/avg/max/mdev = a/b/c/d ms
  stats=$(awk -F'[ /]' '/^rtt/ { print $7","$8","$9","$10 }' "$out/pings-$tag.txt")
  ip netns exec "$NAME-vm2" iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
  local server=$! try
  # Until the server listens (a loaded machine takes its time), then one measurement.
  for ((try = 0; try < 300; try++)); do
    ip netns exec "$NAME-vm2" ss -Hltn 'sport = :5201' | grep -q . && break
    sleep 0.1
  done
  for ((try = 0; try < 5; try++)); do
    # Bounded: on a loaded machine an iperf3 client was seen spinning for minutes after its test (the server had gone).
    timeout $((seconds + 30)) ip netns exec "$NAME-vm1" iperf3 -c "$a2" -p 5201 -t "$seconds" -J >"$out/iperf-$tag.json" 2>/dev/null && break
    ip netns exec "$NAME-vm2" ss -Hltn 'sport = :5201' | grep -q . || { ip netns exec "$NAME-vm2" iperf3 -s -1 -p 5201 >/dev/null 2>&1 & server=$!; sleep 1; }
    sleep 1
  done
  wait "$server" || true
  local mbit
  mbit=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6, 1))' "$out/iperf-$tag.json")
  echo "$rep,$mode,$placement,$pings,$stats,$mbit,$load" >>"$out/runs.csv"
  echo "rep $rep $mode $placement: rtt min/avg/max/mdev $stats ms, $mbit Mbit/s (load $load)"
}

echo "rep,optimized,placement,pings,rtt_min_ms,rtt_avg_ms,rtt_max_ms,rtt_mdev_ms,iperf_mbit_s,load1" >"$out/runs.csv"
{
  echo "command: perf/local-routing/measure.sh --reps $reps --delay $delay --pings $pings --iperf-seconds $seconds$([ "$ipv4" = no ] || echo " --ipv4")"
  echo "commit: $(git -C "$ROOT" rev-parse --short HEAD)"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/summary.txt"

for ((rep = 1; rep <= reps; rep++)); do
  if ((rep % 2)); then modes=(off on); else modes=(on off); fi
  for mode in "${modes[@]}"; do
    NAME="lr$$r$rep$mode"
    v4args=()
    [ "$ipv4" = no ] || v4args=(--ipv4 dual)
    "$TESTBED" up --name "$NAME" --vms 2 --delay "$delay" --mag-link --optimized-routing "$mode" "${v4args[@]}" --owner-pid $$ >/dev/null
    wait_addr 1 >/dev/null
    a2=$(wait_addr 2)
    measure "$rep" "$mode" same-mag "$a2"
    if [ "$ipv4" = yes ]; then
      wait_addr4 1 >/dev/null
      a24=$(wait_addr4 2)
      measure "$rep" "$mode" same-mag-ipv4 "$a24" 4
    fi
    "$TESTBED" migrate vm2 mag2 --name "$NAME" >/dev/null
    if [ "$ipv4" = yes ]; then
      # IPv4 first: its traffic alone must set the pair up (on); until MAG1 sends to vm2's IPv4 address directly, or 3 s.
      for ((i = 0; i < 100; i++)); do
        ip netns exec "$NAME-vm1" ping -4 -c 1 -W 1 "$a24" >/dev/null 2>&1 || true
        if [ "$mode" = on ] && mag_sends_ipv4_directly "$a24"; then break; fi
        [ "$mode" = on ] || [ "$i" -lt 10 ] || break
        sleep 0.2
      done
      if [ "$mode" = on ] && ! mag_sends_ipv4_directly "$a24"; then echo "measure.sh: MAG1 never sent IPv4 directly" >&2; exit 1; fi
      measure "$rep" "$mode" two-mags-ipv4 "$a24" 4
    fi
    # Traffic first, so the LMA sees the pair (on) and the paths are warm (both): until MAG1 sends directly, or 3 s.
    for ((i = 0; i < 100; i++)); do
      ip netns exec "$NAME-vm1" ping -6 -c 1 -W 1 "$a2" >/dev/null 2>&1 || true
      if [ "$mode" = on ] && mag_sends_directly; then break; fi
      [ "$mode" = on ] || [ "$i" -lt 10 ] || break
      sleep 0.2
    done
    if [ "$mode" = on ] && ! mag_sends_directly; then echo "measure.sh: MAG1 never sent directly" >&2; exit 1; fi
    measure "$rep" "$mode" two-mags "$a2"
    "$TESTBED" down --name "$NAME" >/dev/null
    NAME=""
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/summary.txt"

python3 "$(dirname "${BASH_SOURCE[0]}")/plot.py" "$out" | tee -a "$out/summary.txt"
