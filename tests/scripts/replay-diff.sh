#!/usr/bin/env bash
# Byte-for-byte check that a change to the tracker/replay path keeps `replay` output identical.
#   replay-diff.sh save DIR [BIN]   writes `replay --json` and `replay --full` of every capture in data/captures
#                                   (and of the files in $EXTRA, space separated) with BIN (default: this checkout's
#                                   Release build) into DIR
#   replay-diff.sh check DIR [BIN]  does the same into a temporary directory and diffs it against DIR (exit 1 on a diff)
set -euo pipefail
mode=${1:?save|check}
dir=${2:?directory}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${3:-$(ls -d "$root"/src/MobiScud.Cli/bin/Release/*/ | head -1)mobiscud}
out=$dir
[[ $mode == check ]] && out=$(mktemp -d)
mkdir -p "$out"
for f in "$root"/data/captures/*.pcap "$root"/data/captures/*.pcapng ${EXTRA:-}; do
  n=$(basename "$f")
  "$bin" replay --json "$f" >"$out/$n.json" 2>"$out/$n.json.err" || echo "exit $?" >>"$out/$n.json.err"
  "$bin" replay --full "$f" >"$out/$n.txt" 2>"$out/$n.txt.err" || echo "exit $?" >>"$out/$n.txt.err"
done
if [[ $mode == check ]]; then
  if diff -r "$dir" "$out" >/dev/null; then
    echo "replay output identical for $(ls "$out" | grep -c '\.json$') captures"
    rm -rf "$out"
  else
    diff -r "$dir" "$out" | head -40
    echo "replay output differs (new output kept in $out)"
    exit 1
  fi
fi
