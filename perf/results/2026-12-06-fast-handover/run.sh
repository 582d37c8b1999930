#!/bin/bash
# Issue 16 measurement: four configurations, alternated, short (5 runs per RTT at 0.02 and 90 ms).
cd /work/wt16
EXP=artifacts/bin/DataPlane.Experiment/Release/net10.0/dataplane-experiment
OUT=${OUT:-perf/results/2026-12-06-fast-handover/raw}
common="run --driver qemu --runs ${RUNS:-5} --rtts ${RTTS:-0.02,90} --capture-runs 0 --no-baseline"
for cfg in A D B C; do
  case $cfg in
    A) extra="--no-pre-registration" ;;                      # before: switch as on main, QEMU defaults
    D) extra="--downtime-limit 20" ;;                         # after: pre-registration + bicast, downtime-limit 20
    B) extra="--no-pre-registration --downtime-limit 20" ;;   # the hypervisor setting alone
    C) extra="" ;;                                            # the switch alone
  esac
  echo "== $cfg $extra start $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" >>$OUT/progress.log
  $EXP $common $extra --out $OUT/$cfg >$OUT/$cfg.log 2>&1
  echo "== $cfg exit $? end $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" >>$OUT/progress.log
done
echo ALLDONE >>$OUT/progress.log
