#!/bin/bash
# Issue 16's measurement: 70 migrations of the real guest at each of the seed's four RTTs, in two
# configurations alternated in rounds of 10 so that both see the same machine:
#   D = pre-registration + bicast (the switch of issue 16) with QEMU downtime-limit 20 ms
#   C = the same switch with QEMU's defaults (downtime-limit 300 ms)
# "Before" (main's switch before issue 16, QEMU defaults) is perf/results/2026-11-22-real-guest-70x4.
# Each round writes raw/<cfg>-r<N>/; merge.sh joins them into <cfg>/runs.csv and re-renders.
set -u
cd "$(dirname "$0")/../../.."
EXP=artifacts/bin/DataPlane.Experiment/Release/net10.0/dataplane-experiment
OUT=perf/results/2026-12-06-fast-handover-70x4/raw
ROUNDS=${ROUNDS:-7}
for round in $(seq 1 "$ROUNDS"); do
  for cfg in D C; do
    case $cfg in
      D) extra="--downtime-limit 20" ;;
      C) extra="" ;;
    esac
    baseline="--no-baseline"
    [ "$round" = 1 ] && [ "$cfg" = D ] && baseline=""
    echo "== $cfg r$round $extra start $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" >>$OUT/progress.log
    $EXP run --driver qemu --runs 10 --capture-runs 0 $baseline $extra --out $OUT/$cfg-r$round >$OUT/$cfg-r$round.log 2>&1
    echo "== $cfg r$round exit $? end $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" >>$OUT/progress.log
  done
done
echo ALLDONE >>$OUT/progress.log
