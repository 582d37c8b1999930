#!/bin/bash
# After the 70 x 4 (run.sh), with binaries that have the source's stop time (ctl port stopped --at): three rounds of 10
# runs per RTT of D (pre-registration, bicast, downtime-limit 20 ms), then one of the same with the LMA's bicast off
# (--no-bicast: the downlink moves to the destination on the source's stop notice), to measure the two ways of
# getting the downlink there against each other.
set -u
cd "$(dirname "$0")/../../.."
EXP=artifacts/bin/DataPlane.Experiment/Release/net10.0/dataplane-experiment
OUT=${OUT:-perf/results/2026-12-06-fast-handover-70x4/after}
mkdir -p $OUT
for cfg in Dstop NB; do
  case $cfg in
    Dstop) extra="--downtime-limit 20" ;;
    NB) extra="--downtime-limit 20 --no-bicast" ;;
  esac
  echo "== $cfg $extra start $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" >>$OUT/progress.log
  $EXP run --driver qemu --runs 10 --capture-runs 0 --no-baseline $extra --out $OUT/$cfg >$OUT/$cfg.log 2>&1
  echo "== $cfg exit $? end $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" >>$OUT/progress.log
done
echo ALLDONE >>$OUT/progress.log
# Then two more rounds of Dstop (after the test suite had run; 30 runs per RTT in all), for firmer loss counts.
for r in 2 3; do
  echo "== Dstop-r$r start $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" >>$OUT/progress.log
  $EXP run --driver qemu --runs 10 --capture-runs 0 --no-baseline --downtime-limit 20 --out $OUT/Dstop-r$r >$OUT/Dstop-r$r.log 2>&1
  echo "== Dstop-r$r exit $? end $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" >>$OUT/progress.log
done
echo ALLDONE2 >>$OUT/progress.log
