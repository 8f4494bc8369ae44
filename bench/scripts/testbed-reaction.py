#!/usr/bin/env python3
"""Testbed reaction times over many handovers (docs/testbed.md "Reaction times").

  testbed-reaction.py scenario N > ho.yaml     # N X2 handovers, 10 UEs, one every 100 ms, both eNBs at site a
  mobiscud testbed run --run-dir /tmp/tb --scenario ho.yaml  # append `tapRealtimePriority: 10` (and switch...) to ho.yaml
  testbed-reaction.py stats /tmp/tb/mc-timeline.csv
  testbed-reaction.py stages /tmp/tb/steering-stages.csv   # where wire -> flows confirmed goes, stage by stage
  testbed-reaction.py decision /tmp/tb/decision-stages.csv # where wire -> decision goes, for the slowest 1 % too
"""
import csv
import sys


def scenario(n):
    lines = ["enbs: 2", "sites: 2", "enbSites: [0, 0]", "ues: 10", "pvm: netns", "pingIntervalMs: 1000",
             f"durationSeconds: {10 + n * 0.1:.0f}", "handovers:"]
    for i in range(n):
        # UEs attach at eNB 1: each UE's first handover goes to eNB 2, the next back to eNB 1, and so on.
        lines.append(f"  - {{ atSeconds: {8.0 + i * 0.1:.2f}, ue: {i % 10 + 1}, toEnb: {2 if (i // 10) % 2 == 0 else 1}, procedure: X2 }}")
    print("\n".join(lines))


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, -int(-p * len(values)) - 1))]


def stats(path):
    rows = [r for r in csv.DictReader(open(path)) if r["frame"] and r["event"].startswith(("PathSwitched", "HandoverCompleted", "HandoverPrepared"))]
    for column in ("wire_to_decision_ms", "wire_to_flows_confirmed_ms"):
        v = [float(r[column]) for r in rows if r[column]]
        print(f"{column}: n={len(v)} p50 {pct(v, .5):.2f} p99 {pct(v, .99):.2f} max {max(v):.2f} ms")


def stages(path):
    rows = [r for r in csv.DictReader(open(path)) if r["event"].startswith(("PathSwitched", "HandoverCompleted", "HandoverPrepared"))]
    total = [float(r["wire_to_flows_confirmed_ms"]) for r in rows]
    slow = sorted(rows, key=lambda r: float(r["wire_to_flows_confirmed_ms"]))[-max(1, len(rows) // 100):]
    print(f"{len(rows)} handovers; p50/p99/max per stage, and the stage's mean over the slowest 1 % (p99 tail)")
    for column in [c for c in rows[0] if c.endswith("_ms")]:
        v = [float(r[column]) for r in rows]
        tail = sum(float(r[column]) for r in slow) / len(slow)
        print(f"{column:32} p50 {pct(v, .5):7.3f} p99 {pct(v, .99):7.3f} max {max(v):8.3f}  tail mean {tail:7.3f} ms")


def decision(path):
    rows = [r for r in csv.DictReader(open(path)) if r["event"].startswith(("PathSwitched", "HandoverCompleted", "HandoverPrepared"))]
    slow = sorted(rows, key=lambda r: float(r["wire_to_decision_ms"]))[-max(1, len(rows) // 100):]
    print(f"{len(rows)} handover events; p50/p99/max per stage, and the stage's mean over the slowest 1 % ({len(slow)}) of wire -> decision")
    for column in [c for c in rows[0] if c.endswith("_ms")]:
        v = [float(r[column]) for r in rows]
        tail = sum(float(r[column]) for r in slow) / len(slow)
        print(f"{column:24} p50 {pct(v, .5):7.3f} p99 {pct(v, .99):7.3f} max {max(v):8.3f}  tail mean {tail:7.3f} ms")
    paused = [r for r in rows if float(r["runtime_paused_ms"]) > 0]
    print(f"events with the runtime paused (GC or other suspension) between wire and decision: {len(paused)} of {len(rows)}, {sum(float(r['runtime_paused_ms']) > 0 for r in slow)} of the slowest {len(slow)}")
    print(f"decided on the tap's thread: {sum(r['on_tap_thread'] == '1' for r in rows)} of {len(rows)}, {sum(r['on_tap_thread'] == '1' for r in slow)} of the slowest {len(slow)}")
    print("slowest: " + ", ".join(f"{float(r['wire_to_decision_ms']):.2f}" for r in reversed(slow)))


if __name__ == "__main__":
    {"scenario": lambda a: scenario(int(a)), "stats": stats, "stages": stages, "decision": decision}[sys.argv[1]](sys.argv[2])
