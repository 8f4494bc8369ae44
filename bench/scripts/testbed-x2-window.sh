#!/bin/bash
# The first X2 handover of LTE testbed runs, from each run directory's rtt.csv and mc-timeline.csv:
# edge PVM pings sent and lost, the longest run of losses, the time from the MC's PathSwitched (the acknowledgement
# on the tap) to the UE's first ping from its new eNB, and the pings lost from 0.2 s before that acknowledgement to
# 0.1 s after that first ping (the handover's window).
# Usage: bench/scripts/testbed-x2-window.sh RUN_DIR...   (a test's run directory is /tmp/msb-test-*)
set -euo pipefail
for rd in "$@"; do
  ps=$(awk -F, 'NR > 1 && $6 ~ /^"?PathSwitched/ { print $1; exit }' "$rd/mc-timeline.csv")
  from=$(awk -F, 'NR > 1 && $6 ~ /^"?PathSwitched/ { if (match($6, /to enb-[0-9]+/)) print substr($6, RSTART + 7, RLENGTH - 7) - 256; exit }' "$rd/mc-timeline.csv")
  awk -F, -v ps="$ps" -v enb="$from" -v rd="$rd" '
    $3 == "pvm" {
      n++
      if ($6 == "lost") { l++; c++; if (c > m) m = c } else c = 0
      if (mv == "" && $5 == enb && $1 + 0 >= ps - 1) mv = $1
      t[n] = $1; lost[n] = ($6 == "lost")
    }
    END {
      for (i = 1; i <= n; i++) if (lost[i] && t[i] >= ps - 0.2 && t[i] < mv + 0.1) w++
      printf "%s: sent %d lost %d longest %d | PathSwitched -> first ping from eNB %d %.0f ms | lost in the window %d\n", rd, n, l, m, enb, (mv - ps) * 1000, w
    }' "$rd/rtt.csv"
done
