#!/usr/bin/env bash
# The live tap's loss at a given S1AP rate, next to dumpcap's in the same run (docs/capture.md "Line rate").
# usage: tap-rate.sh RATE_PPS SECONDS MODE(decode|full)   (root; creates and removes veth t18a/t18b)
# Needs: bench.pcap made by `mobiscud replay --bench-generate` (env BENCH, default /tmp/tap18/bench30.pcap; an
# S1AP-dense one: add --bench-bundle 16), MOBISCUD (the built CLI), dumpcap. TAP_ARGS: more options for the tap
# (e.g. "--buffer-mb 256", "--threads 2"); DUMPCAP_MB: dumpcap's buffer in MiB (default 256, as replay --live's). FRAMES_PER_LOOP: frames in BENCH (sends whole loops).
# S1AP messages are counted, not frames: the sender reports how many it sent (DATA chunks ending an S1AP message),
# the tap how many it decoded.
# The tap, dumpcap and the sender each run in their own session (setsid): with the kernel's autogroup scheduling
# (sched_autogroup_enabled=1 here) CPU time is shared between sessions first, so in one session the tap would share
# one session's slice with the sender (whose softirq also runs the veth's receive path), as it would not on a mirror port.
set -euo pipefail
RATE=$1; SECS=$2; MODE=$3
M=${MOBISCUD:-mobiscud}; BENCH=${BENCH:-/tmp/tap18/bench30.pcap}; OUT=${OUT:-/tmp/tap18/run}
mkdir -p "$OUT"
FRAMES_PER_LOOP=${FRAMES_PER_LOOP:-$(tshark -r "$BENCH" -T fields -e frame.number 2>/dev/null | wc -l)}
LOOPS=$(( (RATE * SECS + FRAMES_PER_LOOP / 2) / FRAMES_PER_LOOP )); [ "$LOOPS" -ge 1 ] || LOOPS=1
COUNT=$(( LOOPS * FRAMES_PER_LOOP ))
FILTER='(sctp or udp port 9899 or udp port 2123 or udp port 2152 or (ip[6:2] & 0x1fff != 0) or (ip6 and ip6[6] == 44)) or (vlan and (sctp or udp port 9899 or udp port 2123 or udp port 2152 or (ip[6:2] & 0x1fff != 0) or (ip6 and ip6[6] == 44)))'
ip link del t18a 2>/dev/null || true
ip link add t18a type veth peer name t18b
trap 'ip link del t18a 2>/dev/null || true' EXIT
ip link set t18a mtu 9000; ip link set t18b mtu 9000; ip link set t18a up; ip link set t18b up
EXTRA=(${TAP_ARGS:-}); [ "$MODE" = decode ] && EXTRA+=(--decode-only)
setsid $M replay --live t18b --json --quiet "${EXTRA[@]}" > "$OUT/ours.jsonl" 2> "$OUT/ours.err" & OURS=$!
setsid dumpcap -i t18b -f "$FILTER" -B "${DUMPCAP_MB:-256}" -q -w - > /dev/null 2> "$OUT/dumpcap.err" & DC=$!
# The tap compiles and rehearses its path before it opens the capture: wait for it (and for dumpcap) to be ready.
for _ in $(seq 1 600); do grep -q "capturing on" "$OUT/ours.err" 2>/dev/null && break; sleep 0.2; done
sleep 2
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
setsid $M bench-send --interface t18a --rate "$RATE" --seconds $(( SECS * 3 )) --count "$COUNT" "$BENCH" > "$OUT/send.out" 2> "$OUT/send.err"
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
sleep "${DRAIN:-3}"   # time for the tap to work off its backlog before the stop (what is still unread then is lost)
RX=$(ip -s -j link show t18b | python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["stats64"]["rx"]; print(s["packets"], s["dropped"])')
TXDROP=$(ip -s -j link show t18a | python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["stats64"]["tx"]; print(s["dropped"])')
kill -TERM $OURS; kill -INT $DC; wait $OURS || true; wait $DC || true
python3 - "$OUT" "$RATE" "$MODE" "$LOOPS" "$COUNT" "$RX" "$TXDROP" "$LOAD0" "$LOAD1" <<'PY'
import json, re, sys
out, rate, mode, loops, count, rx, txdrop, load0, load1 = sys.argv[1:]
s = json.loads(open(f"{out}/ours.jsonl").read().strip().splitlines()[-1])
send = open(f"{out}/send.out").read().strip()
dc = open(f"{out}/dumpcap.err").read()
m = re.search(r"received/dropped on interface '[^']+': (\d+)/(\d+)", dc)
sent = int(re.search(r"sent (\d+) frames", send).group(1))
expected_s1ap = int(re.search(r"(\d+) S1AP messages", send).group(1))
secs = float(re.search(r"in ([\d.]+) s", send).group(1))
approx = ""
c = s["capture"]
h = s.get("handoff")
print(f"rate {rate} pps mode {mode}: {send}")
print(f"  S1AP sent {expected_s1ap} ({expected_s1ap / secs:.0f}/s), ours {s['s1apMessages']} (lost {expected_s1ap - s['s1apMessages']}); threads {s.get('threads')} handoff {h}; frames ours {s['frames']}, kernel received {c['received']} dropped {c['kernelDropped']} ifdrop {c['interfaceDropped']}; events {s['events']} decision p50/p99 {s['decisionMicros']['p50']}/{s['decisionMicros']['p99']} us")
print(f"  CPU s {s.get('cpuSeconds')}; decision p50/p99/max {s['decisionMicros']['p50']}/{s['decisionMicros']['p99']}/{s['decisionMicros']['max']} us; start: {open(f'{out}/ours.err').read().split('; ')[-2] if '; ' in open(f'{out}/ours.err').read() else ''}")
print(f"  veth rx packets/dropped {rx}, sender veth tx dropped {txdrop}; dumpcap received/dropped {m.group(1) + '/' + m.group(2) if m else dc.strip()[-200:]}; load {load0} -> {load1}")
PY
