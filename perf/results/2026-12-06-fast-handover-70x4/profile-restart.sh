#!/bin/bash
# Where the real guest's restart after a live migration goes (QEMU TCG, this machine's only accelerator):
# `perf record -a -g` on the realtime clock around one migration (downtime-limit 20 ms, no WAN delay) while the
# client's UDP probe runs, then the samples of each QEMU in three windows taken from QEMU's own event timestamps:
# the source in the 100 ms before its STOP (a warm guest answering probes), the destination from its RESUME for
# 100 ms (the restart), by shared object and by symbol. Writes profile/*.txt. Root; `make build` first.
set -eu
cd "$(dirname "$0")/../../.."
OUT=perf/results/2026-12-06-fast-handover-70x4/profile
mkdir -p "$OUT"
N=dpprof$$
PROBE=artifacts/publish/dataplane-probe/dataplane-probe
cleanup() {
  [ -n "${PROBE_PID:-}" ] && kill "$PROBE_PID" 2>/dev/null || true
  scripts/guest/qemu-vm cleanup --testbed $N >/dev/null 2>&1 || true
  scripts/testbed down --name $N >/dev/null 2>&1 || true
}
trap cleanup EXIT
scripts/testbed up --name $N --vms 1 --no-attach >/dev/null
scripts/guest/qemu-vm start g --testbed $N --udp-port 7000 --wait-ready >"$OUT/start.json"
ADDR=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["address"])' "$OUT/start.json")
ip netns exec $N-client $PROBE udp-client --target "$ADDR" --port 7000 --interval 10ms --duration 60s --quiet --json "$OUT/udp.json" &
PROBE_PID=$!
sleep 2
perf record -a -g -k CLOCK_REALTIME -o "$OUT/perf.data" -- sleep 12 2>"$OUT/perf-record.log" &
PERF_PID=$!
sleep 1
scripts/guest/qemu-vm migrate g --testbed $N --to mag2 --downtime-limit 20 >"$OUT/migrate.json"
wait $PERF_PID
python3 - "$OUT" <<'PY'
import json, subprocess, sys
out = sys.argv[1]
m = json.load(open(f"{out}/migrate.json"))
ev = m["events"]
stop, resume = ev["sourceStopMs"] / 1000, ev["destinationResumeMs"] / 1000
src, dst = json.load(open(f"{out}/start.json"))["pid"], m["destinationPid"]
def report(name, pid, start, end, sort):
    args = ["perf", "report", "-i", f"{out}/perf.data", "--stdio", "--no-children", "--sort", sort, "--percent-limit", "1",
            "--time", f"{start:.6f},{end:.6f}", "-g", "none"]
    if pid: args += ["--pid", str(pid)]
    r = subprocess.run(args, capture_output=True, text=True)
    with open(f"{out}/{name}-{sort.replace(',', '-')}.txt", "w") as f:
        f.write(f"# {' '.join(args)}\n# STOP {stop:.6f}, RESUME {resume:.6f} (QEMU's event timestamps, s since 1970)\n")
        f.write(r.stdout)
for sort in ("comm,dso", "dso,sym"):
    report("source-before-stop", src, stop - 0.1, stop, sort)
    report("destination-after-resume", dst, resume, resume + 0.1, sort)
    report("all-stop-to-resume-plus-100ms", None, stop, resume + 0.1, sort)
print(json.dumps({"stopToResumeMs": ev.get("stopToResumeMs"), "sourcePid": src, "destinationPid": dst}))
PY
