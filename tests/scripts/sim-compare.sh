#!/usr/bin/env bash
# Runs the simulator of two builds on the same scenarios and checks that they give the same results.json (but for the
# wall time) and the same printed tables: for changes to the simulator that must not change behaviour (the host-layer
# dispatcher in the lanes, performance work). Not part of CI (it needs two builds).
#   tests/scripts/sim-compare.sh <before-cli-dir> <after-cli-dir> [scenario.yaml...]
# A cli dir is the output folder of src/MobiScud.Cli (holds the `mobiscud` executable); copy it aside before a change.
# Without scenarios: the files in tests/scripts/sim-compare/ and examples/default.yaml.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
before=${1:?before cli dir}
after=${2:?after cli dir}
shift 2
scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
  scenarios=("$here"/sim-compare/*.yaml "$root/examples/default.yaml")
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for s in "${scenarios[@]}"; do
  name=$(basename "$s" .yaml)
  for side in before after; do
    dir=$before; [ $side = after ] && dir=$after
    out="$work/$name-$side"
    mkdir -p "$out"
    "$dir/mobiscud" run "$s" --no-report --out "$out" > "$out/stdout.txt"
    # Wall time and paths differ by nature; everything else must match.
    grep -v -E '^(simulating:|results:|wall |phases|[0-9,]+ events, )' "$out/stdout.txt" > "$out/table.txt"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop("wallSeconds",None); json.dump(d,open(sys.argv[2],"w"),indent=1,sort_keys=True)' "$out/results.json" "$out/results.norm.json"
  done
  if cmp -s "$work/$name-before/results.norm.json" "$work/$name-after/results.norm.json" && cmp -s "$work/$name-before/table.txt" "$work/$name-after/table.txt"; then
    echo "same: $name ($(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["eventsProcessed"])' "$work/$name-after/results.json") events)"
  else
    echo "DIFFERENT: $name"
    diff "$work/$name-before/table.txt" "$work/$name-after/table.txt" | head -20 || true
    diff "$work/$name-before/results.norm.json" "$work/$name-after/results.norm.json" | head -40 || true
    status=1
  fi
done
exit $status
