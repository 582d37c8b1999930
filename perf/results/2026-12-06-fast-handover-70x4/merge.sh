#!/bin/bash
# Joins the rounds of run.sh (raw/<cfg>-r<N>/runs.csv) into <cfg>/runs.csv, runs renumbered 1..70 per RTT in the
# order they ran, with the measured RTTs of the first round, and re-renders <cfg>/README.md and the plots.
set -eu
cd "$(dirname "$0")"
EXP=../../../artifacts/bin/DataPlane.Experiment/Release/net10.0/dataplane-experiment
for cfg in D C; do
  mkdir -p $cfg
  python3 - "$cfg" <<'PY'
import csv, glob, re, sys
cfg = sys.argv[1]
rounds = sorted(glob.glob(f"raw/{cfg}-r*/runs.csv"), key=lambda p: int(re.search(r"-r(\d+)/", p).group(1)))
out, header, count = [], None, {}
for path in rounds:
    with open(path) as f:
        r = csv.reader(f)
        h = next(r)
        header = header or h
        for row in r:
            rtt = row[h.index("rtt_ms")]
            count[rtt] = count.get(rtt, 0) + 1
            row[h.index("run")] = str(count[rtt])
            out.append(row)
with open(f"{cfg}/runs.csv", "w", newline="") as f:
    w = csv.writer(f); w.writerow(header); w.writerows(out)
meta = open(f"raw/{cfg}-r1/meta.txt").read().splitlines()
cmd = next(l for l in meta if l.startswith("command=")).replace("--runs 10", f"--runs 10 (x{len(rounds)} rounds, run.sh)")
starts = [open(p.replace("runs.csv", "meta.txt")).read() for p in rounds]
first = next(l for l in meta if l.startswith("started="))
with open(f"{cfg}/meta.txt", "w") as f:
    f.write("\n".join([cmd, first] + [l for l in meta if l.startswith(("driver=", "load_start=", "measured_rtt_"))]) + "\n")
print(cfg, {k: v for k, v in count.items()})
PY
  [ -f raw/$cfg-r1/wan-baseline.md ] && cp raw/$cfg-r1/wan-baseline.md $cfg/ || true
  $EXP report --out $cfg >/dev/null
done
