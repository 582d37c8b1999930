#!/usr/bin/env python3
"""The destination QEMU's samples after its RESUME, and the source's before its STOP, by kind of work: TCG translating
guest code (the translator and its hash tables), running translated code ([JIT]), QEMU's helpers and device code, the
kernel. From perf.data (profile-restart.sh); writes summary.md."""
import json, re, subprocess, sys
from pathlib import Path
here = Path(__file__).resolve().parent
m = json.load(open(here / "migrate.json"))
ev = m["events"]
stop, resume = ev["sourceStopMs"] / 1000, ev["destinationResumeMs"] / 1000
src, dst = json.load(open(here / "start.json"))["pid"], m["destinationPid"]
TRANSLATE = re.compile(r"^(tcg_|tb_|gen_|disas_|translator_|qht_|liveness_|la_|reachable_code|temp_|tcg_optimize|x86_tr_|decode_|i386_tr|cpu_gen_code|page_collection|tb_gen_code|tb_htable|tb_link|do_tb_|tb_lookup|tb_flush|tb_invalidate|tcg_reg|tcg_out|tcg_la|fold_|init_ts_info|finish_folding|copy_propagate)")
# Debian's QEMU is stripped of its static functions: an unresolved address inside the span of the exported tcg_*, tb_*
# and translator_* functions (tcg/, accel/tcg/: the code generator, optimizer, block lookup and linking) is counted
# as TCG too (`nm -D /usr/bin/qemu-system-x86_64`: 0x77f440 tb_* … 0x7e0d20 translator_*, in this QEMU 7.2 build).
TCG_SPAN = (0x77f000, 0x7e1000)
def tcg(sym):
    if TRANSLATE.match(sym):
        return True
    return sym.startswith("0x") and TCG_SPAN[0] <= int(sym, 16) < TCG_SPAN[1]
def kinds(pid, start, end):
    r = subprocess.run(["perf", "report", "-i", str(here / "perf.data"), "--stdio", "--no-children", "--sort", "dso,sym", "--percent-limit", "0",
                        "--time", f"{start:.6f},{end:.6f}", "-g", "none", "--pid", str(pid), "-F", "period,dso,sym"], capture_output=True, text=True)
    out = {"TCG: translating, looking up, linking blocks": 0, "running translated code ([JIT])": 0, "QEMU helpers, devices, main loop": 0, "kernel": 0, "other": 0}
    for line in r.stdout.splitlines():
        mm = re.match(r"\s*(\d+)\s+(.+?)\s+\[(.)\]\s+(\S+)", line)
        if not mm:
            continue
        period, dso, _, sym = int(mm[1]), mm[2], mm[3], mm[4]
        ms = period / 1e6  # cpu-clock periods are nanoseconds
        if dso.startswith("[kernel"): out["kernel"] += ms
        elif dso.startswith("[JIT]"): out["running translated code ([JIT])"] += ms
        elif dso.startswith("qemu-system"): out["TCG: translating, looking up, linking blocks" if tcg(sym) else "QEMU helpers, devices, main loop"] += ms
        else: out["other"] += ms
    return out
rows = [("source QEMU, the 100 ms before its STOP (warm guest answering probes)", kinds(src, stop - 0.1, stop)),
        ("destination QEMU, the 100 ms from its RESUME (the restart)", kinds(dst, resume, resume + 0.1)),
        ("destination QEMU, 100–200 ms after its RESUME", kinds(dst, resume + 0.1, resume + 0.2))]
keys = list(rows[0][1])
lines = [f"STOP → RESUME of this migration: {ev['stopToResumeMs']} ms (QEMU's event timestamps); CPU time in ms of each QEMU process in each window (perf cpu-clock, 4 kHz, all threads):", "",
         "| window | " + " | ".join(keys) + " | total |", "|---|" + "---:|" * (len(keys) + 1)]
for name, k in rows:
    lines.append(f"| {name} | " + " | ".join(f"{k[x]:.1f}" for x in keys) + f" | {sum(k.values()):.1f} |")
(here / "summary.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
