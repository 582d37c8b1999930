#!/usr/bin/env python3
"""Summary and plots of measure.sh's runs.csv: median/min/max per (placement, optimized), and two SVG charts with
every run as a dot over the median bar (no matplotlib on the machine: the SVG is written by hand)."""
import csv
import statistics
import sys
from pathlib import Path

out = Path(sys.argv[1])
rows = list(csv.DictReader(open(out / "runs.csv")))
groups = {}
for r in rows:
    groups.setdefault((r["placement"], r["optimized"]), []).append(r)

ALL_KEYS = [("same-mag", "off"), ("same-mag", "on"), ("same-mag-ipv4", "off"), ("same-mag-ipv4", "on"),
            ("two-mags", "off"), ("two-mags", "on"), ("two-mags-ipv4", "off"), ("two-mags-ipv4", "on")]
LABEL = {("same-mag", "off"): "same MAG, via LMA", ("same-mag", "on"): "same MAG, local",
         ("same-mag-ipv4", "off"): "IPv4 same MAG, LMA", ("same-mag-ipv4", "on"): "IPv4 same MAG, local",
         ("two-mags", "off"): "two MAGs, via LMA", ("two-mags", "on"): "two MAGs, direct",
         ("two-mags-ipv4", "off"): "IPv4 two MAGs, LMA", ("two-mags-ipv4", "on"): "IPv4 two MAGs, direct"}
KEYS = [k for k in ALL_KEYS if k in groups]  # the IPv4 placements only when measured (--ipv4)

print("placement | optimized | runs | RTT avg ms median (min..max over runs) | iperf3 Mbit/s median (min..max)")
for k in KEYS:
    g = groups.get(k, [])
    if not g:
        continue
    rtt = [float(r["rtt_avg_ms"]) for r in g]
    bw = [float(r["iperf_mbit_s"]) for r in g]
    print(f"{k[0]} | {k[1]} | {len(g)} | {statistics.median(rtt):.3f} ({min(rtt):.3f}..{max(rtt):.3f}) | "
          f"{statistics.median(bw):.0f} ({min(bw):.0f}..{max(bw):.0f})")


def chart(name, column, title, unit, log):
    import math
    w, h, left, bottom, top = max(640, 130 * len(KEYS) + 90), 360, 70, 60, 40
    values = {k: [float(r[column]) for r in groups.get(k, [])] for k in KEYS}
    allv = [v for vs in values.values() for v in vs if v > 0]
    if not allv:
        return
    lo, hi = (min(allv) / 2, max(allv) * 2) if log else (0, max(allv) * 1.15)

    def y(v):
        if log:
            f = (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        else:
            f = (v - lo) / (hi - lo)
        return h - bottom - f * (h - bottom - top)

    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
         f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>',
         f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="black"/>',
         f'<line x1="{left}" y1="{h - bottom}" x2="{w - 10}" y2="{h - bottom}" stroke="black"/>']
    ticks = [10 ** e for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)] if log else \
        [lo + i * (hi - lo) / 5 for i in range(6)]
    for t in ticks:
        if lo <= t <= hi:
            s.append(f'<line x1="{left - 4}" y1="{y(t):.1f}" x2="{w - 10}" y2="{y(t):.1f}" stroke="#ddd"/>')
            s.append(f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{t:g}</text>')
    s.append(f'<text x="15" y="{h / 2}" transform="rotate(-90 15 {h / 2})" text-anchor="middle">{unit}</text>')
    slot = (w - left - 20) / len(KEYS)
    for i, k in enumerate(KEYS):
        vs = values[k]
        if not vs:
            continue
        cx = left + slot * (i + 0.5)
        med = statistics.median(vs)
        colour = "#4a7fb5" if k[1] == "off" else "#e07b39"
        s.append(f'<rect x="{cx - slot * 0.3:.1f}" y="{y(med):.1f}" width="{slot * 0.6:.1f}" height="{h - bottom - y(med):.1f}" fill="{colour}" opacity="0.6"/>')
        for j, v in enumerate(vs):
            s.append(f'<circle cx="{cx - slot * 0.15 + j * slot * 0.3 / max(1, len(vs) - 1):.1f}" cy="{y(v):.1f}" r="3" fill="black"/>')
        s.append(f'<text x="{cx:.1f}" y="{y(med) - 6:.1f}" text-anchor="middle">{med:.3g}</text>')
        s.append(f'<text x="{cx:.1f}" y="{h - bottom + 18}" text-anchor="middle">{LABEL[k]}</text>')
    s.append('</svg>')
    (out / name).write_text("\n".join(s) + "\n")


chart("rtt.svg", "rtt_avg_ms", "VM-to-VM ping RTT (avg per run; bar = median)", "ms (log scale)", log=True)
chart("throughput.svg", "iperf_mbit_s", "VM-to-VM iperf3 TCP throughput (bar = median)", "Mbit/s", log=False)
