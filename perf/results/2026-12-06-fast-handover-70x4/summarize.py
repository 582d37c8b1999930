#!/usr/bin/env python3
"""Issue 16's summary: the three configurations side by side per RTT (summary.md) and two hand-written SVG charts
(no matplotlib here): every run's longest time without any ack and the seed's downtime, with the median as a bar and
the goal (floor + 25 ms) as a line.

  before  perf/results/2026-11-22-real-guest-70x4 (main's switch before issue 16, QEMU defaults)
  C       C/runs.csv  (issue 16's switch: pre-registration, bicast, end marker; QEMU defaults, downtime-limit 300 ms)
  D       D/runs.csv  (the same switch with QEMU downtime-limit 20 ms)
  Dstop   after/Dstop*/runs.csv (D with binaries that pass the source's stop time; 3 rounds of 10 runs per RTT, run-after.sh)
  NB      after/NB/runs.csv (D with the LMA's bicast off; 10 runs per RTT, run-after.sh)

Duplicates are the probe's own count (duplicateAcks of each run's probe report, raw/probe-reports.csv)."""
import csv
import math
import statistics
from pathlib import Path

here = Path(__file__).resolve().parent
CONFIGS = [("before", here.parent / "2026-11-22-real-guest-70x4" / "runs.csv", "before issue 16, QEMU defaults"),
           ("C", here / "C" / "runs.csv", "issue 16's switch, QEMU defaults"),
           ("D", here / "D" / "runs.csv", "issue 16's switch, downtime-limit 20 ms"),
           ("Dstop", here / "after" / "Dstop*" / "runs.csv", "D with the source's stop time (ctl port stopped --at), 30 runs"),
           ("NB", here / "after" / "NB" / "runs.csv", "D with the LMA's bicast off (switch on the stop notice), 10 runs")]
COLOUR = {"before": "#999999", "C": "#4a7fb5", "D": "#e07b39", "Dstop": "#c0504d", "NB": "#8064a2"}
CHARTED = ("before", "C", "D")
RTTS = ["0.02", "30", "90", "160"]


def num(r, k):
    v = r.get(k, "")
    try:
        return float(v)
    except ValueError:
        return math.nan


def rows(path):
    """The runs of a runs.csv, or of every directory a pattern in its parent's name matches (rounds)."""
    files = sorted(path.parent.parent.glob(f"{path.parent.name}/{path.name}")) if "*" in path.parent.name else [path] if path.exists() else []
    return [r for f in files for r in csv.DictReader(open(f)) if not r.get("error")]


def duplicates(cfg):
    """Per RTT: (runs with a probe report, runs with a duplicate, duplicates in all), from raw/probe-reports.csv (each
    run's udp-<rtt>ms-<n>.json of the experiment's work directory, extracted before those were left out)."""
    out = {}
    for r in csv.DictReader(open(here / "raw" / "probe-reports.csv")):
        if r["config"] != cfg:
            continue
        n, with_dup, total = out.get(r["rtt_ms"], (0, 0, 0))
        d = int(r["duplicate_acks"])
        out[r["rtt_ms"]] = (n + 1, with_dup + (d > 0), total + d)
    return out


def pct(vs, p):
    vs = sorted(v for v in vs if not math.isnan(v))
    if not vs:
        return math.nan
    k = (len(vs) - 1) * p
    f = math.floor(k)
    return vs[f] if f == k else vs[f] + (vs[f + 1] - vs[f]) * (k - f)


def cell(vs, digits=0):
    vs = [v for v in vs if not math.isnan(v)]
    if not vs:
        return "–"
    return f"{statistics.median(vs):.{digits}f} ({pct(vs, 0.1):.{digits}f}–{pct(vs, 0.9):.{digits}f}, max {max(vs):.{digits}f})"


data = {cfg: rows(path) for cfg, path, _ in CONFIGS}
floor = {rtt: statistics.median([num(r, "floor_ms") for r in data["D"] + data["C"] if r["rtt_ms"] == rtt and not math.isnan(num(r, "floor_ms"))] or [math.nan])
         for rtt in RTTS}
lines = ["| config | RTT ms | n | longest time without any ack ms: median (p10–p90, max) | floor ms | goal (floor + 25) ms | runs within goal | "
         "seed's downtime (UDP loss) ms | probes lost: total (runs with any) | duplicated: total (runs with any) | QEMU stop → resume ms | "
         "guest restart (arrival → first packet) ms | QEMU downtime ms | switch handover after resume ms | TCP survived |",
         "|---|---:|---:|---|---:|---:|---:|---|---:|---:|---|---|---|---:|---:|"]
for cfg, _, label in CONFIGS:
    dups = duplicates(cfg) if cfg != "before" else {}
    for rtt in RTTS:
        g = [r for r in data[cfg] if r["rtt_ms"] == rtt]
        if not g:
            continue
        ack = [num(r, "ack_silence_ms") for r in g]
        goal = floor[rtt] + 25
        within = sum(1 for v in ack if v <= goal)
        lost = [num(r, "lost") for r in g]
        d = dups.get(rtt)
        dup = f"{d[2]} ({d[1]}/{d[0]})" if d else "– (not kept)"
        handover = [num(r, "switch_handover_ms") for r in g]
        lines.append(f"| {cfg}: {label} | {rtt} | {len(g)} | {cell(ack)} | {floor[rtt]:.2f} | {goal:.0f} | {within}/{len(g)} | "
                     f"{cell([num(r, 'downtime_ms') for r in g])} | {sum(lost):.0f} ({sum(1 for v in lost if v > 0)}) | {dup} | "
                     f"{cell([num(r, 'vm_stopped_ms') for r in g])} | {cell([num(r, 'guest_first_uplink_ms') for r in g])} | "
                     f"{cell([num(r, 'qemu_downtime_ms') for r in g])} | {statistics.median(handover):.1f} | "
                     f"{sum(1 for r in g if r['tcp_survived'] == '1')}/{len(g)} |")
(here / "summary.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))


def chart(name, column, title):
    groups = [(rtt, cfg) for rtt in RTTS for cfg, _, _ in CONFIGS if cfg in CHARTED and any(r["rtt_ms"] == rtt for r in data[cfg])]
    values = {(rtt, cfg): [v for v in (num(r, column) for r in data[cfg] if r["rtt_ms"] == rtt) if not math.isnan(v)] for rtt, cfg in groups}
    top_value = max(v for vs in values.values() for v in vs) * 1.1
    w, h, left, bottom, top = 120 + 48 * len(groups), 420, 70, 70, 50
    y = lambda v: h - bottom - (v / top_value) * (h - bottom - top)
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
         f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>',
         f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="black"/>',
         f'<line x1="{left}" y1="{h - bottom}" x2="{w - 10}" y2="{h - bottom}" stroke="black"/>',
         f'<text x="15" y="{h / 2}" transform="rotate(-90 15 {h / 2})" text-anchor="middle">ms</text>']
    step = 10 ** math.floor(math.log10(top_value / 5))
    step = step * (5 if top_value / step > 25 else 2 if top_value / step > 10 else 1)
    t = 0.0
    while t <= top_value:
        s.append(f'<line x1="{left - 4}" y1="{y(t):.1f}" x2="{w - 10}" y2="{y(t):.1f}" stroke="#eee"/>')
        s.append(f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{t:g}</text>')
        t += step
    slot = (w - left - 20) / len(groups)
    for i, (rtt, cfg) in enumerate(groups):
        vs = values[(rtt, cfg)]
        cx = left + slot * (i + 0.5)
        if vs:
            med = statistics.median(vs)
            s.append(f'<rect x="{cx - slot * 0.35:.1f}" y="{y(med):.1f}" width="{slot * 0.7:.1f}" height="{h - bottom - y(med):.1f}" fill="{COLOUR[cfg]}" opacity="0.45"/>')
            for j, v in enumerate(vs):
                s.append(f'<circle cx="{cx - slot * 0.3 + (j % 12) * slot * 0.6 / 11:.1f}" cy="{y(v):.1f}" r="1.6" fill="black"/>')
            s.append(f'<text x="{cx:.1f}" y="{y(med) - 4:.1f}" text-anchor="middle" font-size="10">{med:.0f}</text>')
        s.append(f'<text x="{cx:.1f}" y="{h - bottom + 14}" text-anchor="middle" font-size="10">{cfg}</text>')
        if cfg == CONFIGS[0][0] or i == 0 or groups[i - 1][0] != rtt:
            n = sum(1 for g in groups if g[0] == rtt)
            mid = left + slot * (i + n / 2)
            s.append(f'<text x="{mid:.1f}" y="{h - bottom + 32}" text-anchor="middle">RTT {rtt} ms</text>')
            goal = floor[rtt] + 25
            if column == "ack_silence_ms" and not math.isnan(goal):
                s.append(f'<line x1="{left + slot * i:.1f}" y1="{y(goal):.1f}" x2="{left + slot * (i + n):.1f}" y2="{y(goal):.1f}" stroke="green" stroke-width="2" stroke-dasharray="5,3"/>')
    legend = " · ".join(f"{cfg}: {label}" for cfg, _, label in CONFIGS if cfg in CHARTED)
    s.append(f'<text x="{w / 2}" y="{h - 12}" text-anchor="middle" font-size="11">{legend}'
             f'{" · dashed green: goal (floor + 25 ms)" if column == "ack_silence_ms" else ""}</text>')
    s.append('</svg>')
    (here / name).write_text("\n".join(s) + "\n")


chart("ack-silence.svg", "ack_silence_ms", "Longest time without any ack, every run (bar = median)")
chart("downtime.svg", "downtime_ms", "The seed's downtime (UDP probe loss), every run (bar = median)")
chart("stop-resume.svg", "vm_stopped_ms", "QEMU stop → resume, every run (bar = median)")
